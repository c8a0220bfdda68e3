//! Writing a socket provider in Rust: a component that serves the wasock
//! interfaces to the app it is composed with (`wasock run --provider`,
//! `wasock compose`), as Windows Sockets 2's layered service providers sat
//! between applications and the transport.
//!
//! Implement [`Socket`] for a type and export it with
//! [`export_provider!`](crate::export_provider). Two kinds of provider fit
//! the one trait:
//!
//! - **A layer** wraps the socket of the layer below (the host, or another
//!   provider, reached through the ordinary wasock imports): it returns that
//!   socket from [`Socket::lower`], builds its own from one with
//!   [`Socket::wrap`], and overrides only the calls it changes (saying with
//!   [`Socket::READY_AS_BELOW`] whether its readiness is the layer
//!   below's). Every other
//!   call passes through unchanged, because that is what each method's
//!   default does. Its component imports the wasock interfaces (world
//!   `wasock:sockets/layer`).
//! - **A provider of its own** (a network kept in memory, say) has no layer
//!   below: `lower` returns `None`, `READY_AS_BELOW` is `false`, and it
//!   overrides every method. A method
//!   it leaves alone fails with [`ErrorCode::NotSupported`] (or, for the
//!   three that cannot fail, traps with a message naming the method). Its
//!   component imports nothing of wasock's (world `wasock:sockets/provider`)
//!   as long as it overrides every method, `take_connection` included:
//!   a default it keeps is a call to the layer below, which imports it.
//!
//! A layer that counts the bytes each connection sends:
//!
//! ```no_run
//! use std::cell::Cell;
//! use wasock::provider::{ErrorCode, Lower, SendFlags, Socket};
//!
//! struct Counted {
//!     lower: Lower,
//!     sent: Cell<u64>,
//! }
//!
//! impl Socket for Counted {
//!     const READY_AS_BELOW: bool = true;
//!     fn lower(&self) -> Option<&Lower> {
//!         Some(&self.lower)
//!     }
//!     fn wrap(lower: Lower) -> Result<Self, ErrorCode> {
//!         Ok(Counted { lower, sent: Cell::new(0) })
//!     }
//!     fn send(&self, data: Vec<u8>, flags: SendFlags) -> Result<u64, ErrorCode> {
//!         let n = self.lower.send(&data, flags)?;
//!         self.sent.set(self.sent.get() + n);
//!         Ok(n)
//!     }
//! }
//!
//! wasock::export_provider!(Counted);
//! ```
//!
//! Each method is the WIT function it names (`socket.bind` is `bind` in
//! `wit/socket.wit`), whose documentation says what it does and which
//! error codes mean what; a layer keeps those promises for the app above
//! it. A socket's end is its `Drop` (the app dropped it, or the instance
//! ended): per-connection totals are written there (`provider-tap` logs
//! its counts so).
//!
//! Build a provider as a library (`crate-type = ["cdylib"]`) for
//! `wasm32-wasip2`; the result is a component that exports
//! `wasock:sockets/socket`, `poll`, `name-lookup` and `handoff` (how
//! `wasock serve` hands a connection down the layers).

mod adapter;
mod lookup;

#[doc(hidden)]
pub use adapter::{Adapter, LookupRep, PollSetRep, SocketRep};
pub use lookup::Lookup;

pub use crate::raw::wasock::sockets::types::{
    AddressFamily, Datagram, Duration, ErrorCode, IpAddress, OptionName, Readiness, RecvFlags,
    SendFlags, ShutdownHow, SocketAddress, SocketOption, SocketType,
};

use crate::raw::wasock::sockets::{name_lookup, poll};

/// The socket of the layer below: the wasock socket this component imports
/// (from the host, or from the next provider down).
pub type Lower = crate::raw::wasock::sockets::socket::Socket;

/// The layer below's `poll`, for a layer that overrides [`Socket::poll`]
/// (to add readiness of its own) and still waits on the sockets it wraps:
/// `poll_below(&[PollEntry { socket: &lower, interest }], timeout)`. Its
/// wait may end early and empty (see [`Socket::poll`]).
pub use crate::raw::wasock::sockets::poll::{PollEntry, poll as poll_below};

/// The generated export bindings the [`export_provider!`](crate::export_provider)
/// macro uses.
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "wasock:sockets/layer",
        with: {
            "wasock:sockets/types@0.1.0": crate::raw::wasock::sockets::types,
            "wasock:sockets/socket@0.1.0": crate::raw::wasock::sockets::socket,
            "wasock:sockets/poll@0.1.0": crate::raw::wasock::sockets::poll,
            "wasock:sockets/name-lookup@0.1.0": crate::raw::wasock::sockets::name_lookup,
        },
        pub_export_macro: true,
        export_macro_name: "__export_provider",
        default_bindings_module: "wasock::provider::bindings",
    });
}

/// The connection `wasock serve` accepted for this instance, taken from the
/// layer below (`handoff.take-connection` of the import): what a layer's
/// [`Socket::take_connection`] wraps.
pub fn take_lower_connection() -> Result<(Lower, SocketAddress), ErrorCode> {
    bindings::wasock::sockets::handoff::take_connection()
}

/// The layer below, or `not-supported` for a provider that has none.
pub(super) fn below<S: Socket>(s: &S) -> Result<&Lower, ErrorCode> {
    s.lower().ok_or(ErrorCode::NotSupported)
}

/// The layer below for the calls that cannot fail: a provider without one
/// must implement them, and a trap says which.
fn below_or_trap<'a, S: Socket>(s: &'a S, method: &str) -> &'a Lower {
    s.lower().unwrap_or_else(|| {
        panic!("the provider has no layer below and does not implement `{method}`")
    })
}

/// A socket as a provider serves it: one method per function of the
/// `wasock:sockets/socket` resource (the WIT documents each), plus the
/// `poll` and `name-lookup` functions, which take no socket.
///
/// Every method has a default that passes the call to the layer below
/// ([`Socket::lower`]), so a layer implements only what it changes.
pub trait Socket: Sized + 'static {
    /// The socket of the layer below that this one wraps. `None` (the
    /// default) for a provider with no layer below.
    fn lower(&self) -> Option<&Lower> {
        None
    }

    /// Whether every socket of this provider wraps one of the layer below
    /// and is ready exactly when that one is, for the same interest: what
    /// the default [`poll`](Socket::poll) assumes. Then the app's poll sets
    /// wait through poll sets of the layer below, which take only the
    /// sockets whose interest changed and give back only the ready ones: a
    /// wait costs what changed, however many sockets wait. A provider that
    /// overrides `poll` (a readiness of its own: data it holds, or no layer
    /// below) says `false`; its poll sets then ask its `poll` about every
    /// armed socket at each wait. There is no default: a layer that
    /// overrides `poll` and inherited `true` would sleep through data it
    /// holds.
    const READY_AS_BELOW: bool;

    /// This layer's socket for one the layer below opened or accepted.
    /// The default refuses with `not-supported`: a layer implements it.
    fn wrap(lower: Lower) -> Result<Self, ErrorCode> {
        drop(lower);
        Err(ErrorCode::NotSupported)
    }

    /// `socket.open`: a new socket (by default, the layer below's, wrapped).
    fn open(family: AddressFamily, socket_type: SocketType) -> Result<Self, ErrorCode> {
        Self::wrap(Lower::open(family, socket_type)?)
    }

    /// `socket.address-family`.
    fn address_family(&self) -> AddressFamily {
        below_or_trap(self, "address_family").address_family()
    }

    /// `socket.socket-type`.
    fn socket_type(&self) -> SocketType {
        below_or_trap(self, "socket_type").socket_type()
    }

    /// `socket.bind`.
    fn bind(&self, local: SocketAddress) -> Result<(), ErrorCode> {
        below(self)?.bind(local)
    }

    /// `socket.listen`.
    fn listen(&self, backlog: u32) -> Result<(), ErrorCode> {
        below(self)?.listen(backlog)
    }

    /// `socket.accept`: by default, the layer below's connection, wrapped.
    fn accept(&self) -> Result<(Self, SocketAddress), ErrorCode> {
        let (lower, peer) = below(self)?.accept()?;
        Ok((Self::wrap(lower)?, peer))
    }

    /// `socket.connect`.
    fn connect(&self, remote: SocketAddress) -> Result<(), ErrorCode> {
        below(self)?.connect(remote)
    }

    /// `socket.disconnect`.
    fn disconnect(&self) -> Result<(), ErrorCode> {
        below(self)?.disconnect()
    }

    /// `socket.send`.
    fn send(&self, data: Vec<u8>, flags: SendFlags) -> Result<u64, ErrorCode> {
        below(self)?.send(&data, flags)
    }

    /// `socket.recv`.
    fn recv(&self, max_len: u64, flags: RecvFlags) -> Result<Vec<u8>, ErrorCode> {
        below(self)?.recv(max_len, flags)
    }

    /// `socket.send-to`.
    fn send_to(
        &self,
        data: Vec<u8>,
        remote: SocketAddress,
        flags: SendFlags,
    ) -> Result<u64, ErrorCode> {
        below(self)?.send_to(&data, remote, flags)
    }

    /// `socket.recv-from`.
    fn recv_from(&self, max_len: u64, flags: RecvFlags) -> Result<Datagram, ErrorCode> {
        below(self)?.recv_from(max_len, flags)
    }

    /// `socket.shutdown`.
    fn shutdown(&self, how: ShutdownHow) -> Result<(), ErrorCode> {
        below(self)?.shutdown(how)
    }

    /// `socket.local-address`.
    fn local_address(&self) -> Result<SocketAddress, ErrorCode> {
        below(self)?.local_address()
    }

    /// `socket.remote-address`.
    fn remote_address(&self) -> Result<SocketAddress, ErrorCode> {
        below(self)?.remote_address()
    }

    /// `socket.set-nonblocking`.
    fn set_nonblocking(&self, enabled: bool) -> Result<(), ErrorCode> {
        below(self)?.set_nonblocking(enabled)
    }

    /// `socket.is-nonblocking`.
    fn is_nonblocking(&self) -> bool {
        below_or_trap(self, "is_nonblocking").is_nonblocking()
    }

    /// `socket.bytes-available`.
    fn bytes_available(&self) -> Result<u64, ErrorCode> {
        below(self)?.bytes_available()
    }

    /// `socket.set-option`.
    fn set_option(&self, value: SocketOption) -> Result<(), ErrorCode> {
        below(self)?.set_option(value)
    }

    /// `socket.get-option`.
    fn get_option(&self, name: OptionName) -> Result<SocketOption, ErrorCode> {
        below(self)?.get_option(name)
    }

    /// `socket.join-multicast-group`.
    fn join_multicast_group(&self, group: IpAddress, interface: u32) -> Result<(), ErrorCode> {
        below(self)?.join_multicast_group(group, interface)
    }

    /// `socket.leave-multicast-group`.
    fn leave_multicast_group(&self, group: IpAddress, interface: u32) -> Result<(), ErrorCode> {
        below(self)?.leave_multicast_group(group, interface)
    }

    /// `socket.take-error`.
    fn take_error(&self) -> Result<Option<ErrorCode>, ErrorCode> {
        below(self)?.take_error()
    }

    /// `poll.poll` over sockets of this provider: by default, one poll of
    /// the layer below over the sockets they wrap. Without
    /// [`READY_AS_BELOW`](Socket::READY_AS_BELOW) it also serves the
    /// exported `poll-set`: each wait on a set polls the sockets armed in
    /// it through this function.
    ///
    /// The layer below's wait ([`poll_below`]) may return early with
    /// nothing ready: the host ends a provider's wait when it needs the
    /// provider's thread for a call (it serves standard guests' sockets
    /// from the provider's instance so), and once when `wasock serve`
    /// begins to drain (`wit/drain.wit`: the handler above learns of it
    /// from that empty answer). An override passes such an answer up at
    /// once, as the default does, rather than polling again until its
    /// timeout, which would hold the host's calls back for as long, and
    /// keep the drain from the handler.
    fn poll(
        entries: &[(&Self, Readiness)],
        timeout: Option<Duration>,
    ) -> Result<Vec<Readiness>, ErrorCode> {
        let lower = entries
            .iter()
            .map(|(s, interest)| {
                Ok(poll::PollEntry {
                    socket: below(*s)?,
                    interest: *interest,
                })
            })
            .collect::<Result<Vec<_>, ErrorCode>>()?;
        poll::poll(&lower, timeout)
    }

    /// `name-lookup.resolve-addresses`: by default, the layer below's.
    fn resolve_addresses(
        name: &str,
        family: Option<AddressFamily>,
    ) -> Result<Vec<IpAddress>, ErrorCode> {
        name_lookup::resolve_addresses(name, family)
    }

    /// `handoff.take-connection`: the connection `wasock serve` accepted
    /// for this instance, as this provider's socket, with its peer. By
    /// default the layer below's ([`take_lower_connection`]), wrapped. A
    /// provider with no layer below cannot adopt a host connection: it
    /// overrides this to return `not-supported` (the default would import
    /// the layer below's `handoff`).
    fn take_connection() -> Result<(Self, SocketAddress), ErrorCode> {
        let (lower, peer) = take_lower_connection()?;
        Ok((Self::wrap(lower)?, peer))
    }

    /// `name-lookup.lookup.start`: by default, a lookup of the layer
    /// below, answered as it answers. A provider that overrides
    /// [`resolve_addresses`](Socket::resolve_addresses) and has no
    /// non-blocking resolver of its own returns
    /// `Ok(Lookup::ready(Self::resolve_addresses(name, family)))`, or the
    /// `invalid-argument` of a malformed name as the start's own error.
    /// The adapter keeps at most 64 lookups alive, as the host does.
    fn start_lookup(name: &str, family: Option<AddressFamily>) -> Result<Lookup, ErrorCode> {
        Ok(Lookup::below(name_lookup::Lookup::start(name, family)?))
    }
}

/// Export the wasock interfaces of this component from a type that
/// implements [`provider::Socket`](crate::provider::Socket). Call it once,
/// at the top level of the provider's library crate.
///
/// ```no_run
/// use wasock::provider::{Lower, Socket, ErrorCode};
///
/// /// A layer that changes nothing.
/// struct Pass(Lower);
///
/// impl Socket for Pass {
///     const READY_AS_BELOW: bool = true;
///     fn lower(&self) -> Option<&Lower> {
///         Some(&self.0)
///     }
///     fn wrap(lower: Lower) -> Result<Self, ErrorCode> {
///         Ok(Pass(lower))
///     }
/// }
///
/// wasock::export_provider!(Pass);
/// ```
#[macro_export]
macro_rules! export_provider {
    ($socket:ty) => {
        #[doc(hidden)]
        type __WasockProvider = $crate::provider::Adapter<$socket>;
        $crate::provider::bindings::__export_provider!(
            __WasockProvider with_types_in $crate::provider::bindings
        );
    };
}
