//! The per-instance wasock context, its builder, and the view trait that
//! gives host functions access to it, in the shape of wasmtime-wasi's
//! `WasiCtx` / `WasiView`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::{HasData, Linker, ResourceTable};

use super::admission::{Gate, Subject};
use super::bindings::wasock::sockets as wit;
use super::budget::{Budget, Share};
use super::clock::{Clock, RealClock};
use super::denials::Limit;
use super::drain::{DrainSignal, DrainWatch};
use super::limits::Limits;
use super::pinned::PinnedNames;
use super::stats::{InstanceStats, PolicyCounters};
use crate::net::native::NativeProvider;
use crate::net::{ErrorCode, Provider};
use crate::policy::{Decision, Operation, Policy};

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
/// clock, limits, counters and name table. Sockets themselves live in the
/// store's [`ResourceTable`].
pub struct WasockCtx {
    pub(crate) id: InstanceId,
    /// The policy with its counters and name table, shared with the
    /// instance's wasi:sockets guard.
    pub(crate) gate: Arc<Gate>,
    pub(crate) provider: Arc<dyn Provider>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: Limits,
    pub(crate) pinned: Arc<PinnedNames>,
    /// Resolver lookups this instance has under way (see `start_lookup`).
    pub(crate) lookups: Arc<tokio::sync::Semaphore>,
    /// Open sockets: each socket holds a share of one.
    pub(crate) sockets: Arc<Budget>,
    /// Socket buffer space asked for (see `Limits::max_buffer_bytes`).
    pub(crate) buffers: Arc<Budget>,
    /// `lookup` resources alive (see `PendingLookup`).
    pub(crate) lookups_alive: Arc<Budget>,
    /// `poll-set` resources alive (see `PollSet`).
    pub(crate) poll_sets: Arc<Budget>,
    /// Sockets the guest has closed so far: a poll set that holds entries
    /// of closed sockets forgets them when this has moved.
    pub(crate) sockets_closed: u64,
    /// WASI 0.3 calls waiting (see `Limits::max_pending_calls`).
    #[cfg(feature = "wasi-0-3")]
    pub(crate) pending_calls: Arc<Budget>,
    /// The connection `wasock serve` accepted for this instance, until the
    /// lowest provider layer takes it (`wasock:sockets/handoff`).
    pub(crate) handoff: Option<super::handoff::Handoff>,
    /// Set for a provider component's instance that serves the host (see
    /// `runtime::bridge`).
    pub(crate) lent: Option<super::bridge::Lent>,
    /// Blocking calls wait in place first (see
    /// [`WasockCtxBuilder::wait_in_place`]).
    pub(crate) waits_in_place: bool,
    /// The serving host's shutdown (see [`WasockCtxBuilder::drain`]).
    pub(crate) drain: Option<DrainWatch>,
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
        self.gate.stats.snapshot()
    }

    /// A handle on the live counters, usable after the instance is gone.
    pub fn stats(&self) -> Arc<InstanceStats> {
        self.gate.stats.clone()
    }

    /// The clock this instance's timeouts and WASI clocks read.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many sockets the guest holds now.
    pub fn open_sockets(&self) -> usize {
        self.sockets.used() as usize
    }

    /// A place for one more socket, or `new-socket-limit` (counted, and
    /// logged at most once a second: [`refuse_socket`](Self::refuse_socket)).
    pub(crate) fn socket_slot(&self) -> Result<Share, ErrorCode> {
        self.try_socket_slot().ok_or_else(|| self.refuse_socket())
    }

    /// Count a refusal at the socket limit and log it (at most once a
    /// second, naming the limit and how to raise it): `new-socket-limit`.
    pub(crate) fn refuse_socket(&self) -> ErrorCode {
        self.gate.warn_at_limit(
            Limit::Sockets,
            format_args!(
                "the instance holds {} sockets, its limit: opening or accepting another fails with new-socket-limit (a WASI 0.3 listener's stream waits instead) until one is closed; {}",
                self.limits.max_sockets,
                self.gate.policy.set_by().raise("max-sockets")
            ),
        );
        ErrorCode::NewSocketLimit
    }

    /// A place for one more socket if there is one, with nothing counted
    /// or logged when there is not.
    pub(crate) fn try_socket_slot(&self) -> Option<Share> {
        self.sockets.reserve(1)
    }

    /// Remember that `name` resolved to `ips` in this instance.
    pub(crate) fn remember(&self, name: &str, ips: &[IpAddr]) {
        self.gate.remember(name, ips);
    }

    /// What ends the instance's `poll` and `poll-set.wait` early, as if
    /// their timeout had run out: the thread that owns a provider
    /// component's store needing it back (see `runtime::bridge`), and the
    /// host beginning to drain (see `wit/drain.wit`).
    pub(crate) fn ends_early(&self) -> super::poll::EndsEarly<'_> {
        super::poll::EndsEarly {
            interrupt: self.lent.as_ref().map(|lent| &*lent.interrupt),
            drain: self.drain.as_ref(),
        }
    }

    /// Count a `poll` or `poll-set.wait` of a provider component that
    /// serves the host: it looks at the layer below (see `runtime::bridge`).
    pub(crate) fn note_poll(&mut self) {
        if let Some(lent) = &mut self.lent {
            lent.polls += 1;
        }
    }

    /// Check `op` on `addr` (see [`Gate::check`]).
    pub(crate) fn check(&self, op: Operation, addr: SocketAddr) -> Result<(), ErrorCode> {
        self.gate.check(op, addr)
    }

    /// Count a decision and log it if it is a denial.
    pub(crate) fn record(&self, decision: &Decision) -> Result<(), ErrorCode> {
        self.gate.record(decision)
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
    clock: Option<Arc<dyn Clock>>,
    limits: Limits,
    pinned: Option<Arc<PinnedNames>>,
    waits_in_place: bool,
    observer: Option<super::admission::DecisionObserver>,
    drain: Option<DrainSignal>,
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

    /// The clock the instance's timeouts and WASI clocks read (default:
    /// [`RealClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
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

    /// Call `observe` with every decision the instance's operations get,
    /// allowed or denied, as they are counted (for an audit log, or
    /// denials as data rather than log lines: the operation, the address
    /// or name, and the rule that decided are the [`Decision`]'s fields).
    /// Every one, with no rate limit: keep it cheap, it runs inside the
    /// guest's call. The callback is set before the instance exists: to
    /// tell instances apart, capture a label of your own. A decision's
    /// `Display` gives `wasock run`'s advice (`run with --allow ...`);
    /// [`Decision::shown_by`] with [`SetBy::Code`] gives an embedder's.
    ///
    /// [`SetBy::Code`]: crate::policy::SetBy::Code
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use wasock_host::policy::SetBy;
    /// use wasock_host::runtime::WasockCtx;
    ///
    /// let denied = Arc::new(Mutex::new(Vec::new()));
    /// let seen = denied.clone();
    /// let ctx = WasockCtx::builder()
    ///     .on_decision(move |d| {
    ///         if !d.is_allowed() {
    ///             seen.lock().unwrap().push(format!("tenant-7: {}", d.shown_by(&SetBy::Code)));
    ///         }
    ///     })
    ///     .build();
    /// # drop(ctx);
    /// ```
    pub fn on_decision(mut self, observe: impl Fn(&Decision) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observe));
        self
    }

    /// Let the instance's blocking calls (wasock's interface: `accept`,
    /// `connect`, `send`, `recv` and their datagram forms) wait in the
    /// system first, blocking the thread, for up to a millisecond at a time
    /// before they wait through the async runtime (default: off). The
    /// wake-up then comes straight from the kernel, as a native program's
    /// blocking call gets it, without a turn of the runtime's reactor;
    /// timeouts, the epoch and signals still apply, at most a millisecond
    /// late. Only for an instance that has its thread to itself, as `wasock
    /// run` gives one: anything else on that thread waits while it blocks.
    /// Providers that cannot wait this way (all but the native one) ignore
    /// it.
    ///
    /// ```
    /// use wasock_host::runtime::WasockCtx;
    ///
    /// // One guest on its own current-thread runtime, as `wasock run` runs it.
    /// let ctx = WasockCtx::builder().wait_in_place(true).build();
    /// # drop(ctx);
    /// ```
    pub fn wait_in_place(mut self, on: bool) -> Self {
        self.waits_in_place = on;
        self
    }

    /// The switch that tells the instance its host has begun to drain
    /// (`wasock:sockets/drain`; default: none, and the instance is never
    /// told). [`Server::serve`](crate::runtime::Server::serve) gives the
    /// instances each accept loop starts one signal, flipped when that
    /// loop's shutdown future completes; an embedder with its own accept
    /// loop does the same.
    pub fn drain(mut self, signal: DrainSignal) -> Self {
        self.drain = Some(signal);
        self
    }

    /// The context, with a fresh instance id.
    pub fn build(self) -> WasockCtx {
        let id = InstanceId(NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed));
        let policy: Arc<Policy> = self.policy.unwrap_or_default();
        WasockCtx {
            id,
            gate: Arc::new(
                Gate::new(
                    Subject::Instance(id),
                    policy,
                    Arc::<InstanceStats>::default(),
                )
                .observed_by(self.observer),
            ),
            provider: self.provider.unwrap_or_else(|| Arc::new(NativeProvider)),
            clock: self.clock.unwrap_or_else(|| Arc::new(RealClock)),
            limits: self.limits,
            pinned: self.pinned.unwrap_or_default(),
            lookups: Arc::new(tokio::sync::Semaphore::new(
                super::lookup::MAX_LOOKUPS_IN_FLIGHT,
            )),
            sockets: Budget::new(self.limits.max_sockets as u64),
            buffers: Budget::new(self.limits.max_buffer_bytes),
            lookups_alive: Budget::new(super::lookup::MAX_LOOKUPS_ALIVE),
            poll_sets: Budget::new(super::poll_set::MAX_POLL_SETS),
            sockets_closed: 0,
            #[cfg(feature = "wasi-0-3")]
            pending_calls: Budget::new(self.limits.max_pending_calls as u64),
            handoff: None,
            lent: None,
            waits_in_place: self.waits_in_place,
            drain: self.drain.as_ref().map(DrainSignal::watch),
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

/// Add wasock's interfaces (`types`, `socket`, `poll`, `name-lookup`,
/// `drain` for connection handlers, and `handoff` for provider layers) to
/// a linker, and `wasi:sockets@0.2`
/// (`@0.3` too on an engine with component-model concurrency) served by
/// wasock's socket layer, in place of any linked before. The rest of WASI
/// is added separately, best with
/// [`add_wasi_to_linker`](crate::runtime::add_wasi_to_linker) (and
/// `add_wasi_0_3_to_linker` for WASI 0.3 guests). A linker given
/// `wasmtime_wasi::p2::add_to_linker_async` first is safe too: its
/// `wasi:sockets`, which know no policy, are replaced here, so a guest's
/// `std::net` meets the policy, the limits and the counters. Given it
/// after this call, wasmtime-wasi's sockets clash with these, and it fails
/// ("defined twice") rather than serve them.
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
    wit::handoff::add_to_linker::<T, WasockSockets>(linker, T::wasock)?;
    wit::drain::add_to_linker::<T, WasockSockets>(linker, T::wasock)?;
    super::wasi::claim_wasi_sockets(linker)
}
