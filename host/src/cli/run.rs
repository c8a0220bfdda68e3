//! `wasock run`.

use std::sync::Arc;

use anyhow::Context as _;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::args::{Profile, RunArgs};
use super::compose::Loaded;
use crate::policy::{Policy, SetBy};
use crate::runtime::{
    ComponentProvider, GuestExit, HostState, Limits, NotACommand, PinnedNames, Runner, StatsHandle,
    WasockCtx,
};

/// The counters of the guest `wasock run` runs in this process, for
/// [`report_counters`].
static COUNTERS: std::sync::Mutex<Option<StatsHandle>> = std::sync::Mutex::new(None);

/// Log (at `info`, target `wasock::stats`) the policy counters of the
/// guest `wasock run` runs in this process, if one has started and they
/// were not logged yet. `run` does it when the guest ends; a front end that
/// stops the guest before (the containerd shim, on SIGTERM) calls it
/// itself.
pub fn report_counters() {
    let counters = COUNTERS.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(counters) = counters {
        tracing::info!(target: "wasock::stats", "counters: {}", counters.snapshot());
    }
}

/// Run the guest; its exit status becomes ours. Errors before it runs exit
/// with 1 and say why on stderr.
pub fn main(args: RunArgs) -> i32 {
    let (policy, pinned) = match args.rules.load() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let set_by = policy.set_by().clone();
    // One guest is one task: a single-threaded runtime runs it without
    // handing work between threads (which costs a wake-up per blocking
    // call); name lookups still go to tokio's blocking pool.
    let result = match super::block_on(run(args, policy, pinned)) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match result {
        Ok(GuestExit::Exited(code)) => code,
        Ok(exit) => {
            eprintln!("error: {}", exit.describe_for(&set_by));
            match exit.backtrace() {
                Some(trace) if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") => {
                    eprintln!("{trace}");
                }
                Some(_) => eprintln!("(RUST_BACKTRACE=1 shows the wasm backtrace)"),
                None => {}
            }
            exit.code()
        }
        Err(e) => {
            let how = e
                .downcast_ref::<NotACommand>()
                .map(|kind| how_to_run(*kind, &set_by))
                .unwrap_or_default();
            eprintln!("error: {e:#}{how}");
            1
        }
    }
}

/// How a component that is not a command is run, where the user sets
/// what wasock runs.
fn how_to_run(kind: NotACommand, set_by: &SetBy) -> String {
    match (kind, set_by) {
        (NotACommand::Handler, SetBy::Flags) => "; serve it with `wasock serve`".into(),
        (NotACommand::Handler, SetBy::Annotations(prefix)) => {
            format!("; serve it: set the {prefix}mode annotation to serve")
        }
        (NotACommand::Provider, SetBy::Flags) => {
            "; run an app on it with `wasock run --provider PROVIDER APP`".into()
        }
        (NotACommand::Provider, SetBy::Annotations(prefix)) => {
            format!("; name it in the {prefix}provider annotation, with an app as the component")
        }
        _ => String::new(),
    }
}

/// The runner `run` makes for these arguments, and what it runs compiled
/// on it.
pub(super) fn load(args: &RunArgs) -> anyhow::Result<(Runner, Loaded)> {
    let mut config = Runner::default_config();
    if let Some(Profile::Perfmap) = args.profile {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let runner = super::runner_for(config, &args.limits.limits())?;
    let loaded =
        super::compose::load_for_run(&runner, args.component(), &args.providers.providers)?;
    super::report_cache(args.component());
    Ok((runner, loaded))
}

async fn run(args: RunArgs, policy: Policy, pinned: PinnedNames) -> anyhow::Result<GuestExit> {
    let policy = Arc::new(policy);
    let limits = args.limits.limits();
    let (runner, loaded) = load(&args)?;
    let pre = runner
        .prepare(&loaded.app)
        .with_context(|| format!("cannot run {}", args.component().display()))?;
    super::release_freed_memory();

    let mut wasi = WasiCtxBuilder::new();
    wasi.inherit_stdio();
    let argv0 = args
        .component()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    wasi.arg(argv0);
    wasi.args(args.args());
    wasi.envs(&args.env);
    let dirs = args.dirs.iter().map(|d| (d, FsPerms::ReadWrite, "--dir"));
    let read_dirs = args
        .read_dirs
        .iter()
        .map(|d| (d, FsPerms::ReadOnly, "--read-dir"));
    for ((host, guest), perms, flag) in dirs.chain(read_dirs) {
        if let Err(e) = wasi.preopened_dir(host, guest, perms) {
            anyhow::bail!(
                "cannot give the guest the directory {} ({flag}): {e}; is it a directory this \
                 user can open?",
                host.display()
            );
        }
    }
    let mut wasock = WasockCtx::builder()
        .policy(policy.clone())
        .limits(limits)
        .pinned_names(Arc::new(pinned))
        // The guest has this thread to itself, unless it is a WASI 0.3
        // guest, whose tasks share it.
        .wait_in_place(!runner.is_wasi_0_3(&loaded.app));
    if let Some(providers) = &loaded.providers {
        // A standard guest on provider components: the host serves its
        // sockets from theirs. The providers see the environment (their
        // settings) and write to stderr, as a composed one would; the same
        // policy and limits hold for what they do below, but for fuel: it
        // is the guest's to spend.
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stderr().envs(&args.env);
        let below = WasockCtx::builder()
            .policy(policy)
            .limits(Limits {
                fuel: None,
                ..limits
            })
            .build();
        let provider = ComponentProvider::start(&runner, providers, HostState::new(wasi, below))
            .with_context(|| {
                format!(
                    "cannot start the provider {}",
                    args.providers.providers[0].display()
                )
            })?;
        wasock = wasock.provider(Arc::new(provider));
    }
    let wasock = wasock.build();
    *COUNTERS.lock().unwrap_or_else(|e| e.into_inner()) = Some(wasock.stats());
    let exit = runner.run(&pre, HostState::new(wasi, wasock)).await;
    report_counters();
    Ok(exit)
}
