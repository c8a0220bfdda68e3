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
/// `network-error-code` is linked too.
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
    Ok(())
}
