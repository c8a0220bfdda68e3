//! The same policy over standard `wasi:sockets`, through wasmtime-wasi's
//! address check, so that programs written with Rust's std::net for
//! `wasm32-wasip2` run under wasock with the same decisions.
//!
//! wasmtime-wasi asks about implicit binds too: before a `connect` or a
//! first `send` on an unbound socket it asks whether the unspecified address
//! with port 0 may be bound. wasock's rule is that implicit binds are
//! covered by the connect or send grant, so that question is answered yes
//! when the policy grants the instance any connect (or send) at all; the
//! connect or send is then checked on its own address. A socket bound this
//! way cannot listen without a `tcp-bind` grant for its real address, since
//! listening is checked on the address actually bound.
//!
//! Datagrams received are checked against `udp-recv`, except replies from
//! addresses the instance sent to (the reply rule, per instance here rather
//! than per socket as for wasock's own sockets).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::SocketAddrUse;

use crate::policy::{Effect, Operation};
use crate::runtime::admission::{Contacts, Gate};

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

/// What the check remembers between calls.
struct Guard {
    gate: Arc<Gate>,
    /// Peers sent to, for the reply rule (the instance's, here).
    contacted: Mutex<Contacts>,
    /// The policy grants some `tcp-connect` / `udp-send`: implicit binds
    /// for them are covered.
    connects: bool,
    sends: bool,
}

impl Guard {
    fn check(&self, addr: SocketAddr, use_: SocketAddrUse) -> bool {
        let implicit_bind = addr.ip().is_unspecified() && addr.port() == 0;
        match use_ {
            SocketAddrUse::TcpBind if implicit_bind && self.connects => true,
            SocketAddrUse::UdpBind if implicit_bind && self.sends => true,
            SocketAddrUse::TcpAccept => self.gate.admit_peer(Operation::TcpAccept, addr),
            SocketAddrUse::UdpReceive => self
                .contacted
                .lock()
                .is_ok_and(|c| self.gate.admit_datagram(&c, addr, true)),
            SocketAddrUse::UdpSend => {
                let allowed = self.gate.check(Operation::UdpSend, addr).is_ok();
                if allowed && let Ok(mut c) = self.contacted.lock() {
                    c.remember(addr);
                }
                allowed
            }
            _ => self.gate.check(operation_for(use_), addr).is_ok(),
        }
    }
}

/// Make `builder`'s wasi:sockets obey `gate`'s policy: TCP and UDP are
/// switched on and every address use is checked, counted and, when denied,
/// logged by the same gate as the instance's wasock sockets, with the same
/// table of resolved names.
pub(crate) fn guard_wasi_sockets(builder: &mut WasiCtxBuilder, gate: Arc<Gate>) {
    let grants = |op: Operation| {
        gate.policy
            .rules()
            .iter()
            .any(|r| r.effect == Effect::Allow && r.operation == op)
    };
    let guard = Arc::new(Guard {
        connects: grants(Operation::TcpConnect),
        sends: grants(Operation::UdpSend),
        contacted: Mutex::new(gate.contacts()),
        gate,
    });
    // Names are resolved by wasock's own lookup (see `lookup`); the
    // wasmtime-wasi one stays switched off should it ever be linked.
    builder
        .allow_tcp(true)
        .allow_udp(true)
        .allow_ip_name_lookup(false)
        .socket_addr_check(move |addr, use_| {
            let allowed = guard.check(addr, use_);
            Box::pin(async move { allowed })
        });
}
