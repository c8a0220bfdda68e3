//! `containerd-shim-wasock-v1`: containerd finds it on its `PATH` for the
//! runtime `io.containerd.wasock.v1`.

use containerd_shim_wasm::shim::Cli as _;
use containerd_shim_wasock::sandbox::WasockShim;
use containerd_shim_wasock::{bundle, precompile};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, bundle] = args.as_slice()
        && flag == precompile::FLAG
    {
        // Nobody reads this process's output; a failure only means the
        // container compiles its component itself.
        let ok = precompile::run(bundle.as_ref(), &precompile::host_cache_dir()).is_ok();
        std::process::exit(i32::from(!ok));
    }
    if bundle::is_start(&args) {
        // containerd runs `start` in the container's bundle directory.
        let here = std::env::current_dir().unwrap_or_default();
        let cache = precompile::host_cache_dir();
        let cache = std::fs::create_dir_all(&cache)
            .is_ok()
            .then_some(cache.as_path());
        if let Err(e) = bundle::carry_settings(&here, cache) {
            // Without its annotations the container would lose their
            // refusals too: refuse to start it instead.
            eprintln!("wasock: cannot read the container's annotations: {e:#}");
            std::process::exit(1);
        }
        if cache.is_some() {
            // Best effort: without it the next container compiles again.
            let _ = precompile::spawn(&here);
        }
    }
    WasockShim::run(None);
}
