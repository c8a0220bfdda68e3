//! `wasock compose`, and the `--provider` flag of `run`, `serve` and `sim`:
//! an app composed on top of provider components before it is compiled.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use wasmtime::component::Component;

use super::args::ComposeArgs;
use crate::runtime::Runner;
use crate::runtime::compose::{Named, compose};

/// Read a file, saying which one could not be read.
fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}

/// The bytes of `app` composed on `providers` (the first nearest the app).
pub fn composed(app: &Path, providers: &[PathBuf]) -> anyhow::Result<Vec<u8>> {
    let app_bytes = read(app, "component")?;
    let provider_bytes = providers
        .iter()
        .map(|p| read(p, "provider"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let app_name = app.display().to_string();
    let provider_names: Vec<String> = providers.iter().map(|p| p.display().to_string()).collect();
    let layers: Vec<Named<'_>> = provider_names
        .iter()
        .zip(&provider_bytes)
        .map(|(name, bytes)| Named { name, bytes })
        .collect();
    Ok(compose(
        Named {
            name: &app_name,
            bytes: &app_bytes,
        },
        &layers,
    )?)
}

/// Compile `app`, composed on `providers` if any are given.
pub fn load(runner: &Runner, app: &Path, providers: &[PathBuf]) -> anyhow::Result<Component> {
    if providers.is_empty() {
        return runner.load(app);
    }
    let bytes = composed(app, providers)?;
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
    let result = composed(&args.component, &args.providers.providers).and_then(|bytes| {
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
