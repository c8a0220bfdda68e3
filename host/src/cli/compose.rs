//! `wasock compose`, and the `--provider` flag of `run`, `serve` and `sim`:
//! an app composed on top of provider components before it is compiled.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use wasmtime::component::Component;

use super::args::ComposeArgs;
use crate::runtime::Runner;
use crate::runtime::compose::compose_files;

/// Compile `app`, composed on `providers` if any are given.
pub fn load(runner: &Runner, app: &Path, providers: &[PathBuf]) -> anyhow::Result<Component> {
    if providers.is_empty() {
        return runner.load(app);
    }
    let bytes = compose_files(app, providers)?;
    runner.compile(&bytes).with_context(|| {
        format!(
            "cannot load {} composed on {}",
            app.display(),
            providers
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" on ")
        )
    })
}

/// Write the composition; exit 0, or 1 after saying what failed (2 without
/// a provider).
pub fn main(args: &ComposeArgs) -> i32 {
    if args.providers.providers.is_empty() {
        eprintln!(
            "error: nothing to compose: give at least one --provider PROVIDER.wasm to put under {}",
            args.component.display()
        );
        return 2;
    }
    let result = compose_files(&args.component, &args.providers.providers)
        .map_err(anyhow::Error::from)
        .and_then(|bytes| {
            std::fs::write(&args.output, bytes)
                .with_context(|| format!("cannot write {}", args.output.display()))
        });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}
