//! Running guest programs: the engine, the linker, and one store per
//! instance.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::ctx::{WasockCtx, WasockCtxView, WasockView, add_to_linker};
use super::wasi::{add_wasi_to_linker, guard_wasi_sockets};

/// The data of a store that runs a guest: WASI, wasock, and their shared
/// resource table.
pub struct HostState {
    /// WASI's context.
    pub wasi: WasiCtx,
    /// wasock's context.
    pub wasock: WasockCtx,
    /// Resources of both.
    pub table: ResourceTable,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasockView for HostState {
    fn wasock(&mut self) -> WasockCtxView<'_> {
        WasockCtxView {
            ctx: &mut self.wasock,
            table: &mut self.table,
        }
    }
}

impl HostState {
    /// A state for one instance. The WASI builder gets wasi:sockets guarded
    /// by the same policy as wasock's sockets.
    pub fn new(mut wasi: WasiCtxBuilder, wasock: WasockCtx) -> HostState {
        guard_wasi_sockets(
            &mut wasi,
            wasock.policy.clone(),
            wasock.stats.clone(),
            wasock.names.clone(),
            wasock.id,
        );
        HostState {
            wasi: wasi.build(),
            wasock,
            table: ResourceTable::new(),
        }
    }
}

/// How a guest program ended.
#[derive(Debug)]
pub enum GuestExit {
    /// It returned or called `exit` with this status.
    Exited(i32),
    /// It trapped (or a host function trapped it).
    Trapped(wasmtime::Error),
}

impl GuestExit {
    /// The process exit status that stands for this ending: the guest's own
    /// status, or 134 (like an abort) for a trap.
    pub fn code(&self) -> i32 {
        match self {
            GuestExit::Exited(c) => *c,
            GuestExit::Trapped(_) => 134,
        }
    }
}

/// A wasmtime engine and linker set up for wasock guests; compiles
/// components and runs them, one store per instance.
#[derive(Clone)]
pub struct Runner {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
}

impl Runner {
    /// A runner with wasock's default engine configuration
    /// ([`Runner::default_config`]).
    pub fn new() -> anyhow::Result<Runner> {
        Runner::with_config(&Runner::default_config())
    }

    /// wasock's engine configuration: wasmtime's defaults, without the
    /// component-model-async task bookkeeping that every host call would
    /// otherwise pay for (wasock's interfaces are synchronous to the guest;
    /// blocking is done with async host functions on fibers).
    pub fn default_config() -> Config {
        let mut config = Config::new();
        config.concurrency_support(false);
        config
    }

    /// A runner on an engine built from `config`.
    pub fn with_config(config: &Config) -> anyhow::Result<Runner> {
        let engine = Engine::new(config)?;
        let mut linker = Linker::new(&engine);
        add_wasi_to_linker(&mut linker)?;
        add_to_linker(&mut linker)?;
        Ok(Runner {
            engine,
            linker: Arc::new(linker),
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
        Ok(Component::new(&self.engine, bytes)?)
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

    /// Instantiate a prepared command and run it to the end.
    pub async fn run(&self, pre: &CommandPre<HostState>, state: HostState) -> GuestExit {
        let mut store = Store::new(&self.engine, state);
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
    }
}
