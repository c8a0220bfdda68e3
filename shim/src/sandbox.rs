//! wasock as a runwasi engine: [`WasockShim`] names the shim, and
//! [`WasockSandbox`] runs a container's component, inside the container
//! runwasi made for it, as `wasock run` or `wasock serve` would.

use std::path::Path;

use anyhow::Context as _;
use clap::Parser as _;
use containerd_shim_wasm::sandbox::Sandbox;
use containerd_shim_wasm::sandbox::context::{RuntimeContext, Source, WasmBinaryType};
use containerd_shim_wasm::shim::{Shim, Version, version};
use tokio::signal::unix::{SignalKind, signal};
use wasock_host::cli::{Cli, Command, RuleArgs, execute, init_tracing};
use wasock_host::policy::{Effect, RuleSource, SetBy};

use crate::settings::{ANNOTATION_PREFIX, Mode};

/// What the shim writes last when a signal stops a command, before the
/// signal's number (its exit status is then 128 + that number).
pub const STOPPING_ON_SIGNAL: &str = "wasock: stopping the guest on signal ";

/// The exit status of a container whose settings or policy are refused
/// before the guest runs (as `wasock` exits on bad arguments).
pub const BAD_SETTINGS: i32 = 2;

/// The shim: runtime `io.containerd.wasock.v1`, binary
/// `containerd-shim-wasock-v1`.
pub struct WasockShim;

impl Shim for WasockShim {
    fn name() -> &'static str {
        "wasock"
    }

    fn version() -> Version {
        version!()
    }

    type Sandbox = WasockSandbox;

    async fn compiler() -> Option<impl containerd_shim_wasm::shim::Compiler> {
        Some(crate::precompile::LayerCompiler)
    }
}

/// Runs one container's component. It is made inside the container's
/// process, after runwasi set up its namespaces and root file system.
#[derive(Default)]
pub struct WasockSandbox;

impl Sandbox for WasockSandbox {
    async fn run_wasi(&self, ctx: &impl RuntimeContext) -> anyhow::Result<i32> {
        // First, so that no signal is lost while the component compiles: as
        // the container's first process, it would otherwise be ignored.
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let component = match component_path(ctx.entrypoint().source) {
            Ok(path) => path,
            Err(e) => {
                eprintln!("wasock: cannot start this container: {e:#}");
                return Ok(BAD_SETTINGS);
            }
        };
        let guest_args = ctx.args().get(1..).unwrap_or_default().to_vec();
        let prepared = match prepare(&component, &guest_args, ctx.envs()) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("wasock: cannot start this container: {e:#}");
                return Ok(BAD_SETTINGS);
            }
        };
        let (mode, drain) = (prepared.mode, prepared.drain);
        // runwasi runs this on its own tokio runtime; wasock runs a guest on
        // a single-threaded runtime of its own, so the guest gets a thread.
        let (done_tx, mut done_rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("wasock-guest".into())
            .spawn(move || {
                let _ = done_tx.send(execute(prepared.command));
            })
            .context("cannot start the guest's thread")?;
        let finished = |status: Result<i32, _>| match status {
            Ok(code) => code,
            Err(_) => {
                eprintln!("wasock: the host failed while running the guest (a bug in wasock)");
                101
            }
        };
        let signal = tokio::select! {
            status = &mut done_rx => return Ok(finished(status)),
            _ = term.recv() => libc_signal::SIGTERM,
            _ = int.recv() => libc_signal::SIGINT,
        };
        if mode == Mode::Serve {
            // `wasock serve` handles the signal too once it listens: it stops
            // accepting and drains running instances, then exits. If the
            // signal came before, it ends here after the drain time.
            if let Ok(status) = tokio::time::timeout(drain + DRAIN_MARGIN, &mut done_rx).await {
                return Ok(finished(status));
            }
        }
        // A command has no way to be told to stop: it ends here, with the
        // status of a process ended by the signal.
        wasock_host::cli::report_counters();
        eprintln!("{STOPPING_ON_SIGNAL}{signal}");
        Ok(128 + signal)
    }

    async fn can_handle(&self, ctx: &impl RuntimeContext) -> anyhow::Result<()> {
        let bytes = ctx.entrypoint().source.as_bytes()?;
        match WasmBinaryType::from_bytes(&bytes) {
            Some(WasmBinaryType::Component) => Ok(()),
            Some(WasmBinaryType::Module) => anyhow::bail!(
                "the entrypoint is a core WebAssembly module; wasock runs components (wasm32-wasip2)"
            ),
            None => anyhow::bail!("the entrypoint is not WebAssembly"),
        }
    }
}

/// Signal numbers as Linux has them (the exit status of a process ended
/// by one is 128 + its number).
mod libc_signal {
    pub const SIGINT: i32 = 2;
    pub const SIGTERM: i32 = 15;
}

/// How much longer than the drain time serve mode may take to end after a
/// signal before it is ended.
const DRAIN_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Where the component to run is: its file, or, for an image that keeps it
/// in a wasm layer (runwasi's other kind), a file written from that layer.
fn component_path(source: Source<'_>) -> anyhow::Result<std::path::PathBuf> {
    match source {
        Source::File(path) => Ok(path),
        Source::Oci(layers) => {
            let [layer] = layers else {
                anyhow::bail!(
                    "the image has {} wasm layers; wasock runs one component",
                    layers.len()
                );
            };
            let dir = std::env::temp_dir();
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("wasock-component.wasm");
            std::fs::write(&path, &layer.layer)
                .with_context(|| format!("cannot write the wasm layer to {}", path.display()))?;
            Ok(path)
        }
    }
}

/// A container ready to run: the command and how it runs.
struct Prepared {
    command: Command,
    mode: Mode,
    /// Serve mode's drain time.
    drain: std::time::Duration,
}

/// Read the container's settings, make and check the `wasock` command,
/// and say on the container's log which policy it runs under.
fn prepare(component: &Path, guest_args: &[String], env: &[String]) -> anyhow::Result<Prepared> {
    let settings = crate::bundle::settings_in_container()?;
    init_tracing(Some(&settings.log_directives()));
    // Only the host's cache, which the start step mounted: a folder the
    // image or a volume put there could hold machine code of anyone's.
    if crate::bundle::is_mount_point(crate::bundle::CACHE_IN_CONTAINER) {
        wasock_host::cli::use_compile_cache(crate::bundle::CACHE_IN_CONTAINER.into());
    }
    let mode = settings.mode()?;
    let argv = settings.command_line(component, guest_args, env, Path::exists)?;
    let mut cli = Cli::try_parse_from(&argv).map_err(|e| {
        anyhow::anyhow!("{}", e.render().to_string().trim_end()).context(format!(
            "the container's wasock settings make the command line `{}`",
            argv.join(" ")
        ))
    })?;
    let (rules, drain) = match &mut cli.command {
        Command::Run(args) => (&mut args.rules, std::time::Duration::ZERO),
        Command::Serve(args) => (&mut args.rules, args.drain_timeout),
        _ => anyhow::bail!("the container's settings make neither a run nor a serve command"),
    };
    // Advice names the container's annotations, not flags its user never
    // typed.
    rules.set_by = SetBy::Annotations(ANNOTATION_PREFIX.to_string());
    eprintln!("{}", describe_policy(rules).map_err(anyhow::Error::msg)?);
    Ok(Prepared {
        command: cli.command,
        mode,
        drain,
    })
}

/// The effective policy, a rule a line, each with where it came from.
fn describe_policy(rules: &RuleArgs) -> Result<String, String> {
    let (policy, pinned) = rules.load()?;
    let mut text = String::from("wasock: policy (deny by default; a refusal always wins):");
    if policy.rules().is_empty() {
        text.push_str(" no rules: every network operation is refused");
    }
    for rule in policy.rules() {
        let effect = match rule.effect {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        };
        let from = match &rule.source {
            RuleSource::File { path, line, .. } => format!("{path}:{line}"),
            RuleSource::CommandLine => "annotation".to_string(),
            RuleSource::Code => "code".to_string(),
        };
        text.push_str(&format!("\n  {effect} {} ({from})", rule.text));
    }
    let mut pinned: Vec<_> = pinned.iter().collect();
    pinned.sort();
    for (name, ips) in pinned {
        let ips: Vec<String> = ips.iter().map(ToString::to_string).collect();
        text.push_str(&format!("\n  resolve {name} to {}", ips.join(", ")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use containerd_shim_wasm::sandbox::context::WasmLayer;

    #[test]
    fn a_wasm_layer_is_run_from_a_file_of_its_bytes() {
        let layer: WasmLayer = serde_json::from_value(serde_json::json!({
            "config": {
                "mediaType": crate::image::WASM_LAYER_MEDIA_TYPE,
                "digest": format!("sha256:{}", "0".repeat(64)),
                "size": 8,
            },
            "precompiled": false,
            "layer": b"\0asm\x0d\0\x01\0".to_vec(),
        }))
        .unwrap();
        let path = component_path(Source::Oci(std::slice::from_ref(&layer))).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), layer.layer);
        std::fs::remove_file(&path).unwrap();
        // One component per container.
        let two = [layer.clone(), layer];
        let err = component_path(Source::Oci(&two)).unwrap_err();
        assert!(err.to_string().contains("2 wasm layers"), "{err}");
    }
}
