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
use wasock_host::policy::{Effect, RuleSource};

use crate::settings::{ContainerSettings, Mode};

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
}

/// Runs one container's component. It is made inside the container's
/// process, after runwasi set up its namespaces and root file system.
#[derive(Default)]
pub struct WasockSandbox;

impl Sandbox for WasockSandbox {
    async fn run_wasi(&self, ctx: &impl RuntimeContext) -> anyhow::Result<i32> {
        let entry = ctx.entrypoint();
        let component = match entry.source {
            Source::File(path) => path,
            Source::Oci(_) => {
                eprintln!(
                    "wasock: this image keeps its component in a wasm layer, which wasock's shim does not run yet; build a plain image whose entrypoint is the .wasm file (wasock-image)"
                );
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
        let mode = prepared.mode;
        // runwasi runs this on its own tokio runtime; wasock runs a guest on
        // a single-threaded runtime of its own, so the guest gets a thread.
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("wasock-guest".into())
            .spawn(move || {
                let _ = done_tx.send(execute(prepared.command));
            })
            .context("cannot start the guest's thread")?;
        if mode == Mode::Serve {
            // `wasock serve` handles SIGTERM and SIGINT itself: it stops
            // accepting and drains running instances, then exits.
            return done_rx
                .await
                .context("the guest's thread ended without a status");
        }
        // A command has no way to be told to stop: as the container's
        // first process it would ignore SIGTERM, so it ends here, with
        // the status of a process ended by that signal.
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            status = done_rx => status.context("the guest's thread ended without a status"),
            _ = term.recv() => {
                eprintln!("wasock: stopping the guest on SIGTERM");
                Ok(128 + libc_signal::SIGTERM)
            }
            _ = int.recv() => {
                eprintln!("wasock: stopping the guest on SIGINT");
                Ok(128 + libc_signal::SIGINT)
            }
        }
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

/// A container ready to run: the command and how it runs.
struct Prepared {
    command: Command,
    mode: Mode,
}

/// Read the container's settings, make and check the `wasock` command,
/// and say on the container's log which policy it runs under.
fn prepare(component: &Path, guest_args: &[String], env: &[String]) -> anyhow::Result<Prepared> {
    let (settings, guest_env) = ContainerSettings::from_env(env)?;
    let log = guest_env
        .iter()
        .find_map(|v| v.strip_prefix("RUST_LOG="))
        .map(str::to_string);
    init_tracing(log.as_deref());
    let cache = Path::new(crate::bundle::CACHE_IN_CONTAINER);
    if cache.is_dir() {
        wasock_host::cli::use_compile_cache(cache.to_path_buf());
    }
    let mode = settings.mode()?;
    let argv = settings.command_line(component, guest_args, &guest_env, Path::exists)?;
    let cli = Cli::try_parse_from(&argv).map_err(|e| {
        anyhow::anyhow!("{}", e.render().to_string().trim_end()).context(format!(
            "the container's wasock settings make the command line `{}`",
            argv.join(" ")
        ))
    })?;
    let rules = match &cli.command {
        Command::Run(args) => &args.rules,
        Command::Serve(args) => &args.rules,
        _ => unreachable!("settings make run or serve commands only"),
    };
    eprintln!("{}", describe_policy(rules).map_err(anyhow::Error::msg)?);
    Ok(Prepared {
        command: cli.command,
        mode,
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
