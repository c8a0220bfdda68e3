//! Adding WASI 0.2 to a linker: wasmtime-wasi for everything but sockets,
//! wasock's own `wasi:sockets`.

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, io, random};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};

use crate::runtime::bindings::wasi_sockets::LinkOptions;
use crate::runtime::bindings::wasi_sockets::wasi::sockets::{
    instance_network, ip_name_lookup, network, tcp, tcp_create_socket, udp, udp_create_socket,
};
use crate::runtime::ctx::{WasockCtxView, WasockView};

struct HasIo;

/// Marks where wasock's `wasi:sockets` find their data.
struct WasiSockets;

impl HasData for WasiSockets {
    type Data<'a> = WasockCtxView<'a>;
}

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// Add WASI 0.2 (`wasi:cli/imports`) to `linker`, as
/// `wasmtime_wasi::p2::add_to_linker_async` does, but with `wasi:sockets`
/// served by wasock's socket layer: the instance's provider, policy,
/// limits and counters, as for wasock's own interface. The unstable
/// `network-error-code` is linked too. On an engine with component-model
/// concurrency `wasi:sockets@0.3` is linked as well (wasock's, in place of
/// any linked before), so a `wasmtime_wasi::p3::add_to_linker` after this
/// call fails ("defined twice"): link wasmtime-wasi's 0.3 first, or use
/// [`add_wasi_0_3_to_linker`]. The linker is left refusing to shadow
/// definitions (wasmtime has no way to read the setting back).
pub fn add_wasi_to_linker<T: WasiView + WasockView + 'static>(
    l: &mut Linker<T>,
) -> wasmtime::Result<()> {
    io::error::add_to_linker::<T, HasIo>(l, |t| t.ctx().table)?;
    io::poll::add_to_linker::<T, HasIo>(l, |t| t.ctx().table)?;
    io::streams::add_to_linker::<T, HasIo>(l, |t| t.ctx().table)?;
    clocks::wall_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    clocks::monotonic_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    filesystem::preopens::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    filesystem::types::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    random::random::add_to_linker::<T, WasiRandom>(l, T::random)?;
    random::insecure::add_to_linker::<T, WasiRandom>(l, T::random)?;
    random::insecure_seed::add_to_linker::<T, WasiRandom>(l, T::random)?;
    cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    claim_wasi_sockets(l)
}

/// Serve `wasi:sockets` from wasock's socket layer in `l`, in place of
/// whatever served it before: `@0.2` always, and `@0.3` when the engine has
/// component-model concurrency (which 0.3's functions need). A linker
/// given wasmtime-wasi's `add_to_linker_async` first, whose sockets know
/// no policy, is mended here rather than left to serve a guest's
/// `std::net` past the policy, the limits and the counters. Leaves the
/// linker refusing to shadow definitions, as it is by default.
pub(crate) fn claim_wasi_sockets<T: WasockView + 'static>(
    l: &mut Linker<T>,
) -> wasmtime::Result<()> {
    l.allow_shadowing(true);
    let linked = link_sockets(l);
    l.allow_shadowing(false);
    linked
}

fn link_sockets<T: WasockView + 'static>(l: &mut Linker<T>) -> wasmtime::Result<()> {
    let options = {
        let mut o = LinkOptions::default();
        o.network_error_code(true);
        o
    };
    network::add_to_linker::<T, WasiSockets>(l, &options.clone().into(), T::wasock)?;
    instance_network::add_to_linker::<T, WasiSockets>(l, T::wasock)?;
    tcp::add_to_linker::<T, WasiSockets>(l, T::wasock)?;
    tcp_create_socket::add_to_linker::<T, WasiSockets>(l, T::wasock)?;
    udp::add_to_linker::<T, WasiSockets>(l, T::wasock)?;
    udp_create_socket::add_to_linker::<T, WasiSockets>(l, T::wasock)?;
    ip_name_lookup::add_to_linker::<T, WasiSockets>(l, T::wasock)?;
    #[cfg(feature = "wasi-0-3")]
    if l.engine().get_concurrency_support() {
        super::p3::add_to_linker(l)?;
    }
    Ok(())
}

/// Add what a WASI 0.3 guest imports beside WASI 0.2 (which such a guest
/// built with Rust's std imports as well): `wasi:sockets@0.3` served by
/// wasock's socket layer (the instance's provider, policy, limits and
/// counters, as for the other interfaces), and wasmtime-wasi's
/// `wasi:cli`, `wasi:clocks`, `wasi:random` and `wasi:filesystem` at 0.3.
/// Use it beside [`add_wasi_to_linker`] and
/// [`crate::runtime::add_to_linker`], on an engine with component-model
/// concurrency, which 0.2 guests are better off without (every host call
/// pays for it): [`crate::runtime::Runner`] keeps one engine of each kind.
/// Its `wasi:sockets` replace any linked before; the linker is left
/// refusing to shadow definitions.
///
/// ```no_run
/// use wasmtime::component::{Component, Linker};
/// use wasmtime::{Config, Engine, Store};
/// use wasmtime_wasi::p3::bindings::CommandPre;
/// use wasock_host::runtime::{HostState, add_to_linker, add_wasi_0_3_to_linker, add_wasi_to_linker};
///
/// # async fn run(state: HostState) -> anyhow::Result<()> {
/// let mut config = Config::new();
/// config.concurrency_support(true);
/// let engine = Engine::new(&config)?;
/// let mut linker: Linker<HostState> = Linker::new(&engine);
/// add_wasi_to_linker(&mut linker)?;
/// add_to_linker(&mut linker)?;
/// add_wasi_0_3_to_linker(&mut linker)?;
///
/// let component = Component::from_file(&engine, "p3_guest.wasm")?;
/// let pre = CommandPre::new(linker.instantiate_pre(&component)?)?;
/// let mut store = Store::new(&engine, state);
/// let command = pre.instantiate_async(&mut store).await?;
/// // The store drives the guest's tasks until `run` returns.
/// let ran = store
///     .run_concurrent(async |run| command.wasi_cli_run().call_run(run).await)
///     .await??;
/// println!("the guest's run returned {ran:?}");
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "wasi-0-3")]
pub fn add_wasi_0_3_to_linker<T: WasiView + WasockView + 'static>(
    l: &mut Linker<T>,
) -> wasmtime::Result<()> {
    claim_wasi_sockets(l)?;
    wasmtime_wasi::p3::cli::add_to_linker(l)?;
    wasmtime_wasi::p3::clocks::add_to_linker(l)?;
    wasmtime_wasi::p3::random::add_to_linker(l)?;
    wasmtime_wasi::p3::filesystem::add_to_linker(l)?;
    Ok(())
}
