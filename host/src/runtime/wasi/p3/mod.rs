//! Standard `wasi:sockets@0.3` for WASI 0.3 guests, served by wasock's
//! socket layer.
//!
//! WASI 0.3 guests reach the network through the same sockets as every
//! other guest: the instance's provider (native or simulated), the same
//! policy decisions and peer filters, the same limits and counters. What
//! this module adds is WASI 0.3's shape: `async` functions that wait
//! without holding the store (the guest's other tasks run meanwhile), a
//! listener's stream of sockets, and a connection's byte streams, which
//! move bytes between the socket and the guest's buffers only as the guest
//! reads and writes.

mod error;
mod lookup;
mod tcp;
mod tcp_streams;
mod udp;

use wasmtime::component::{HasData, Linker};

pub use error::P3Error;
pub use tcp::TcpSocket;
pub use udp::UdpSocket;

use crate::runtime::bindings::wasi_sockets_0_3::wasi::sockets::types::ErrorCode as Code;
use crate::runtime::bindings::wasi_sockets_0_3::wasi::sockets::{ip_name_lookup, types};
use crate::runtime::budget::Share;
use crate::runtime::ctx::{WasockCtx, WasockCtxView, WasockView};
use crate::runtime::denials::Limit;
use error::P3Result;

/// A place among the instance's WASI 0.3 calls that wait, held until the
/// call ends (see `Limits::max_pending_calls`); over the limit, the call
/// fails at once, saying so.
pub(crate) fn pending_call(ctx: &WasockCtx) -> P3Result<Share> {
    ctx.pending_calls.reserve(1).ok_or_else(|| {
        ctx.gate.warn_at_limit(
            Limit::PendingCalls,
            format_args!(
                "refused a WASI 0.3 socket call: the instance has {} calls waiting, its limit; {}",
                ctx.limits.max_pending_calls,
                ctx.gate.policy.set_by().raise("max-pending-calls")
            ),
        );
        Code::Other(Some(format!(
            "pending-call-limit: {} WASI 0.3 socket calls are already waiting, the instance's limit (max-pending-calls); wait for some to finish",
            ctx.limits.max_pending_calls
        )))
        .into()
    })
}

/// Marks where wasock's `wasi:sockets@0.3` find their data.
pub(crate) struct WasiSockets;

impl HasData for WasiSockets {
    type Data<'a> = WasockCtxView<'a>;
}

/// Address conversions for the 0.3 types (the same shapes as 0.2's).
mod addrs {
    use crate::runtime::bindings::wasi_sockets_0_3::wasi::sockets::types::{
        IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    };

    crate::runtime::wasi::addr::address_conversions!();
}

/// Add `wasi:sockets@0.3` (`types`, `ip-name-lookup`) to `linker`, served
/// by wasock's socket layer. `wasi:clocks/types@0.3` must be linked too
/// (it is, by [`crate::runtime::add_wasi_0_3_to_linker`]).
pub(crate) fn add_to_linker<T: WasockView + Send + 'static>(
    l: &mut Linker<T>,
) -> wasmtime::Result<()> {
    types::add_to_linker::<T, WasiSockets>(l, T::wasock)?;
    ip_name_lookup::add_to_linker::<T, WasiSockets>(l, T::wasock)?;
    Ok(())
}
