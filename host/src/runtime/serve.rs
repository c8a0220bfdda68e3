//! Connection-per-instance serving: the host owns the listener, and each
//! accepted connection is handed to a fresh guest instance (the
//! `connection-handler` world) as an already-connected socket, inetd style.
//!
//! Instances come from a pre-instantiated component on wasmtime's pooling
//! allocator, so one starts in microseconds. A semaphore bounds how many run
//! at once: when all permits are taken the server stops accepting, and new
//! connections wait in the kernel's backlog (back-pressure, not unbounded
//! instances).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument as _;
use wasmtime::component::Component;
use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi::WasiCtxBuilder;

use super::admission::{Gate, Subject};
use super::clock::{Clock, RealClock, within};
use super::ctx::WasockCtx;
use super::drain::DrainSignal;
use super::exit::GuestExit;
use super::handler::Handler;
use super::limits::Limits;
use super::output::Outputs;
use super::pinned::PinnedNames;
use super::runner::{Runner, with_timeout};
use super::socket::{GuestSocket, State};
use super::state::HostState;
use crate::net::native::NativeSocket;
use crate::policy::{Operation, Policy};

/// Instances whose memories and tables are returned to the pool together.
const DECOMMIT_BATCH: usize = 32;

/// A 32-bit linear memory's largest size.
const MAX_MEMORY32: usize = 4 << 30;

/// An engine configuration on wasmtime's pooling allocator, with room for
/// `instances` guest instances at once of at most `max_memory` bytes of
/// linear memory each.
pub fn pooling_config(instances: u32, max_memory: usize) -> Config {
    let mut pool = PoolingAllocationConfig::default();
    // A wasm32-wasip2 program is a component of a few core instances (the
    // program and its adapters), each with up to one memory and a table or
    // two.
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(8))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(4))
        // A 32-bit memory never grows past 4 GiB: a larger limit is no
        // limit, as it is for `wasock run`, not an error.
        .max_memory_size(max_memory.min(MAX_MEMORY32));
    // Returning an instance's memory and tables to the pool unmaps their
    // pages, and with serving threads on other CPUs each unmapping costs a
    // TLB shootdown (an interrupt to every CPU running this process): a
    // third of the CPU of `--workers 2` went there. Batched, one shootdown
    // covers 32 instances (wrk against http-hello: 1 worker 6.7-9.0k to
    // 9.3-9.5k requests/s, 2 workers 6.8-7.4k to 9.7-10.2k).
    pool.decommit_batch_size(DECOMMIT_BATCH);
    let mut config = Runner::default_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Instances running at once, at most; more connections wait in the
    /// listen backlog. Default 256.
    pub max_concurrent: usize,
    /// After a shutdown signal, how long running instances may take to
    /// finish before they are stopped. Default 10 s.
    pub drain_timeout: Duration,
    /// Each instance's limits.
    pub limits: Limits,
    /// The clock of the drain timeout and of every instance. Default
    /// [`RealClock`].
    pub clock: Arc<dyn Clock>,
    /// Environment variables every instance sees: the handler's, and the
    /// settings of provider components composed under it (such as
    /// provider-tap's `WASOCK_TAP_QUOTA`). Default none.
    pub env: Vec<(String, String)>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_concurrent: 256,
            drain_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            clock: Arc::new(RealClock),
            env: Vec::new(),
        }
    }
}

/// What a server did, for its final report.
#[derive(Debug, Default)]
pub struct ServeStats {
    /// Connections accepted and handed to an instance.
    pub served: AtomicU64,
    /// Handlers that returned an error (other than one saying the peer
    /// left), trapped, or hit a limit.
    pub failed: AtomicU64,
    /// Handlers that returned an error saying their peer left
    /// ([`GuestExit::PeerLeft`]): not counted as failed.
    pub peer_left: AtomicU64,
    /// Connections from peers no `tcp-accept` grant allows, closed unseen.
    pub refused: AtomicU64,
    /// Instances running now.
    pub active: AtomicUsize,
    /// The most instances that ever ran at once.
    pub peak: AtomicUsize,
    /// Instances stopped because draining took too long.
    pub aborted: AtomicU64,
}

/// What one accept loop did (see [`Server::serve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerReport {
    /// Whether every instance it started finished within the drain
    /// timeout.
    pub drained: bool,
    /// Connections it handed to an instance.
    pub served: u64,
}

/// A server: a prepared connection-handler component and how to run it.
/// One server may accept on several listeners at once, each from its own
/// thread ([`Server::serve`] per listener); they share its limit on
/// instances running at once, its policy and its counters.
pub struct Server {
    runner: Runner,
    handler: Handler,
    policy: Arc<Policy>,
    /// The `tcp-accept` check on the host's own listener.
    gate: Gate,
    pinned: Arc<PinnedNames>,
    options: ServeOptions,
    stats: Arc<ServeStats>,
    /// One per instance that may run; shared by every accept loop.
    permits: Arc<Semaphore>,
    /// Provider components composed under the handler (room for their
    /// lends in each instance's handle cap).
    layers: usize,
}

impl Server {
    /// Prepare `component` (which must export `wasock:sockets/handler`) on
    /// `runner`.
    pub fn new(
        runner: Runner,
        component: &Component,
        policy: Arc<Policy>,
        pinned: Arc<PinnedNames>,
        options: ServeOptions,
    ) -> anyhow::Result<Server> {
        if runner.is_wasi_0_3(component) {
            anyhow::bail!(
                "this is a WASI 0.3 component (it uses the component model's async features); `wasock serve` serves connection handlers for WASI 0.2, which export wasock:sockets/handler (see examples/http-hello). Run a WASI 0.3 program with `wasock run`"
            );
        }
        if !wasmtime::Engine::same(component.engine(), runner.engine()) {
            anyhow::bail!(
                "the component was compiled on another engine than the server's runner; compile it with that runner (Runner::compile or Runner::load)"
            );
        }
        let pre = runner
            .linker()
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("the component imports something wasock does not provide")?;
        let handler = Handler::new(component, pre)?;
        Ok(Server {
            layers: super::runner::layers(component),
            runner,
            handler,
            gate: Gate::new(Subject::Server, policy.clone(), Arc::default()),
            policy,
            pinned,
            permits: Arc::new(Semaphore::new(options.max_concurrent.max(1))),
            options,
            stats: Arc::default(),
        })
    }

    /// The server's counters.
    pub fn stats(&self) -> Arc<ServeStats> {
        self.stats.clone()
    }

    /// Accept on `listener` until `shutdown` completes; then stop
    /// accepting, tell the instances this loop started that it is draining
    /// (`wasock:sockets/drain`), let them finish within the drain timeout,
    /// and stop the rest. Instances run on the calling task's runtime.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> WorkerReport {
        let permits = self.permits.clone();
        let drain = DrainSignal::new();
        let mut served = 0;
        let mut running = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                _ = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(target: "wasock::serve", "accept failed: {e}");
                        continue;
                    }
                },
                _ = &mut shutdown => break,
            };
            while running.try_join_next().is_some() {}
            if !self.admit(peer) {
                continue;
            }
            served += 1;
            let server = self.clone();
            let drain = drain.clone();
            running.spawn(async move {
                let active = server.stats.active.fetch_add(1, Ordering::SeqCst) + 1;
                server.stats.peak.fetch_max(active, Ordering::SeqCst);
                server.handle(stream, peer, drain).await;
                server.stats.active.fetch_sub(1, Ordering::SeqCst);
                drop(permit);
            });
        }
        drop(listener);
        drain.start();
        let started = self.options.clock.now();
        let drained = within(
            &*self.options.clock,
            Some(self.options.drain_timeout),
            async { while running.join_next().await.is_some() {} },
        )
        .await
        .is_ok();
        if !drained {
            self.stats
                .aborted
                .store(running.len() as u64, Ordering::SeqCst);
            running.abort_all();
            while running.join_next().await.is_some() {}
        }
        tracing::info!(target: "wasock::serve", "drained in {:?}", self.options.clock.now() - started);
        WorkerReport { drained, served }
    }

    /// The `tcp-accept` filter, before any instance exists.
    fn admit(&self, peer: SocketAddr) -> bool {
        let admitted = self.gate.admit_peer(Operation::TcpAccept, peer);
        if !admitted {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
        }
        admitted
    }

    /// Run one instance for one connection.
    async fn handle(&self, stream: tokio::net::TcpStream, peer: SocketAddr, drain: DrainSignal) {
        let ctx = WasockCtx::builder()
            .policy(self.policy.clone())
            .pinned_names(self.pinned.clone())
            .limits(self.options.limits)
            .clock(self.options.clock.clone())
            .drain(drain)
            .build();
        let id = ctx.id();
        let span = tracing::info_span!("instance", id = %id, peer = %peer);
        let exit = with_timeout(
            &*self.options.clock,
            self.options.limits.timeout,
            self.run(stream, peer, ctx).instrument(span),
        )
        .await;
        self.stats.served.fetch_add(1, Ordering::Relaxed);
        match exit {
            GuestExit::Exited(0) => {}
            // A client that resets or drops its connection (as load
            // generators do when they stop) is not the server's failure:
            // counted apart, and logged only at debug level.
            left @ GuestExit::PeerLeft(_) => {
                self.stats.peer_left.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(target: "wasock::serve", instance = %id, peer = %peer, "{}", left.describe());
            }
            other => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "wasock::serve", instance = %id, peer = %peer, "{}", other.describe_for(self.policy.set_by()));
            }
        }
    }

    async fn run(
        &self,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        ctx: WasockCtx,
    ) -> GuestExit {
        // Whole lines, each in one write: instances running at once write
        // to the same stdout and stderr.
        let outputs = Outputs::to_process();
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(outputs.stdout.clone())
            .stderr(outputs.stderr.clone())
            .envs(&self.options.env);
        let state = HostState::new(wasi, ctx);
        let mut store = match self
            .runner
            .store_on(self.runner.engine(), state, self.layers)
        {
            Ok(s) => s,
            Err(e) => return GuestExit::NotStarted(format!("{e:#}")),
        };
        let conn = match stream
            .into_std()
            .map(socket2::Socket::from)
            .map_err(crate::net::ErrorCode::from)
            .and_then(NativeSocket::from_connected)
        {
            Ok(c) => c,
            Err(e) => return GuestExit::NotHandedOver(e.to_string()),
        };
        let data = store.data_mut();
        let slot = match data.wasock.socket_slot() {
            Ok(s) => s,
            Err(e) => return GuestExit::NotHandedOver(e.to_string()),
        };
        let conn = GuestSocket::new(&data.wasock, slot, Box::new(conn), State::Connected);
        let conn = match data.table.push(conn) {
            Ok(r) => r,
            Err(e) => return GuestExit::Trapped(e.into()),
        };
        self.handler.call(&mut store, conn, peer).await
    }
}
