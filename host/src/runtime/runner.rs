//! Running guests: the engine (with a ticking epoch), the linker with WASI
//! and wasock, and one store per instance, with the instance's limits.
//!
//! WASI 0.3 guests (with the `wasi-0-3` feature, on by default) use the
//! component model's async features, which cost every host call of an
//! engine that supports them. So they get an engine of their own, built the
//! first time one is compiled; every other guest keeps wasock's engine,
//! without them.

use std::path::Path;
use std::sync::Arc;
#[cfg(feature = "wasi-0-3")]
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use tracing::Instrument as _;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store, UpdateDeadline};
use wasmtime_wasi::p2::bindings::CommandPre;
#[cfg(feature = "wasi-0-3")]
use wasmtime_wasi::p3::bindings::CommandPre as CommandPreP3;

use super::clock::{Clock, within};
use super::ctx::add_to_linker;
use super::exit::GuestExit;
use super::state::HostState;
#[cfg(feature = "wasi-0-3")]
use super::wasi::add_wasi_0_3_to_linker;
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
    /// The engine and linker for WASI 0.3 guests, once one is compiled.
    #[cfg(feature = "wasi-0-3")]
    p3: Arc<P3>,
    fuel: bool,
    yields: Yields,
}

/// How to make the WASI 0.3 engine, and the engine once made (shared by a
/// runner's clones).
#[cfg(feature = "wasi-0-3")]
struct P3 {
    /// The runner's engine configuration, to make it from.
    config: Config,
    built: OnceLock<Result<Engines, String>>,
}

/// An engine and the linker on it.
#[cfg(feature = "wasi-0-3")]
struct Engines {
    engine: Engine,
    linker: Linker<HostState>,
}

/// A component linked once, ready to start instances of: a WASI 0.2
/// command (wasock's interface, `wasi:sockets@0.2`), or a WASI 0.3 one;
/// with the provider layers composed into it.
#[derive(Clone)]
pub struct Prepared(Command, usize);

#[derive(Clone)]
enum Command {
    P2(CommandPre<HostState>),
    #[cfg(feature = "wasi-0-3")]
    P3(CommandPreP3<HostState>),
}

impl Command {
    /// The engine the command was prepared on, for its stores.
    fn engine(&self) -> &Engine {
        match self {
            Command::P2(pre) => pre.engine(),
            #[cfg(feature = "wasi-0-3")]
            Command::P3(pre) => pre.engine(),
        }
    }
}

/// wasmtime's own cap on the handles alive at once in one store, which
/// it applies when no other is set.
const WASMTIME_HANDLES: usize = 100_000;

/// The most provider layers given room in the handle cap.
const MAX_LAYERS: usize = 8;

/// The handle cap never grows past this, whatever the limits say: each
/// handle is a table slot of host memory.
const MAX_HANDLES: usize = 1 << 22;

/// The provider components composed under a component's app: each brings
/// a core memory of its own (an app alone has one). An estimate from the
/// bytes; a component whose modules cannot be known in advance counts as
/// none.
pub(crate) fn layers(component: &Component) -> usize {
    component.resources_required().map_or(0, |r| {
        usize::try_from(r.num_memories)
            .unwrap_or(0)
            .saturating_sub(1)
    })
}

/// The store-wide cap on live component handles (resources held and
/// borrows lent) for an instance under `limits` with `layers` provider
/// components under its app. Every layer a `poll` passes through lends
/// each entry's socket once more, so wasmtime's default alone would trap a
/// guest polling at [`Limits::max_poll_entries`] on a provider component.
/// Each layer (up to [`MAX_LAYERS`]) adds room for that many entries; an
/// app without layers keeps wasmtime's cap, and no cap passes
/// [`MAX_HANDLES`].
///
/// [`Limits::max_poll_entries`]: crate::runtime::Limits::max_poll_entries
fn component_handles(limits: &crate::runtime::Limits, layers: usize) -> usize {
    limits
        .max_poll_entries
        .saturating_mul(layers.min(MAX_LAYERS))
        .saturating_add(WASMTIME_HANDLES)
        .min(MAX_HANDLES)
}

/// Why a component cannot be run as a command: what it is instead, so
/// that the program that loaded it can say how such a component is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotACommand {
    /// A connection handler (it exports `wasock:sockets/handler`).
    #[error(
        "the component is a connection handler, not a command (it exports wasock:sockets/handler, not wasi:cli/run)"
    )]
    Handler,
    /// A provider (it exports `wasock:sockets/socket`).
    #[error(
        "the component is a provider, not a command (it exports wasock:sockets/socket, not wasi:cli/run)"
    )]
    Provider,
    /// Anything else without `wasi:cli/run`.
    #[error("the component is not a command (it must export wasi:cli/run)")]
    Other,
}

impl NotACommand {
    /// What `component` is, given that it is not a command.
    fn of(component: &Component) -> NotACommand {
        let exports = |name| component.get_export_index(None, name).is_some();
        if exports(super::handler::HANDLER) {
            NotACommand::Handler
        } else if exports(super::socket::direct::SOCKET_INTERFACE) {
            NotACommand::Provider
        } else {
            NotACommand::Other
        }
    }
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
    /// turned on and component-model concurrency off whatever `config`
    /// says: WASI 0.3 guests, with the `wasi-0-3` feature, get an engine
    /// of their own), without fuel.
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
        // On by default once wasmtime is built with component-model-async;
        // only WASI 0.3 guests need it, and every host call pays for it.
        config.concurrency_support(false);
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
            #[cfg(feature = "wasi-0-3")]
            p3: Arc::new(P3 {
                config,
                built: OnceLock::new(),
            }),
            fuel,
            yields,
        })
    }

    /// The engine and linker for WASI 0.3 guests: this runner's
    /// configuration with the component model's async features, and WASI
    /// 0.3 (cli, clocks, random, filesystem) linked beside all that WASI 0.2
    /// guests have (a 0.3 guest built with Rust's std imports both).
    #[cfg(feature = "wasi-0-3")]
    fn p3(&self) -> anyhow::Result<&Engines> {
        let built = self.p3.built.get_or_init(|| {
            let build = || -> anyhow::Result<Engines> {
                let mut config = self.p3.config.clone();
                config.concurrency_support(true);
                let engine = Engine::new(&config)?;
                if self.yields == Yields::Epoch {
                    start_epoch_ticker(&engine);
                }
                let mut linker = Linker::new(&engine);
                add_wasi_to_linker(&mut linker)?;
                add_to_linker(&mut linker)?;
                add_wasi_0_3_to_linker(&mut linker)?;
                Ok(Engines { engine, linker })
            };
            build().map_err(|e| format!("{e:#}"))
        });
        built
            .as_ref()
            .map_err(|e| anyhow::anyhow!("cannot set up the engine for WASI 0.3 guests: {e}"))
    }

    /// The engine of every guest but WASI 0.3 ones (a component compiled
    /// on it directly is never run as a WASI 0.3 guest; use
    /// [`Runner::compile`] to have each kind on its engine).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker of [`Runner::engine`], with WASI 0.2 and wasock in it.
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
        if let Some(why) = super::kind::not_a_component(bytes) {
            anyhow::bail!("{why}");
        }
        match Component::new(&self.engine, bytes) {
            Ok(component) => Ok(component),
            // Valid only with the component model's async features: a WASI
            // 0.3 guest, for the engine that has them.
            Err(_) if super::kind::needs_concurrency_support(bytes) => self.compile_wasi_0_3(bytes),
            Err(e) => Err(e.into()),
        }
    }

    /// Compile a WASI 0.3 component, on the engine with the component
    /// model's async features.
    #[cfg(feature = "wasi-0-3")]
    fn compile_wasi_0_3(&self, bytes: &[u8]) -> anyhow::Result<Component> {
        Ok(Component::new(&self.p3()?.engine, bytes)?)
    }

    /// Without the `wasi-0-3` feature there is no engine for it.
    #[cfg(not(feature = "wasi-0-3"))]
    fn compile_wasi_0_3(&self, _bytes: &[u8]) -> anyhow::Result<Component> {
        anyhow::bail!(
            "this is a WASI 0.3 component (it uses the component model's async features), and this wasock was built without WASI 0.3 support; build wasock-host with its `wasi-0-3` feature (on by default)"
        )
    }

    /// Link a component once, so that instances start fast. Fails if it
    /// imports something neither WASI nor wasock provides, or does not
    /// export `wasi:cli/run`. A component that exports `wasi:cli/run@0.3`
    /// is run through that export.
    pub fn prepare(&self, component: &Component) -> anyhow::Result<Prepared> {
        let p3 = self.p3_linker_of(component);
        let pre = p3
            .unwrap_or(&*self.linker)
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("the component imports something wasock does not provide")?;
        let not_a_command = NotACommand::of(component);
        // On the WASI 0.3 engine, the 0.3 export if there is one; a
        // component that needs the async features but exports only the 0.2
        // `run` (a std `main` with an async runtime inside) runs that.
        #[cfg(feature = "wasi-0-3")]
        if p3.is_some()
            && let Ok(command) = CommandPreP3::new(pre.clone())
        {
            return Ok(Prepared(Command::P3(command), layers(component)));
        }
        Ok(Prepared(
            Command::P2(CommandPre::new(pre).map_err(|e| match not_a_command {
                // What wasmtime missed (a `run` of another version?)
                // helps only when the component is no other kind.
                NotACommand::Other => anyhow::Error::from(e).context(not_a_command),
                kind => anyhow::Error::new(kind),
            })?),
            layers(component),
        ))
    }

    /// Whether `component` was compiled for a WASI 0.3 guest (on the
    /// engine with the component model's async features) by this runner.
    pub fn is_wasi_0_3(&self, component: &Component) -> bool {
        self.p3_linker_of(component).is_some()
    }

    /// The WASI 0.3 engine's linker, if `component` was compiled on it.
    #[cfg(feature = "wasi-0-3")]
    fn p3_linker_of(&self, component: &Component) -> Option<&Linker<HostState>> {
        match self.p3.built.get() {
            Some(Ok(p3)) if Engine::same(component.engine(), &p3.engine) => Some(&p3.linker),
            _ => None,
        }
    }

    /// Without the `wasi-0-3` feature no component is compiled for it.
    #[cfg(not(feature = "wasi-0-3"))]
    fn p3_linker_of(&self, _component: &Component) -> Option<&Linker<HostState>> {
        None
    }

    /// A store for one instance, with its limits applied: linear memory,
    /// fuel, and a yield to the executor at every epoch tick.
    pub fn store(&self, state: HostState) -> wasmtime::Result<Store<HostState>> {
        self.store_on(&self.engine, state, 0)
    }

    /// [`Runner::store`] on `engine` (this runner's, or its WASI 0.3 one)
    /// for an instance with `layers` provider components under its app.
    pub(crate) fn store_on(
        &self,
        engine: &Engine,
        state: HostState,
        layers: usize,
    ) -> wasmtime::Result<Store<HostState>> {
        let limits = state.wasock.limits;
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.store_limits);
        store.set_max_component_handles(component_handles(&limits, layers));
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
                wasmtime::bail!(
                    "its Limits set fuel ({}), and this runner was built without fuel: build it with Runner::with_fuel",
                    limits.fuel.unwrap_or_default()
                )
            }
            (false, None) => {}
        }
        Ok(store)
    }

    /// A store with an instance of `pre` in it, not run: what starting an
    /// instance costs, without its work.
    pub async fn instantiate(
        &self,
        pre: &Prepared,
        state: HostState,
    ) -> wasmtime::Result<Store<HostState>> {
        let mut store = self.store_on(pre.0.engine(), state, pre.1)?;
        match &pre.0 {
            Command::P2(pre) => {
                pre.instantiate_async(&mut store).await?;
            }
            #[cfg(feature = "wasi-0-3")]
            Command::P3(pre) => {
                pre.instantiate_async(&mut store).await?;
            }
        }
        Ok(store)
    }

    /// Instantiate a prepared command and run it to the end (or to its
    /// time limit, on the instance's clock).
    pub async fn run(&self, pre: &Prepared, state: HostState) -> GuestExit {
        let timeout = state.wasock.limits.timeout;
        let clock = state.wasock.clock.clone();
        let span = tracing::info_span!("instance", id = %state.wasock.id);
        let run = async {
            let mut store = match self.store_on(pre.0.engine(), state, pre.1) {
                Ok(store) => store,
                Err(e) => return GuestExit::NotStarted(format!("{e:#}")),
            };
            let ran = match &pre.0 {
                Command::P2(pre) => run_p2(pre, &mut store).await,
                #[cfg(feature = "wasi-0-3")]
                Command::P3(pre) => run_p3(pre, &mut store).await,
            };
            GuestExit::from(ran)
        };
        // Around the whole run: wasmtime does not promise that a timeout
        // inside `run_concurrent` fires.
        with_timeout(&*clock, timeout, run.instrument(span)).await
    }
}

/// Start a WASI 0.2 command in `store` and call its `run`.
async fn run_p2(
    pre: &CommandPre<HostState>,
    store: &mut Store<HostState>,
) -> wasmtime::Result<Result<(), ()>> {
    let command = pre.instantiate_async(&mut *store).await?;
    command.wasi_cli_run().call_run(store).await
}

/// Start a WASI 0.3 command in `store` and call its `run`, with the store
/// driving the instance's tasks until `run` returns.
#[cfg(feature = "wasi-0-3")]
async fn run_p3(
    pre: &CommandPreP3<HostState>,
    store: &mut Store<HostState>,
) -> wasmtime::Result<Result<(), ()>> {
    let command = pre.instantiate_async(&mut *store).await?;
    store
        .run_concurrent(async |run| command.wasi_cli_run().call_run(run).await)
        .await?
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

#[cfg(test)]
mod tests {
    use super::Runner;
    use crate::runtime::kind::tests::wasi_0_3_component;

    #[cfg(not(feature = "wasi-0-3"))]
    #[test]
    fn without_wasi_0_3_support_a_0_3_guest_is_refused_by_name() {
        let runner = Runner::new().unwrap();
        let err = runner.compile(&wasi_0_3_component()).unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("this is a WASI 0.3 component")
                && err.contains("built without WASI 0.3 support")
                && err.contains("`wasi-0-3` feature"),
            "{err}"
        );
    }

    #[cfg(feature = "wasi-0-3")]
    #[test]
    fn with_wasi_0_3_support_a_0_3_guest_compiles_on_its_engine() {
        let runner = Runner::new().unwrap();
        let component = runner.compile(&wasi_0_3_component()).unwrap();
        assert!(runner.is_wasi_0_3(&component));
        assert!(!wasmtime::Engine::same(component.engine(), runner.engine()));
    }
}

#[cfg(test)]
mod handle_tests {
    use super::{MAX_HANDLES, WASMTIME_HANDLES, component_handles};
    use crate::runtime::Limits;

    #[test]
    fn the_handle_cap_grows_with_the_layers_within_bounds() {
        let limits = Limits::default();
        assert_eq!(component_handles(&limits, 0), WASMTIME_HANDLES);
        assert_eq!(component_handles(&limits, 1), WASMTIME_HANDLES + 65_536);
        // Layers past eight get no more room.
        assert_eq!(
            component_handles(&limits, 50),
            component_handles(&limits, 8)
        );
        let huge = Limits {
            max_poll_entries: usize::MAX,
            ..Limits::default()
        };
        assert_eq!(component_handles(&huge, 1), MAX_HANDLES);
        assert_eq!(component_handles(&huge, 0), WASMTIME_HANDLES);
    }
}
