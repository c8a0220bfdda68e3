//! `containerd-shim-wasock-v1`: containerd finds it on its `PATH` for the
//! runtime `io.containerd.wasock.v1`.

use containerd_shim_wasm::shim::Cli as _;
use containerd_shim_wasock::sandbox::WasockShim;
use containerd_shim_wasock::{bundle, precompile};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, bundle, rest @ ..] = args.as_slice()
        && flag == precompile::FLAG
    {
        let layer = match rest {
            [] => None,
            [flag, file] if flag == precompile::LAYER_FLAG => Some(std::path::Path::new(file)),
            _ => std::process::exit(2),
        };
        // Nobody reads this process's output; a failure only means the
        // next container compiles its component itself.
        let ok = precompile::run(bundle.as_ref(), &precompile::host_cache_dir(), layer).is_ok();
        std::process::exit(i32::from(!ok));
    }
    if let Some(here) = bundle::start_bundle(&args) {
        let cache = precompile::host_cache_dir();
        let cache = std::fs::create_dir_all(&cache)
            .is_ok()
            .then_some(cache.as_path());
        if let Err(e) = bundle::prepare(&here, cache) {
            // The container would not run unprepared anyway (the sandbox
            // refuses it); say why here, where containerd logs a failed start.
            eprintln!("wasock: cannot prepare the container: {e:#}");
            std::process::exit(1);
        }
        if cache.is_some() {
            // Best effort: without it the next container compiles again.
            let _ = precompile::spawn(&here);
        }
    }
    WasockShim::run(None);
}
