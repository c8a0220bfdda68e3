//! The same policy over standard `wasi:sockets`, through wasmtime-wasi's
//! address check, so that programs written with Rust's std::net for
//! `wasm32-wasip2` run under wasock with the same decisions.

use std::sync::Arc;

use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::SocketAddrUse;

use super::ctx::InstanceId;
use super::stats::InstanceStats;
use crate::policy::{Operation, Policy};

/// The policy operation that guards a wasi:sockets address use.
pub fn operation_for(use_: SocketAddrUse) -> Operation {
    match use_ {
        SocketAddrUse::TcpBind | SocketAddrUse::TcpListen => Operation::TcpBind,
        SocketAddrUse::TcpAccept => Operation::TcpAccept,
        SocketAddrUse::TcpConnect => Operation::TcpConnect,
        SocketAddrUse::UdpBind => Operation::UdpBind,
        SocketAddrUse::UdpSend => Operation::UdpSend,
        SocketAddrUse::UdpReceive => Operation::UdpRecv,
    }
}

/// Make `builder`'s wasi:sockets obey `policy`: TCP and UDP are switched on
/// and every address use is checked, counted in `stats` and, when denied,
/// logged like a wasock denial.
pub fn guard_wasi_sockets(
    builder: &mut WasiCtxBuilder,
    policy: Arc<Policy>,
    stats: Arc<InstanceStats>,
    instance: InstanceId,
) {
    let resolve = policy
        .rules()
        .iter()
        .any(|r| r.operation == Operation::Resolve);
    builder
        .allow_tcp(true)
        .allow_udp(true)
        .allow_ip_name_lookup(resolve)
        .socket_addr_check(move |addr, use_| {
            let op = operation_for(use_);
            let decision = policy.check_address(op, addr, &[]);
            let allowed = decision.is_allowed();
            stats.record(op, allowed);
            if !allowed {
                tracing::warn!(target: "wasock::policy", instance = %instance, "{decision} (wasi:sockets)");
            }
            Box::pin(async move { allowed })
        });
}
