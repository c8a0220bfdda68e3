//! Command-line arguments of the `wasock` binary.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use super::units::{parse_count, parse_duration, parse_memory_size, parse_positive_size};
use crate::policy::{Effect, Rule, SetBy, normalize_name, pin_refused};

/// Run WebAssembly components with Berkeley/Windows-Sockets networking,
/// every address checked against a deny-by-default policy.
#[derive(Debug, Parser)]
#[command(name = "wasock", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a guest component (a `wasm32-wasip2` program) to its end.
    #[command(
        after_help = RUN_EXAMPLES,
        override_usage = "wasock run [OPTIONS] <COMPONENT> [ARGS]..."
    )]
    Run(RunArgs),
    /// Serve connections: the host listens, and each accepted connection is
    /// handed to a fresh instance of a connection-handler component.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Explain or check policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run a scenario's guests on a simulated network (deterministic:
    /// virtual time, seeded faults) and print the transcript.
    #[command(after_help = SIM_EXAMPLES)]
    Sim(SimArgs),
    /// Compose an app on top of provider components and write the result:
    /// one component, which `wasock run` runs like any guest and stock
    /// tools can inspect.
    #[command(after_help = COMPOSE_EXAMPLES)]
    Compose(ComposeArgs),
}

const COMPOSE_EXAMPLES: &str = "\
A provider exports the wasock socket interfaces (world wasock:sockets/provider,
or wasock:sockets/layer for one that uses the layer below); the first one given
sits nearest the app. `wasock run --provider` does the same before running.

Example:
  cargo build --release --target wasm32-wasip2 -p provider-tap -p tcp-echo
  wasock compose -o echo-tapped.wasm \\
      --provider target/wasm32-wasip2/release/provider_tap.wasm \\
      target/wasm32-wasip2/release/tcp-echo.wasm";

/// Provider components to compose the app with.
#[derive(Debug, Args, Default, Clone)]
pub struct ProviderArgs {
    /// A provider component to run the app on (repeatable: the first one
    /// given sits nearest the app, each on top of the next, the last on the
    /// host). E.g. `--provider provider_tap.wasm`.
    #[arg(long = "provider", value_name = "PROVIDER.wasm")]
    pub providers: Vec<PathBuf>,
}

/// Arguments of `wasock compose`.
#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// Where to write the composed component.
    #[arg(short, long, value_name = "OUT.wasm")]
    pub output: PathBuf,

    /// The providers.
    #[command(flatten)]
    pub providers: ProviderArgs,

    /// The app component.
    #[arg(value_name = "APP.wasm")]
    pub component: PathBuf,
}

const SIM_EXAMPLES: &str = "\
A scenario (TOML) names hosts (name, addrs, component, args, env, allow/deny
rules, start, daemon, count), a [default-link] and [[link]]s between hosts
(latency, jitter, bandwidth, loss, duplicate, reorder), [[partition]]s
(a, b, start, heal, one-way), [[crash]]es (host, at, restart), [[clock]]
skews of a host's wall clock (host, at, offset, restore), [[pause]]s of a
host's guest (host, at, resume), a [nemesis] that
draws such faults from the seed (faults, hosts, start, stop, every, lasting,
skew; several [[nemesis]] overlap), [names], a seed and `until` (the
virtual deadline).
A component given by a bare name is GUEST_DIR/NAME.wasm. Ctrl-C stops the
run and prints the transcript so far (exit 130).

Example:
  cargo build --release --target wasm32-wasip2 -p udp-echo -p sim-guests
  wasock sim examples/sim/udp-faults.toml --seed 7
  wasock sim examples/sim/tcp-nemesis.toml --seed 3 --quiet";

/// Arguments of `wasock sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// The seed, instead of the scenario's. The same seed gives the same
    /// transcript, byte for byte.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// The virtual deadline, instead of the scenario's `until`. E.g.
    /// `--until 10m`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub until: Option<Duration>,

    /// Also write the transcript as JSON lines to FILE.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Where components named by a bare name are
    /// [default: target/wasm32-wasip2/release].
    #[arg(
        long,
        value_name = "DIR",
        default_value = "target/wasm32-wasip2/release",
        hide_default_value = true
    )]
    pub guest_dir: PathBuf,

    /// Providers every guest of the scenario runs on.
    #[command(flatten)]
    pub providers: ProviderArgs,

    /// Leave each datagram's fate out of the transcript (connections,
    /// resets and partitions stay).
    #[arg(long)]
    pub quiet: bool,

    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
}

const SERVE_EXAMPLES: &str = "\
The component exports wasock:sockets/handler (see wasock::export_connection_handler!,
or export_async_connection_handler! for an async one, which hyper can serve:
examples/hyper-handler). Only peers granted tcp-accept are handed to an
instance; the others are closed. SIGINT or SIGTERM stops accepting, tells the
instances (wasock::handler::draining(), so that kept connections close), and
lets them finish within --drain-timeout.

Example:
  wasock serve --listen 127.0.0.1:8080 --allow 'tcp-accept=127.0.0.0/8:*' \\
      --max-concurrent 64 --timeout 10s http-hello.wasm";

/// Arguments of `wasock serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen, e.g. `127.0.0.1:8080` or `[::]:8080` (port 0: any
    /// free port; the first line on stdout says which). Without it, serve
    /// the listening socket a systemd socket unit passes (socket
    /// activation: `LISTEN_PID`, `LISTEN_FDS`, descriptor 3).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen_address)]
    pub listen: Option<std::net::SocketAddr>,

    /// Instances running at once, at most; further connections wait in the
    /// listen backlog [default: 256]. E.g. `--max-concurrent 64`.
    #[arg(
        long,
        value_name = "N",
        value_parser = parse_count,
        default_value = "256",
        hide_default_value = true
    )]
    pub max_concurrent: u64,

    /// Threads serving connections, each with its own listener on the
    /// address (`SO_REUSEPORT`: the kernel spreads connections over them)
    /// and its own instances [default: the number of CPUs]; on a socket a
    /// service manager passed, they share its one queue. E.g.
    /// `--workers 2`.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub workers: Option<u64>,

    /// How long running instances may take to finish after SIGINT or
    /// SIGTERM [default: 10s]. E.g. `--drain-timeout 30s`.
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = parse_duration,
        default_value = "10s",
        hide_default_value = true
    )]
    pub drain_timeout: Duration,

    /// The policy's rules.
    #[command(flatten)]
    pub rules: RuleArgs,

    /// Per-instance limits.
    #[command(flatten)]
    pub limits: LimitArgs,

    /// Providers the handler runs on.
    #[command(flatten)]
    pub providers: ProviderArgs,

    /// Set an environment variable for every instance: the handler and the
    /// providers composed under it (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

    /// The connection-handler component: it exports
    /// `wasock:sockets/handler` (Rust: `wasock::export_connection_handler!`;
    /// C: `wasock-cc --handler`).
    #[arg(value_name = "COMPONENT")]
    pub component: PathBuf,
}

const RUN_EXAMPLES: &str = "\
Rules: --allow and --deny take OPERATION=TARGET.
  operations: tcp-bind (covers listen), tcp-connect, tcp-accept (which peers may
              connect in), udp-bind, udp-send, udp-recv (whose datagrams are
              delivered), resolve
  targets:    HOST:PORTS, or * for everything. HOST is an IP (IPv6 in brackets),
              a CIDR, a host name, *.suffix or *; PORTS is a port, a range a-b,
              or *. resolve takes a name, *.suffix or *.
  Nothing is allowed without a grant; a --deny always wins over an --allow.
  The unspecified address (0.0.0.0, [::]) is granted only by a rule naming it.

Examples:
  # An echo server on loopback that anyone on loopback may connect to:
  wasock run --allow tcp-bind=127.0.0.1:7000 --allow 'tcp-accept=127.0.0.0/8:*' \\
      echo.wasm 127.0.0.1:7000
  # A client that may reach one service, but never the metadata address:
  wasock run --allow tcp-connect=10.0.0.0/8:443 \\
      --deny 'tcp-connect=169.254.169.254:*' client.wasm
  # Rules from a file, and a name answered without DNS:
  wasock run --policy site.toml --resolve api.test=127.0.0.1 client.wasm
  # Every socket call through a provider component (a layer over the host):
  wasock run --allow tcp-connect=127.0.0.1:7000 \\
      --provider provider_tap.wasm client.wasm";

/// Arguments of `wasock run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The policy's rules.
    #[command(flatten)]
    pub rules: RuleArgs,

    /// Per-instance limits.
    #[command(flatten)]
    pub limits: LimitArgs,

    /// Set an environment variable for the guest (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

    /// Let the guest read and write a directory of this machine, seen in
    /// the guest at GUEST (default: the same path), as `wasmtime run
    /// --dir` does (repeatable). Without it the guest sees no files. E.g.
    /// `--dir ./data::/data`.
    #[arg(long = "dir", value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    pub dirs: Vec<(PathBuf, String)>,

    /// As `--dir`, read only: the guest can open, list and read, and not
    /// create, write, rename or remove (repeatable). E.g. `--read-dir
    /// ./site::/site`.
    #[arg(long = "read-dir", value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    pub read_dirs: Vec<(PathBuf, String)>,

    /// Providers the guest runs on.
    #[command(flatten)]
    pub providers: ProviderArgs,

    /// Name the guest's compiled functions for a profiler, as `wasmtime run
    /// --profile` does: `perfmap` writes `/tmp/perf-PID.map`, which `perf
    /// report` reads. E.g. `--profile perfmap`.
    #[arg(long, value_name = "STRATEGY", value_enum)]
    pub profile: Option<Profile>,

    /// The component to run, then the arguments passed to it (its
    /// argv[1..]). Everything after the component is the guest's, options
    /// included, as with `wasmtime run`: wasock's own options come before
    /// it.
    #[arg(
        value_name = "COMPONENT [ARGS]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true
    )]
    command: Vec<String>,
}

impl RunArgs {
    /// The component to run.
    pub fn component(&self) -> &Path {
        Path::new(self.command.first().map_or("", String::as_str))
    }

    /// The arguments passed to the guest (its argv[1..]).
    pub fn args(&self) -> &[String] {
        self.command.get(1..).unwrap_or_default()
    }
}

/// What `wasock run --profile` writes for a profiler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// `/tmp/perf-PID.map`: the address and name of every compiled
    /// function, for `perf report` after `perf record`.
    Perfmap,
}

/// Per-instance limits (see `wasock_host::runtime::Limits` for what each
/// does when it is hit).
#[derive(Debug, Args, Default, Clone)]
pub struct LimitArgs {
    /// Most sockets the guest may hold at once [default: 1024]; over it,
    /// opening or accepting fails with new-socket-limit. E.g. `--max-sockets 64`.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub max_sockets: Option<u64>,
    /// Largest single receive [default: 1MiB]; larger requests get at most
    /// this. E.g. `--max-recv 256KiB`.
    #[arg(long, value_name = "SIZE", value_parser = parse_positive_size)]
    pub max_recv: Option<u64>,
    /// Largest datagram the guest may send [default: 65527]; larger ones
    /// fail with message-size. E.g. `--max-datagram 1472`.
    #[arg(long, value_name = "SIZE", value_parser = parse_positive_size)]
    pub max_datagram: Option<u64>,
    /// Total socket buffer space the guest may ask for with the buffer-size
    /// options [default: 64MiB]. E.g. `--max-buffer 8MiB`.
    #[arg(long, value_name = "SIZE", value_parser = parse_positive_size)]
    pub max_buffer: Option<u64>,
    /// Linear memory the instance may have, all its memories together
    /// [default: 256MiB]; growing past it stops the guest. E.g.
    /// `--max-memory 64MiB` (a number without a unit is bytes; a 32-bit
    /// memory never passes 4GiB, so more is no limit).
    #[arg(long, value_name = "SIZE", value_parser = parse_memory_size)]
    pub max_memory: Option<u64>,
    /// Most WASI 0.3 socket calls that may wait at once [default: 1024];
    /// over it, such a call fails at once. E.g. `--max-pending-calls 64`.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub max_pending_calls: Option<u64>,
    /// Wall-clock time limit per instance, blocked or not [default: none].
    /// E.g. `--timeout 30s`, `1.5s`, `1m30s` (units ms, s, m, h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Fuel (about one unit per WebAssembly instruction) per instance
    /// [default: none; counting fuel slows guests down]. E.g. `--fuel 1000000000`.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub fuel: Option<u64>,
}

/// Policy rules given on the command line.
#[derive(Debug, Args, Default)]
pub struct RuleArgs {
    /// Grant an operation on a target, e.g. `--allow tcp-bind=127.0.0.1:8080`
    /// (repeatable).
    #[arg(long = "allow", value_name = "OP=TARGET", value_parser = parse_allow)]
    pub allow: Vec<Rule>,

    /// Refuse an operation on a target, e.g. `--deny tcp-connect=10.0.0.0/8:*`;
    /// refusals win over grants (repeatable).
    #[arg(long = "deny", value_name = "OP=TARGET", value_parser = parse_deny)]
    pub deny: Vec<Rule>,

    /// Read rules (and pinned names) from a TOML policy file; see
    /// `wasock policy check --help` for its format. Its rules add to the
    /// command line's.
    #[arg(long = "policy", value_name = "FILE")]
    pub policy_file: Option<PathBuf>,

    /// Answer lookups of NAME with these addresses instead of asking the
    /// resolver, like curl's --resolve, e.g. `--resolve api.test=127.0.0.1,::1`
    /// (repeatable). Resolving still needs a grant: `resolve=NAME`, or any
    /// grant by NAME (`tcp-connect=NAME:443`).
    #[arg(long = "resolve", value_name = "NAME=IP[,IP]", value_parser = parse_pin)]
    pub resolve: Vec<(String, Vec<IpAddr>)>,

    /// Where the user sets grants and limits, for the advice a denial or a
    /// limit gives: the flags, unless a program that makes the command line
    /// (the container shim) says otherwise.
    #[arg(skip = SetBy::Flags)]
    pub set_by: SetBy,
}

/// `wasock policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Say whether the rules allow OPERATION on TARGET, and which rule
    /// decided. Prints `allowed` or `denied` first; exits 0 or 1.
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(ExplainArgs),
    /// Check a policy file: every rule, with the line and column of each
    /// problem. Exits 0 if it is valid, 1 if not.
    #[command(after_help = POLICY_FILE_FORMAT)]
    Check(CheckArgs),
}

const EXPLAIN_EXAMPLES: &str = "\
Examples:
  wasock policy explain --allow tcp-connect=10.0.0.0/8:443 \\
      tcp-connect 10.1.2.3:443
  wasock policy explain --policy site.toml tcp-bind '[::]:8080'
  # A name target is decided on the addresses pinned for it, or by name alone:
  wasock policy explain --allow tcp-connect=api.test:443 \\
      --resolve api.test=127.0.0.1 tcp-connect api.test:443";

const POLICY_FILE_FORMAT: &str = "\
A policy file is TOML; its rules use the syntax of --allow and --deny:

  allow = [
      \"tcp-bind=127.0.0.1:8080\",
      \"tcp-accept=127.0.0.0/8:*\",
  ]
  deny = [\"tcp-connect=169.254.0.0/16:*\"]

  # Optional: pinned answers for names, as --resolve NAME=IP[,IP].
  [resolve]
  \"api.test\" = [\"127.0.0.1\", \"::1\"]

Example:
  wasock policy check site.toml";

/// Arguments of `wasock policy check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The policy file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Arguments of `wasock policy explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The rules to explain with.
    #[command(flatten)]
    pub rules: RuleArgs,

    /// The operation, e.g. `tcp-connect`.
    #[arg(value_name = "OPERATION")]
    pub operation: crate::policy::Operation,

    /// An address `IP:PORT` (IPv6 in brackets), or a host name for
    /// `resolve`.
    #[arg(value_name = "TARGET")]
    pub target: String,
}

fn parse_allow(s: &str) -> Result<Rule, String> {
    Rule::parse(Effect::Allow, s).map_err(|e| e.to_string())
}

fn parse_deny(s: &str) -> Result<Rule, String> {
    Rule::parse(Effect::Deny, s).map_err(|e| e.to_string())
}

fn parse_pin(s: &str) -> Result<(String, Vec<IpAddr>), String> {
    let (name, ips) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=IP[,IP], got `{s}`"))?;
    let name = normalize_name(name).map_err(|e| pin_refused(name, &e))?;
    let ips = ips
        .split(',')
        .map(|ip| {
            let ip = ip.trim().trim_start_matches('[').trim_end_matches(']');
            ip.parse::<IpAddr>()
                .map_err(|_| format!("`{ip}` is not an IP address (in `{s}`)"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name, ips))
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got `{s}`")),
    }
}

/// `--dir`'s `HOST[::GUEST]`: the host's directory and where the guest
/// sees it (the host's path as given, by default).
fn parse_dir(s: &str) -> Result<(PathBuf, String), String> {
    let (host, guest) = s.split_once("::").unwrap_or((s, s));
    if host.is_empty() || guest.is_empty() {
        return Err(format!(
            "expected HOST[::GUEST], a directory of this machine and where the guest sees it, \
             got `{s}` (e.g. ./data or ./data::/data)"
        ));
    }
    Ok((PathBuf::from(host), guest.to_string()))
}

/// `serve --listen`'s address: an IP address and a port, not a name (the
/// server binds before anything is resolved).
fn parse_listen_address(s: &str) -> Result<std::net::SocketAddr, String> {
    let t = s.trim();
    t.parse().map_err(|_| {
        let examples = "e.g. 127.0.0.1:8080, [::1]:8080, or [::]:8080 for every interface";
        let host = t.rsplit_once(':').map_or(t, |(h, _)| h);
        if host.is_empty() {
            format!("`{s}` has no address before the port ({examples})")
        } else if crate::policy::ip_literal(host).is_some()
            || host.contains(':')
            || host.starts_with('[')
        {
            format!("`{s}` is not IP:PORT (IPv6 in brackets; {examples})")
        } else {
            format!("`{s}` is not IP:PORT: give an address, not a name ({examples})")
        }
    })
}
