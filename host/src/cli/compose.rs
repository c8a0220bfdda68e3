//! `wasock compose`, and the `--provider` flag of `run`, `serve` and `sim`:
//! an app composed on top of provider components before it is compiled.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use wasmtime::component::Component;

use super::args::ComposeArgs;
use crate::runtime::Runner;
use crate::runtime::compose::{ComposeError, compose_files};

/// What `wasock run` runs: the app (composed on its providers if it
/// imports wasock's interface), and, for a standard guest (`wasi:sockets`
/// 0.2 or 0.3, which composition cannot reach), the stack of provider
/// components the host serves its sockets from instead.
pub struct Loaded {
    /// The component to run.
    pub app: Component,
    /// The providers, composed into one component (the first nearest the
    /// app), to start as a [`crate::runtime::ComponentProvider`].
    pub providers: Option<Component>,
}

/// Compile `app` for `wasock run`: composed on `providers` if it imports
/// wasock's interface; otherwise, with the providers composed into one
/// component beside it.
pub fn load_for_run(runner: &Runner, app: &Path, providers: &[PathBuf]) -> anyhow::Result<Loaded> {
    match load(runner, app, providers) {
        Ok(app) => Ok(Loaded {
            app,
            providers: None,
        }),
        Err(e) if matches!(e.downcast_ref(), Some(ComposeError::NothingToServe { .. })) => {
            // The nearest provider composed on the others (alone, as it is).
            let (nearest, below) = providers.split_first().context("no provider given")?;
            let stack = compose_files(nearest, below)?;
            let stack = runner
                .compile(&stack)
                .with_context(|| format!("cannot load the provider {}", nearest.display()))?;
            Ok(Loaded {
                app: runner.load(app)?,
                providers: Some(stack),
            })
        }
        Err(e) => Err(e),
    }
}

/// Compile `app`, composed on `providers` if any are given.
pub fn load(runner: &Runner, app: &Path, providers: &[PathBuf]) -> anyhow::Result<Component> {
    if providers.is_empty() {
        return runner.load(app);
    }
    let bytes = compose_files(app, providers)?;
    let layers = providers
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" on ");
    let component = runner
        .compile(&bytes)
        .with_context(|| format!("cannot load {} composed on {layers}", app.display()))?;
    // Composition reaches wasock's interface only: standard sockets the
    // app also opens are the host's, beside the providers.
    let standard = component
        .component_type()
        .imports(component.engine())
        .any(|(name, _)| name.starts_with("wasi:sockets/"));
    if standard {
        tracing::warn!(
            target: "wasock::provider",
            "{} also imports standard wasi:sockets; those sockets are served by the host directly, not by {layers}",
            app.display()
        );
    }
    Ok(component)
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
