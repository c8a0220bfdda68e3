//! The `wasock` command line: argument parsing and the subcommands. The
//! binary's `main` only calls [`main`].

mod activation;
mod args;
mod check;
mod compose;
mod explain;
mod run;
mod scenario;
mod serve;
mod sim;
mod units;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

pub use args::{
    CheckArgs, Cli, Command, ComposeArgs, ExplainArgs, LimitArgs, PolicyCommand, ProviderArgs,
    RuleArgs, RunArgs, ServeArgs, SimArgs,
};
pub use run::report_counters;
pub use scenario::{HostPlan, Scenario, ScenarioError, component_path, parse_scenario};
pub use sim::simulate;
pub use units::parse_size;

use crate::policy::{Policy, parse_policy_file};
use crate::runtime::{Limits, PinnedNames};

impl RuleArgs {
    /// The policy and pinned names these arguments make: the policy file's
    /// (if any) and the command line's. A bad policy file is an error that
    /// lists every problem in it.
    pub fn load(&self) -> Result<(Policy, PinnedNames), String> {
        let mut policy = Policy::deny_all();
        let mut pinned = PinnedNames::new();
        if let Some(path) = &self.policy_file {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the policy file {shown}: {e}"))?;
            let file = parse_policy_file(&shown, &text).map_err(|e| e.to_string())?;
            policy = file.policy;
            pin_all(&mut pinned, file.pinned)?;
        }
        for rule in self.allow.iter().chain(&self.deny) {
            policy.push(rule.clone());
        }
        pin_all(&mut pinned, self.resolve.iter().cloned())?;
        policy.set_set_by(self.set_by.clone());
        warn_of_refusals_by_name(&policy, &pinned);
        Ok((policy, pinned))
    }
}

/// Say what a refusal by name does not refuse: a guest that connects (or
/// sends, or binds) straight to an address never names it, so only rules
/// on addresses decide that. Operators who write `--deny
/// tcp-connect=metadata.internal:*` mean the machine, not the spelling.
fn warn_of_refusals_by_name(policy: &Policy, pinned: &PinnedNames) {
    use crate::policy::{Effect, HostPattern};
    for rule in policy.rules() {
        let name = match &rule.host {
            HostPattern::Name(n) | HostPattern::Suffix(n) => n,
            _ => continue,
        };
        if rule.effect != Effect::Deny || !rule.operation.takes_address() {
            continue;
        }
        let refuse_too = match pinned.get(name) {
            Some(ips) if matches!(rule.host, HostPattern::Name(_)) && !ips.is_empty() => ips
                .iter()
                .map(|ip| match ip {
                    std::net::IpAddr::V4(v4) => format!("--deny {}={v4}:*", rule.operation),
                    std::net::IpAddr::V6(v6) => format!("--deny {}=[{v6}]:*", rule.operation),
                })
                .collect::<Vec<_>>()
                .join(" "),
            _ => format!(
                "--deny {}=ADDRESS:* for each of its addresses",
                rule.operation
            ),
        };
        let by = match &rule.host {
            HostPattern::Suffix(n) => format!("names ending in .{n}"),
            _ => "that name".to_string(),
        };
        eprintln!(
            "warning: {rule} refuses {op} by {by} and to the addresses the guest resolved from \
             it, not to an address the guest uses without resolving it; to refuse the addresses \
             too, add {refuse_too}",
            op = rule.operation
        );
    }
}

/// Pin names that their parsers checked already (a failure here would be
/// a parser's bug, said rather than ignored).
fn pin_all(
    pinned: &mut PinnedNames,
    pins: impl IntoIterator<Item = (String, Vec<std::net::IpAddr>)>,
) -> Result<(), String> {
    for (name, ips) in pins {
        pinned
            .pin(&name, ips)
            .map_err(|e| crate::policy::pin_refused(&name, &e))?;
    }
    Ok(())
}

impl LimitArgs {
    /// The limits: the defaults, with what the flags set.
    pub fn limits(&self) -> Limits {
        let d = Limits::default();
        let size = |v: Option<u64>, default: usize| {
            v.map(|n| usize::try_from(n).unwrap_or(usize::MAX))
                .unwrap_or(default)
        };
        Limits {
            max_sockets: size(self.max_sockets, d.max_sockets),
            max_recv: size(self.max_recv, d.max_recv),
            max_datagram: size(self.max_datagram, d.max_datagram),
            max_poll_entries: d.max_poll_entries,
            max_buffer_bytes: self.max_buffer.unwrap_or(d.max_buffer_bytes),
            max_memory: size(self.max_memory, d.max_memory),
            max_pending_calls: size(self.max_pending_calls, d.max_pending_calls),
            timeout: self.timeout.or(d.timeout),
            fuel: self.fuel.or(d.fuel),
        }
    }
}

/// A single-threaded tokio runtime, as every guest runs on.
fn single_threaded() -> anyhow::Result<tokio::runtime::Runtime> {
    crate::runtime::single_threaded().context("cannot start the async runtime")
}

/// Run `f` to its end on a fresh single-threaded runtime; `Err(1)` (after
/// saying why) if the runtime cannot start.
fn block_on<F: Future>(f: F) -> Result<F::Output, i32> {
    match single_threaded() {
        Ok(rt) => Ok(rt.block_on(f)),
        Err(e) => {
            eprintln!("error: {e:#}");
            Err(1)
        }
    }
}

/// The compilation cache a front end chose with [`use_compile_cache`]:
/// `Some(None)` when its directory cannot be used (no cache then).
static CHOSEN_CACHE: std::sync::OnceLock<Option<wasmtime::Cache>> = std::sync::OnceLock::new();

/// Say (at `info`, target `wasock::cache`) whether `component` came from
/// the chosen compilation cache or was compiled.
fn report_cache(component: &std::path::Path) {
    if let Some(Some(cache)) = CHOSEN_CACHE.get() {
        let how = if cache.cache_misses() == 0 && cache.cache_hits() > 0 {
            "taken from the compilation cache"
        } else {
            "compiled"
        };
        tracing::info!(
            target: "wasock::cache",
            hits = cache.cache_hits(),
            misses = cache.cache_misses(),
            "{}: {how}",
            component.display()
        );
    }
}

/// Keep compiled components in `dir` (wasmtime's compilation cache), for
/// every command run in this process from now on, instead of wasmtime's
/// default cache (configured in `$HOME/.config/wasmtime/config.toml`). A
/// directory that cannot be written is still read. Only the first call
/// counts.
pub fn use_compile_cache(dir: std::path::PathBuf) {
    CHOSEN_CACHE.get_or_init(|| {
        let mut config = wasmtime::CacheConfig::new();
        config.with_directory(dir);
        wasmtime::Cache::new(config).ok()
    });
}

/// Compile the component of a `run` or `serve` command on the engine that
/// command would make, so that wasmtime's compilation cache
/// ([`use_compile_cache`]) holds it for the next run; nothing runs.
pub fn precompile(command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => run::load(args).map(drop),
        Command::Serve(args) => serve::load(args).map(drop),
        _ => anyhow::bail!("only run and serve commands compile a component"),
    }
}

/// A runner on `config` for instances with `limits` (counting fuel only if
/// a fuel limit asks), with wasmtime's compilation cache on.
fn runner_for(
    mut config: wasmtime::Config,
    limits: &Limits,
) -> anyhow::Result<crate::runtime::Runner> {
    let cache = match CHOSEN_CACHE.get() {
        Some(chosen) => chosen.clone(),
        None => wasmtime::Cache::from_file(None).ok(),
    };
    config.cache(cache);
    if limits.fuel.is_some() {
        crate::runtime::Runner::with_fuel(&config)
    } else {
        crate::runtime::Runner::with_config(&config)
    }
}

/// Give the memory that compiling or loading the component freed back to
/// the system (glibc keeps freed memory of other threads' arenas resident):
/// a guest that then idles for hours, as a server or a container does,
/// would otherwise hold several MiB it no longer uses.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only returns free pages.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Log to stderr; `directives` (`RUST_LOG`'s syntax; the `RUST_LOG`
/// variable when `None`) choose what, by default warnings, which include
/// every policy denial. Directives for some targets add to the default
/// (`wasock::stats=info` logs the counters and still every warning); only
/// a level for everything (`info`, `error`) replaces it. Does nothing if a
/// logger is already set.
pub fn init_tracing(directives: Option<&str>) {
    let directives = match directives {
        Some(d) => Some(d.to_string()),
        None => std::env::var("RUST_LOG").ok(),
    };
    let filter = directives
        .filter(|d| !d.trim().is_empty())
        .map(|d| with_default_level(&d))
        .and_then(|d| tracing_subscriber::EnvFilter::try_new(d).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    let _already_set = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}

/// What is logged when nothing says otherwise.
const DEFAULT_LOG: &str = "warn";

/// `directives` with [`DEFAULT_LOG`] in front, unless one of them sets a
/// level for every target itself.
fn with_default_level(directives: &str) -> String {
    // (An empty item parses as a level, but EnvFilter skips it.)
    let sets_the_level = directives
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .any(|d| d.parse::<tracing_subscriber::filter::LevelFilter>().is_ok());
    if sets_the_level {
        directives.to_string()
    } else {
        format!("{DEFAULT_LOG},{directives}")
    }
}

/// Run a subcommand to its end, as the `wasock` binary does: its exit
/// status (2 for bad arguments, else the guest's or the server's).
/// Front ends other than the binary (the containerd shim) call this with a
/// command they parsed with [`Cli`].
pub fn execute(command: Command) -> i32 {
    match command {
        Command::Run(args) => run::main(args),
        Command::Serve(args) => serve::main(args),
        Command::Policy(PolicyCommand::Explain(args)) => explain::main(&args),
        Command::Policy(PolicyCommand::Check(args)) => check::main(&args),
        Command::Sim(args) => sim::main(args),
        Command::Compose(args) => compose::main(&args),
    }
}

/// Run the command line: parse arguments (exit 2 on a bad one, before
/// anything runs), then the subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        // `wasock app.wasm`: the subcommand left out.
        if e.kind() == clap::error::ErrorKind::InvalidSubcommand
            && let Some(first) = std::env::args().nth(1)
            && first.ends_with(".wasm")
        {
            eprintln!("error: `{first}` is not a wasock command; to run it: wasock run {first}");
            std::process::exit(2);
        }
        // wasmtime's `-S inherit-network` (or `-S tcp`, ...): not a switch here.
        if e.kind() == clap::error::ErrorKind::UnknownArgument
            && let Some(s) = std::env::args().find(|a| a.starts_with("-S"))
        {
            eprintln!(
                "error: wasock has no `{s}` (wasmtime's WASI switches): a guest's network is what \
                 --allow rules grant, one operation and address at a time, e.g. --allow \
                 'tcp-connect=127.0.0.1:*' (see wasock run --help)"
            );
            std::process::exit(2);
        }
        e.exit()
    });
    init_tracing(None);
    let code = execute(cli.command);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `n` things, in words: `1 connection`, `2 connections`.
fn counted(n: u64, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

#[cfg(test)]
mod log_tests {
    use super::with_default_level;

    #[test]
    fn directives_for_some_targets_add_to_the_default_level() {
        assert_eq!(
            with_default_level("wasock::stats=info"),
            "warn,wasock::stats=info"
        );
        // Empty items (a stray comma) are not a level.
        assert_eq!(
            with_default_level("wasock::stats=info,"),
            "warn,wasock::stats=info,"
        );
        assert_eq!(
            with_default_level(",wasock::stats=info,,wasmtime=error"),
            "warn,,wasock::stats=info,,wasmtime=error"
        );
    }

    #[test]
    fn a_level_for_every_target_replaces_it() {
        for d in ["info", "error,wasock::stats=info", "OFF", " debug "] {
            assert_eq!(with_default_level(d), d);
        }
    }
}
