//! The per-instance wasock context, its builder, and the view trait that
//! gives host functions access to it, in the shape of wasmtime-wasi's
//! `WasiCtx` / `WasiView`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime::component::{HasData, Linker, ResourceTable};

use super::bindings::wasock::sockets as wit;
use super::limits::Limits;
use super::names::NameTable;
use super::stats::{InstanceStats, PolicyCounters};
use crate::net::native::NativeProvider;
use crate::net::{ErrorCode, Provider};
use crate::policy::{Decision, Operation, Policy};

/// Where a guest's names come from before the provider's resolver is asked:
/// answers pinned by the embedder (`--resolve NAME=IP`), like curl's
/// `--resolve`.
pub type PinnedNames = HashMap<String, Vec<IpAddr>>;

static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// An instance's identity in logs: `instance=N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstanceId(pub u64);

impl std::fmt::Display for InstanceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Everything wasock keeps for one guest instance: its policy, provider,
/// limits, counters and name table. Sockets themselves live in the store's
/// [`ResourceTable`].
pub struct WasockCtx {
    pub(crate) id: InstanceId,
    pub(crate) policy: Arc<Policy>,
    pub(crate) provider: Arc<dyn Provider>,
    pub(crate) limits: Limits,
    pub(crate) stats: Arc<InstanceStats>,
    pub(crate) pinned: Arc<PinnedNames>,
    /// Names this instance resolved, shared with its wasi:sockets guard.
    pub(crate) names: Arc<Mutex<NameTable>>,
    /// Peers remembered for the reply rule, over all the instance's sockets
    /// (see `GuestSocket::remember_contact`).
    pub(crate) contacts: AtomicUsize,
    /// Resolver lookups this instance has under way (see `start_lookup`).
    pub(crate) lookups: Arc<tokio::sync::Semaphore>,
    pub(crate) open_sockets: usize,
    /// Socket buffer space asked for, in all (see `Limits::max_buffer_bytes`).
    pub(crate) buffer_bytes: u64,
}

impl WasockCtx {
    /// Start building a context. Without further calls it denies every
    /// operation and uses the native provider.
    pub fn builder() -> WasockCtxBuilder {
        WasockCtxBuilder::default()
    }

    /// This instance's id, as it appears in log lines (`instance=N`).
    pub fn id(&self) -> InstanceId {
        self.id
    }

    /// The instance's policy counters so far.
    pub fn counters(&self) -> PolicyCounters {
        self.stats.snapshot()
    }

    /// A handle on the live counters, usable after the instance is gone.
    pub fn stats(&self) -> Arc<InstanceStats> {
        self.stats.clone()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Hold `builder`'s standard `wasi:sockets` to this context's policy:
    /// the same decisions, counters and name table as wasock's own sockets
    /// (see [`crate::runtime::guard_wasi_sockets`]).
    pub fn guard_wasi(&self, builder: &mut wasmtime_wasi::WasiCtxBuilder) {
        super::wasi::guard_wasi_sockets(
            builder,
            self.policy.clone(),
            self.stats.clone(),
            self.names.clone(),
            self.id,
        );
    }

    /// How many sockets the guest holds now.
    pub fn open_sockets(&self) -> usize {
        self.open_sockets
    }

    fn names_for(&self, ip: IpAddr) -> Vec<String> {
        self.names
            .lock()
            .map(|t| t.names_for(ip).to_vec())
            .unwrap_or_default()
    }

    /// Remember that `name` resolved to `ips` in this instance.
    pub(crate) fn remember(&self, name: &str, ips: &[IpAddr]) {
        if let Ok(mut t) = self.names.lock() {
            t.remember(name, ips);
        }
    }

    /// Check `op` on `addr`: count it, log a denial, and turn a denial into
    /// `access-denied`.
    pub(crate) fn check(&self, op: Operation, addr: SocketAddr) -> Result<(), ErrorCode> {
        let decision = self
            .policy
            .check_address(op, addr, &self.names_for(addr.ip()));
        self.record(&decision)
    }

    /// Whether the policy admits `peer` for a peer filter, without counting
    /// or logging (for looking ahead, as `poll` does).
    pub(crate) fn peer_allowed(&self, op: Operation, peer: SocketAddr) -> bool {
        self.policy
            .check_address(op, peer, &self.names_for(peer.ip()))
            .is_allowed()
    }

    /// Check a peer filter (`tcp-accept`, `udp-recv`): like [`Self::check`]
    /// but a denial is reported as a dropped peer.
    pub(crate) fn admit_peer(&self, op: Operation, peer: SocketAddr) -> bool {
        let decision = self
            .policy
            .check_address(op, peer, &self.names_for(peer.ip()));
        if decision.is_allowed() {
            self.stats.record(op, true);
            return true;
        }
        self.stats.record(op, false);
        match op {
            Operation::TcpAccept => self.stats.dropped_connection(),
            _ => self.stats.dropped_datagram(),
        }
        tracing::warn!(
            target: "wasock::policy",
            instance = %self.id,
            "{decision}; the peer was dropped before the guest saw it"
        );
        false
    }

    /// Count a decision and log it if it is a denial.
    pub(crate) fn record(&self, decision: &Decision) -> Result<(), ErrorCode> {
        let allowed = decision.is_allowed();
        self.stats.record(decision.operation, allowed);
        if allowed {
            tracing::debug!(target: "wasock::policy", instance = %self.id, "{decision}");
            Ok(())
        } else {
            tracing::warn!(target: "wasock::policy", instance = %self.id, "{decision}");
            Err(ErrorCode::AccessDenied)
        }
    }
}

/// Builds a [`WasockCtx`].
///
/// ```
/// use std::sync::Arc;
/// use wasock_host::policy::Policy;
/// use wasock_host::runtime::{Limits, WasockCtx};
///
/// let policy = Policy::builder().allow("tcp-connect=127.0.0.1:*")?.build();
/// let ctx = WasockCtx::builder()
///     .policy(Arc::new(policy))
///     .limits(Limits { max_sockets: 16, ..Limits::default() })
///     .build();
/// assert_eq!(ctx.limits().max_sockets, 16);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct WasockCtxBuilder {
    policy: Option<Arc<Policy>>,
    provider: Option<Arc<dyn Provider>>,
    limits: Limits,
    pinned: Option<Arc<PinnedNames>>,
}

impl WasockCtxBuilder {
    /// The policy every operation is checked against (default: deny all).
    pub fn policy(mut self, policy: Arc<Policy>) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The provider sockets come from (default: [`NativeProvider`]).
    pub fn provider(mut self, provider: Arc<dyn Provider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// The instance's limits (default: [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Answers for names that bypass the provider's resolver.
    pub fn pinned_names(mut self, pinned: Arc<PinnedNames>) -> Self {
        self.pinned = Some(pinned);
        self
    }

    /// The context, with a fresh instance id.
    pub fn build(self) -> WasockCtx {
        WasockCtx {
            id: InstanceId(NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed)),
            policy: self.policy.unwrap_or_default(),
            provider: self.provider.unwrap_or_else(|| Arc::new(NativeProvider)),
            limits: self.limits,
            stats: Arc::default(),
            pinned: self.pinned.unwrap_or_default(),
            names: Arc::default(),
            contacts: Default::default(),
            lookups: Arc::new(tokio::sync::Semaphore::new(
                super::lookup::MAX_LOOKUPS_IN_FLIGHT,
            )),
            open_sockets: 0,
            buffer_bytes: 0,
        }
    }
}

/// What host functions work on: the instance's context and the store's
/// resource table.
pub struct WasockCtxView<'a> {
    /// The wasock context.
    pub ctx: &'a mut WasockCtx,
    /// The table that holds the guest's sockets (shared with WASI).
    pub table: &'a mut ResourceTable,
}

/// Implemented by a store's data type to give wasock's host functions their
/// context, like wasmtime-wasi's `WasiView`.
///
/// ```
/// use wasmtime::component::ResourceTable;
/// use wasock_host::runtime::{WasockCtx, WasockCtxView, WasockView};
///
/// struct MyState {
///     wasock: WasockCtx,
///     table: ResourceTable,
/// }
///
/// impl WasockView for MyState {
///     fn wasock(&mut self) -> WasockCtxView<'_> {
///         WasockCtxView { ctx: &mut self.wasock, table: &mut self.table }
///     }
/// }
/// ```
pub trait WasockView: Send {
    /// The context and table of this store.
    fn wasock(&mut self) -> WasockCtxView<'_>;
}

struct WasockSockets;

impl HasData for WasockSockets {
    type Data<'a> = WasockCtxView<'a>;
}

/// Add wasock's interfaces (`types`, `socket`, `poll`, `name-lookup`) to a
/// linker. WASI is added separately, with
/// `wasmtime_wasi::p2::add_to_linker_async`.
///
/// `send` is linked by hand over its generated binding, so that it reads
/// the guest's bytes where they are instead of copying them; doing so
/// turns the linker's [`Linker::allow_shadowing`] off again afterwards.
pub fn add_to_linker<T: WasockView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wit::types::add_to_linker::<T, WasockSockets>(linker, T::wasock)?;
    wit::socket::add_to_linker::<T, WasockSockets>(linker, T::wasock)?;
    super::socket::direct::add_to_linker(linker)?;
    wit::poll::add_to_linker::<T, WasockSockets>(linker, T::wasock)?;
    wit::name_lookup::add_to_linker::<T, WasockSockets>(linker, T::wasock)?;
    Ok(())
}
