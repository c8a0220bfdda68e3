//! `containerd-shim-wasock-v1`: containerd finds it on its `PATH` for the
//! runtime `io.containerd.wasock.v1`.

use containerd_shim_wasm::shim::Cli as _;
use containerd_shim_wasock::bundle;
use containerd_shim_wasock::sandbox::WasockShim;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if bundle::is_start(&args) {
        // containerd runs `start` in the container's bundle directory.
        let here = std::env::current_dir().unwrap_or_default();
        if let Err(e) = bundle::carry_settings(&here) {
            // Without its annotations the container would lose their
            // refusals too: refuse to start it instead.
            eprintln!("wasock: cannot read the container's annotations: {e:#}");
            std::process::exit(1);
        }
    }
    WasockShim::run(None);
}
