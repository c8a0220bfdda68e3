//! Shared test helpers: the `wasock` binary as a user runs it, and an
//! in-process runner with one engine and cached compiled components.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use wasmtime::component::Component;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasock_host::net::Provider;
use wasock_host::net::native::NativeProvider;
use wasock_host::policy::Policy;
use wasock_host::runtime::compose::compose_files;
use wasock_host::runtime::{
    ComponentProvider, GuestExit, HostState, InstanceStats, Prepared, Runner, WasockCtx,
};

/// Generous upper bound for anything a test waits on; tests assert
/// behaviour, this only keeps a broken build from hanging CI.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The `wasock` binary.
pub fn wasock() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wasock"));
    // Nothing of the test runner's own environment that changes what the
    // binary does: its log level, or a socket-activation claim.
    c.env_remove("RUST_LOG")
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS");
    c
}

/// A `wasock run` process whose stdout is read line by line.
pub struct Guest {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Guest {
    /// Start `wasock ARGS...`.
    pub fn spawn(args: &[&str]) -> Guest {
        let mut cmd = wasock();
        cmd.args(args);
        Guest::spawn_command(cmd)
    }

    /// Start `cmd` (one that runs `wasock`), reading its output as
    /// [`Guest::spawn`] does.
    pub fn spawn_command(mut cmd: Command) -> Guest {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wasock");
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Guest {
            child,
            lines,
            stderr,
        }
    }

    /// The next line of stdout.
    pub fn line(&self) -> String {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(l) => l,
            Err(_) => panic!("no line from the guest; stderr:\n{}", self.stderr()),
        }
    }

    /// `wasock run --max-sockets 2` of the server `program`, allowed to
    /// listen and accept on 127.0.0.1: room for its listener and one
    /// connection.
    pub fn at_two_sockets(program: &str) -> Guest {
        Guest::spawn(&[
            "run",
            "--max-sockets",
            "2",
            "--allow",
            "tcp-bind=127.0.0.1:*",
            "--allow",
            "tcp-accept=127.0.0.1:*",
            program,
        ])
    }

    /// The address in a `listening on ADDR` first line.
    pub fn listening_addr(&self) -> std::net::SocketAddr {
        let line = self.line();
        let addr = line.strip_prefix("listening on ").unwrap_or_else(|| {
            panic!("unexpected first line {line:?}; stderr:\n{}", self.stderr())
        });
        addr.parse().unwrap()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Stderr once `text` appears in it `times` times, or after PATIENCE
    /// if it never does (the caller's assertion then shows what it holds).
    pub fn stderr_once_it_says(&self, text: &str, times: usize) -> String {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let err = self.stderr();
            if err.matches(text).count() >= times || std::time::Instant::now() >= deadline {
                return err;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait for the process to end: its exit code and the rest of stdout.
    pub fn finish(mut self) -> (i32, Vec<String>, String) {
        let deadline = std::time::Instant::now() + PATIENCE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "guest did not finish; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut rest = Vec::new();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            rest.push(l);
        }
        // Let the stderr reader drain.
        std::thread::sleep(Duration::from_millis(20));
        (status.code().unwrap_or(-1), rest, self.stderr())
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `wasock ARGS...` to its end: exit code, stdout lines, stderr.
pub fn run(args: &[&str]) -> (i32, Vec<String>, String) {
    Guest::spawn(args).finish()
}

/// A provider for tests: the native provider's sockets, and a resolver that
/// answers `localhost` from the system's hosts file and no other name, so
/// that no test ever sends a DNS query off the machine.
pub struct Hermetic(pub NativeProvider);

impl Provider for Hermetic {
    fn open(
        &self,
        family: wasock_host::net::Family,
        ty: wasock_host::net::SocketType,
    ) -> Result<Box<dyn wasock_host::net::NetSocket>, wasock_host::net::ErrorCode> {
        self.0.open(family, ty)
    }

    fn resolve(
        &self,
        name: &str,
    ) -> wasock_host::net::BoxFuture<Result<Vec<std::net::IpAddr>, wasock_host::net::ErrorCode>>
    {
        if name == "localhost" {
            self.0.resolve(name)
        } else {
            Box::pin(async { Err(wasock_host::net::ErrorCode::NameNotFound) })
        }
    }
}

/// One runner (engine and linker) for every in-process test.
pub fn runner() -> &'static Runner {
    static RUNNER: OnceLock<Runner> = OnceLock::new();
    RUNNER.get_or_init(|| Runner::new().expect("runner"))
}

/// The component at `path`, compiled once per test binary.
pub fn compiled(path: &str) -> Component {
    static CACHE: OnceLock<Mutex<HashMap<String, Component>>> = OnceLock::new();
    let mut map = CACHE.get_or_init(Default::default).lock().unwrap();
    map.entry(path.to_string())
        .or_insert_with(|| {
            runner()
                .load(std::path::Path::new(path))
                .expect("compile component")
        })
        .clone()
}

/// A prepared command for the guest at `path`, compiled once per test
/// binary.
pub fn prepared(path: &str) -> Prepared {
    runner().prepare(&compiled(path)).expect("prepare guest")
}

/// The provider component at `path` as a provider of the host (a fresh
/// instance), over the hermetic native provider under `below`. What it
/// writes goes nowhere.
pub fn component_provider(path: &str, below: Arc<Policy>) -> Arc<dyn Provider> {
    let ctx = WasockCtx::builder()
        .policy(below)
        .provider(Arc::new(Hermetic(NativeProvider)))
        .build();
    let state = HostState::new(WasiCtxBuilder::new(), ctx);
    Arc::new(
        ComponentProvider::start(runner(), &compiled(path), state).expect("start the provider"),
    )
}

/// A policy from `--allow` rules.
pub fn allow(rules: &[&str]) -> Arc<Policy> {
    let mut b = Policy::builder();
    for r in rules {
        b = b.allow(r).unwrap();
    }
    Arc::new(b.build())
}

/// An in-process guest's ending and stdout.
pub struct Finished {
    pub exit: GuestExit,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The guest exited with 0 and its last line is `ok done` (the
    /// conformance programs' end).
    #[track_caller]
    pub fn assert_ok_done(&self) {
        assert!(
            matches!(self.exit, GuestExit::Exited(0)) && self.stdout.ends_with("ok done\n"),
            "{:?}\n{}",
            self.exit,
            self.stdout
        );
    }
}

/// Run the guest at `path` in this process with `args` under `policy`.
pub async fn run_in_process(path: &str, args: &[&str], policy: Arc<Policy>) -> Finished {
    run_with_provider(path, args, policy, Arc::new(NativeProvider)).await
}

/// Run the guest at `path` in this process on `provider`.
pub async fn run_with_provider(
    path: &str,
    args: &[&str],
    policy: Arc<Policy>,
    provider: Arc<dyn Provider>,
) -> Finished {
    let ctx = WasockCtx::builder()
        .policy(policy)
        .provider(provider)
        .build();
    spawn_in_process(path, args, ctx).finish().await
}

/// A guest running in this process.
pub struct Running {
    pub stdout: MemoryOutputPipe,
    pub stderr: MemoryOutputPipe,
    pub stats: Arc<InstanceStats>,
    pub task: tokio::task::JoinHandle<GuestExit>,
}

impl Running {
    /// The first stdout line that contains `pattern`, waiting for it.
    pub async fn line_containing(&self, pattern: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let out = String::from_utf8_lossy(&self.stdout.contents()).into_owned();
            if let Some(l) = out.lines().find(|l| l.contains(pattern)) {
                return l.to_string();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no line with {pattern:?} in:\n{out}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Wait for the end: a guest still running after a few waits' worth
    /// of patience fails the test, with what it wrote so far, rather than
    /// hang it (a blocking accept or receive whose wake-up went missing
    /// would wait for ever).
    pub async fn finish(self) -> Finished {
        let patience = PATIENCE * 3;
        let exit = match tokio::time::timeout(patience, self.task).await {
            Ok(exit) => exit.expect("guest task"),
            Err(_) => panic!(
                "the guest did not finish in {patience:?}; stdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&self.stdout.contents()),
                String::from_utf8_lossy(&self.stderr.contents()),
            ),
        };
        Finished {
            exit,
            stdout: String::from_utf8_lossy(&self.stdout.contents()).into_owned(),
            stderr: String::from_utf8_lossy(&self.stderr.contents()).into_owned(),
        }
    }
}

/// Start the guest at `path` in this process with its wasock context.
pub fn spawn_in_process(path: &str, args: &[&str], ctx: WasockCtx) -> Running {
    spawn_with(runner().clone(), prepared(path), path, args, ctx)
}

/// Compile and prepare the guest at `path` on another runner.
pub fn prepare_on(runner: &Runner, path: &str) -> Prepared {
    let component = runner
        .load(std::path::Path::new(path))
        .expect("compile guest");
    runner.prepare(&component).expect("prepare guest")
}

/// Start the guest at `path` on another runner (compiled for it).
pub fn spawn_with_runner(
    runner: Arc<Runner>,
    path: &str,
    args: &[&str],
    ctx: WasockCtx,
) -> Running {
    let pre = prepare_on(&runner, path);
    spawn_with((*runner).clone(), pre, path, args, ctx)
}

/// Start a guest prepared on `runner`.
pub fn spawn_with(
    runner: Runner,
    pre: Prepared,
    path: &str,
    args: &[&str],
    ctx: WasockCtx,
) -> Running {
    let mut wasi = WasiCtxBuilder::new();
    wasi.arg(path).args(args);
    spawn_with_wasi(runner, pre, wasi, ctx)
}

/// Start a guest prepared on `runner` with a WASI context the caller
/// set up (arguments, preopened directories); stdout and stderr are
/// captured.
pub fn spawn_with_wasi(
    runner: Runner,
    pre: Prepared,
    mut wasi: WasiCtxBuilder,
    ctx: WasockCtx,
) -> Running {
    let stdout = MemoryOutputPipe::new(1 << 20);
    // Room for a chatty guest or layer: a full pipe would fail its writes.
    let stderr = MemoryOutputPipe::new(64 << 20);
    wasi.stdout(stdout.clone()).stderr(stderr.clone());
    let stats = ctx.stats();
    let state = HostState::new(wasi, ctx);
    let task = tokio::spawn(async move { runner.run(&pre, state).await });
    Running {
        stdout,
        stderr,
        stats,
        task,
    }
}

/// `wasock run` of a server guest on 127.0.0.1, port 0, with the smallest
/// policy a server needs (binding and accepting on 127.0.0.1) and `host`
/// flags for wasock before the guest, `args` for the guest after its
/// address; and the address it says it listens on.
pub fn run_server(guest: &str, host: &[&str], args: &[&str]) -> (Guest, std::net::SocketAddr) {
    let mut all = vec![
        "run",
        "--allow",
        "tcp-bind=127.0.0.1:*",
        "--allow",
        "tcp-accept=127.0.0.1:*",
    ];
    all.extend_from_slice(host);
    all.extend_from_slice(&[guest, "127.0.0.1:0"]);
    all.extend_from_slice(args);
    let g = Guest::spawn(&all);
    let addr = g.listening_addr();
    assert_ne!(addr.port(), 0, "{addr}");
    (g, addr)
}

/// A multi-threaded tokio runtime with two workers, like the CLI's on this
/// machine.
pub fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `len` bytes of a fixed pseudo-random pattern (no short cycles, so a
/// misplaced or repeated block shows).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The guest at `app` composed on `providers` (the first nearest the app),
/// written once per test binary to a file whose path is returned, so that
/// it runs and is cached like any other guest.
pub fn composed(app: &str, providers: &[&str]) -> String {
    static DONE: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let key = std::iter::once(app)
        .chain(providers.iter().copied())
        .collect::<Vec<_>>()
        .join("+");
    let mut done = DONE.get_or_init(Default::default).lock().unwrap();
    if let Some(p) = done.get(&key) {
        return p.clone();
    }
    let stem = |p: &str| {
        std::path::Path::new(p)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    // The stems for people, a hash of the full paths for uniqueness.
    let mut hash = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&key, &mut hash);
    let name = std::iter::once(app)
        .chain(providers.iter().copied())
        .map(stem)
        .chain(std::iter::once(format!(
            "{:016x}",
            std::hash::Hasher::finish(&hash)
        )))
        .collect::<Vec<_>>()
        .join("+");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("composed");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{name}.wasm"));
    let composed = compose_files(app.as_ref(), providers)
        .unwrap_or_else(|e| panic!("cannot compose {key}: {e}"));
    // Written whole, then renamed, so that no reader sees half a file.
    let partial = out.with_extension(format!("{}.partial", std::process::id()));
    std::fs::write(&partial, composed).unwrap();
    std::fs::rename(&partial, &out).unwrap();
    let path = out.to_string_lossy().into_owned();
    done.insert(key, path.clone());
    path
}

/// `wasock run` flags granting everything on loopback, both families (and
/// resolving `localhost`).
pub const LOOPBACK_GRANTS: &[&str] = &[
    "--allow",
    "tcp-bind=127.0.0.1:*",
    "--allow",
    "tcp-bind=[::1]:*",
    "--allow",
    "tcp-connect=127.0.0.1:*",
    "--allow",
    "tcp-connect=[::1]:*",
    "--allow",
    "tcp-accept=127.0.0.1:*",
    "--allow",
    "tcp-accept=[::1]:*",
    "--allow",
    "udp-bind=127.0.0.1:*",
    "--allow",
    "udp-bind=[::1]:*",
    "--allow",
    "udp-send=127.0.0.1:*",
    "--allow",
    "udp-send=[::1]:*",
    "--allow",
    "udp-recv=127.0.0.1:*",
    "--allow",
    "udp-recv=[::1]:*",
    "--allow",
    "resolve=localhost",
];
