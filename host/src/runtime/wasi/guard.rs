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

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::SocketAddrUse;

use crate::policy::{Effect, Operation, Policy};
use crate::runtime::ctx::InstanceId;
use crate::runtime::names::NameTable;
use crate::runtime::stats::InstanceStats;

/// Most peers remembered for the reply rule.
const MAX_CONTACTED: usize = 4096;

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
    policy: Arc<Policy>,
    stats: Arc<InstanceStats>,
    instance: InstanceId,
    names: Arc<Mutex<NameTable>>,
    contacted: Mutex<HashSet<(IpAddr, u16)>>,
    /// The policy grants some `tcp-connect` / `udp-send`: implicit binds
    /// for them are covered.
    connects: bool,
    sends: bool,
}

impl Guard {
    fn check(&self, addr: SocketAddr, use_: SocketAddrUse) -> bool {
        let op = operation_for(use_);
        let implicit_bind = addr.ip().is_unspecified() && addr.port() == 0;
        match use_ {
            SocketAddrUse::TcpBind if implicit_bind && self.connects => return true,
            SocketAddrUse::UdpBind if implicit_bind && self.sends => return true,
            SocketAddrUse::UdpReceive
                if self
                    .contacted
                    .lock()
                    .is_ok_and(|c| c.contains(&(addr.ip(), addr.port()))) =>
            {
                return true;
            }
            _ => {}
        }
        let names = self
            .names
            .lock()
            .map(|t| t.names_for(addr.ip()).to_vec())
            .unwrap_or_default();
        let decision = self.policy.check_address(op, addr, &names);
        let allowed = decision.is_allowed();
        self.stats.record(op, allowed);
        if allowed {
            if matches!(use_, SocketAddrUse::UdpSend)
                && let Ok(mut c) = self.contacted.lock()
                && c.len() < MAX_CONTACTED
            {
                c.insert((addr.ip(), addr.port()));
            }
        } else {
            match use_ {
                SocketAddrUse::TcpAccept => self.stats.dropped_connection(),
                SocketAddrUse::UdpReceive => self.stats.dropped_datagram(),
                _ => {}
            }
            tracing::warn!(target: "wasock::policy", instance = %self.instance, "{decision} (wasi:sockets)");
        }
        allowed
    }
}

/// Make `builder`'s wasi:sockets obey `policy`: TCP and UDP are switched on
/// and every address use is checked, counted in `stats` and, when denied,
/// logged like a wasock denial. `names` is the instance's table of resolved
/// names, shared with wasock's own sockets.
pub fn guard_wasi_sockets(
    builder: &mut WasiCtxBuilder,
    policy: Arc<Policy>,
    stats: Arc<InstanceStats>,
    names: Arc<Mutex<NameTable>>,
    instance: InstanceId,
) {
    let grants = |op: Operation| {
        policy
            .rules()
            .iter()
            .any(|r| r.effect == Effect::Allow && r.operation == op)
    };
    let guard = Arc::new(Guard {
        connects: grants(Operation::TcpConnect),
        sends: grants(Operation::UdpSend),
        policy: policy.clone(),
        stats,
        instance,
        names,
        contacted: Mutex::new(HashSet::new()),
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
