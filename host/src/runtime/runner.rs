//! Running guests: the engine (with a ticking epoch), the linker with WASI
//! and wasock, and one store per instance, with the instance's limits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tracing::Instrument as _;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store, UpdateDeadline};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p2::bindings::CommandPre;

use super::clock::{Clock, within};
use super::ctx::add_to_linker;
use super::exit::GuestExit;
use super::state::HostState;
use super::wasi::add_wasi_to_linker;

/// How often the engine's epoch ticks. A running guest yields to the async
/// executor at every tick, so one guest that computes for long cannot hold
/// a thread that other guests need, and wall-clock limits apply to it.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Fuel a guest burns between yields to the executor, when fuel is on.
const FUEL_YIELD_INTERVAL: u64 = 1_000_000;

/// A wasmtime engine and linker set up for wasock guests; compiles
/// components and runs them, one store per instance.
#[derive(Clone)]
pub struct Runner {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    fuel: bool,
    yields: Yields,
}

/// What makes a running guest give way to the others on its thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Yields {
    /// The epoch, ticked by a real-time thread every [`EPOCH_TICK`].
    Epoch,
    /// Fuel: every `FUEL_YIELD_INTERVAL` units, the same points on every
    /// run, whatever the machine's speed.
    Fuel,
}

impl Runner {
    /// A runner with wasock's default engine configuration
    /// ([`Runner::default_config`]), without fuel.
    pub fn new() -> anyhow::Result<Runner> {
        Runner::with_config(&Runner::default_config())
    }

    /// wasock's engine configuration: wasmtime's defaults, epoch
    /// interruption on (see [`EPOCH_TICK`]), and no component-model-async
    /// task bookkeeping, which every host call would otherwise pay for
    /// (wasock's interfaces are synchronous to the guest; blocking is done
    /// with async host functions on fibers).
    pub fn default_config() -> Config {
        let mut config = Config::new();
        config.concurrency_support(false);
        config.epoch_interruption(true);
        config
    }

    /// A runner on an engine built from `config` (epoch interruption is
    /// turned on whatever `config` says), without fuel.
    pub fn with_config(config: &Config) -> anyhow::Result<Runner> {
        Runner::build(config.clone(), false, Yields::Epoch)
    }

    /// A runner whose guests yield at points that depend only on what they
    /// compute (fuel), not on a real-time ticker: runs repeat exactly, as
    /// the simulator needs. Epoch interruption is off; a fuel limit may be
    /// set as with [`Runner::with_fuel`].
    pub fn deterministic(config: &Config) -> anyhow::Result<Runner> {
        let mut config = config.clone();
        config.consume_fuel(true).epoch_interruption(false);
        Runner::build(config, true, Yields::Fuel)
    }

    /// A runner whose instances count fuel, so that [`crate::runtime::Limits::fuel`]
    /// can stop them. Fuel costs speed: use it only when a limit asks.
    pub fn with_fuel(config: &Config) -> anyhow::Result<Runner> {
        let mut config = config.clone();
        config.consume_fuel(true);
        Runner::build(config, true, Yields::Epoch)
    }

    fn build(mut config: Config, fuel: bool, yields: Yields) -> anyhow::Result<Runner> {
        if yields == Yields::Epoch {
            config.epoch_interruption(true);
        }
        let engine = Engine::new(&config)?;
        if yields == Yields::Epoch {
            start_epoch_ticker(&engine);
        }
        let mut linker = Linker::new(&engine);
        add_wasi_to_linker(&mut linker)?;
        add_to_linker(&mut linker)?;
        Ok(Runner {
            engine,
            linker: Arc::new(linker),
            fuel,
            yields,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker, with WASI and wasock in it.
    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    /// Compile the component in `path`, explaining what is wrong if the file
    /// is not one.
    pub fn load(&self, path: &Path) -> anyhow::Result<Component> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        self.compile(&bytes)
            .with_context(|| format!("cannot load {}", path.display()))
    }

    /// Compile a component from its bytes.
    pub fn compile(&self, bytes: &[u8]) -> anyhow::Result<Component> {
        if !bytes.starts_with(b"\0asm") {
            anyhow::bail!(
                "not a WebAssembly file (it does not start with `\\0asm`); build a guest with `cargo build --target wasm32-wasip2`"
            );
        }
        if bytes.len() >= 8 && bytes[4..8] == [1, 0, 0, 0] {
            anyhow::bail!(
                "this is a core WebAssembly module, not a component; build it for the `wasm32-wasip2` target (or adapt it with `wasm-tools component new`)"
            );
        }
        Component::new(&self.engine, bytes).map_err(|e| match super::kind::needs_async(bytes) {
            Some(why) => anyhow::anyhow!(why),
            None => anyhow::Error::from(e),
        })
    }

    /// Link a component once, so that instances start fast. Fails if it
    /// imports something neither WASI nor wasock provides, or does not
    /// export `wasi:cli/run`.
    pub fn prepare(&self, component: &Component) -> anyhow::Result<CommandPre<HostState>> {
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("the component imports something wasock does not provide")?;
        CommandPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("the component is not a command (it must export wasi:cli/run)")
    }

    /// A store for one instance, with its limits applied: linear memory,
    /// fuel, and a yield to the executor at every epoch tick.
    pub fn store(&self, state: HostState) -> wasmtime::Result<Store<HostState>> {
        let limits = state.wasock.limits;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.store_limits);
        if self.yields == Yields::Epoch {
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        }
        match (self.fuel, limits.fuel) {
            (true, fuel) => {
                store.set_fuel(fuel.unwrap_or(u64::MAX))?;
                store.fuel_async_yield_interval(Some(FUEL_YIELD_INTERVAL))?;
            }
            (false, Some(_)) => {
                wasmtime::bail!("a fuel limit needs a runner built with Runner::with_fuel")
            }
            (false, None) => {}
        }
        Ok(store)
    }

    /// Instantiate a prepared command and run it to the end (or to its
    /// time limit, on the instance's clock).
    pub async fn run(&self, pre: &CommandPre<HostState>, state: HostState) -> GuestExit {
        let timeout = state.wasock.limits.timeout;
        let clock = state.wasock.clock.clone();
        let span = tracing::info_span!("instance", id = %state.wasock.id);
        let run = async {
            let mut store = match self.store(state) {
                Ok(s) => s,
                Err(e) => return GuestExit::Trapped(e),
            };
            let command = match pre.instantiate_async(&mut store).await {
                Ok(c) => c,
                Err(e) => return GuestExit::Trapped(e),
            };
            match command.wasi_cli_run().call_run(&mut store).await {
                Ok(Ok(())) => GuestExit::Exited(0),
                Ok(Err(())) => GuestExit::Exited(1),
                Err(e) => match e.downcast_ref::<I32Exit>() {
                    Some(exit) => GuestExit::Exited(exit.0),
                    None => GuestExit::Trapped(e),
                },
            }
        };
        with_timeout(&*clock, timeout, run.instrument(span)).await
    }
}

/// Run `f` for at most `timeout` on `clock`; past it the instance is
/// dropped, which closes its sockets.
pub(crate) async fn with_timeout(
    clock: &dyn Clock,
    timeout: Option<Duration>,
    f: impl Future<Output = GuestExit>,
) -> GuestExit {
    within(clock, timeout, f)
        .await
        .unwrap_or_else(|()| GuestExit::TimedOut(timeout.unwrap_or_default()))
}

/// Tick `engine`'s epoch every [`EPOCH_TICK`] for as long as the engine
/// lives.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("wasock-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(target: "wasock::runtime", "cannot start the epoch ticker ({e}); time limits will not apply to guests that never block");
    }
}
