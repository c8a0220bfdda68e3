//! A Redis-protocol server: `redis-benchmark` (pipelined SET and GET:
//! `-t set,get -n 100000 -P 16 -c 50 -q`) against (A) a native
//! `redis-server` and (B) the kv guest (`examples/kv`) under wasock, run as
//! `wasock run` runs it: one thread, a current-thread runtime. The server
//! (either) runs on CPU 0, redis-benchmark on CPU 1; requests per second as
//! redis-benchmark reports them, the order of A and B alternating run by
//! run.
//!
//! Both tools come with Redis (`apt-get install redis-server redis-tools`);
//! without them these rows are left out, with a note on stderr.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use wasmtime::component::Component;
use wasock_host::runtime::{Limits, Runner};

use crate::Row;
use crate::server;
use crate::stats::pin_to_cpu;

/// Requests per test, as redis-benchmark's `-n`.
pub const REQUESTS: u32 = 100_000;

/// The rows, in the order [`KvBench::run`] fills them.
pub fn rows() -> [Row; 2] {
    [
        Row::new("redis_set_P16_c50_req_per_s", false),
        Row::new("redis_get_P16_c50_req_per_s", false),
    ]
}

/// What one redis-benchmark run reported.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    /// SET requests per second.
    pub set: f64,
    /// GET requests per second.
    pub get: f64,
}

/// The kv guest, compiled once.
pub struct KvBench {
    runner: Runner,
    component: Component,
}

/// Whether `tool --version` runs.
fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl KvBench {
    /// Compile the guest; `None` (with a note) if redis-server or
    /// redis-benchmark is not installed.
    pub fn new() -> anyhow::Result<Option<KvBench>> {
        for tool in ["redis-server", "redis-benchmark"] {
            if !installed(tool) {
                eprintln!("kv: no {tool} here; the redis_* rows are left out");
                return Ok(None);
            }
        }
        let runner = Runner::new()?;
        let component = runner.load(Path::new(wasock_test_programs::KV))?;
        Ok(Some(KvBench { runner, component }))
    }

    /// Run `run`'s measurements of both sides into `rows` (from [`rows`]).
    pub fn run(&self, run: usize, rows: &mut [Row; 2]) -> anyhow::Result<()> {
        let (a, b) = crate::stats::in_turn(run, || self.native(), || self.guest())?;
        rows[0].a.0.push(a.set);
        rows[0].b.0.push(b.set);
        rows[1].a.0.push(a.get);
        rows[1].b.0.push(b.get);
        Ok(())
    }

    /// redis-benchmark against a fresh native redis-server.
    pub fn native(&self) -> anyhow::Result<Rates> {
        let server = NativeRedis::start()?;
        benchmark(server.addr)
    }

    /// redis-benchmark against a fresh kv guest.
    pub fn guest(&self) -> anyhow::Result<Rates> {
        let server = server::guest_server(
            "kv guest",
            &self.runner,
            &self.component,
            &["kv"],
            Limits::default(),
        )?;
        let rates = benchmark(server.addr);
        server.finish()?;
        rates
    }
}

/// `redis-benchmark -t set,get -n 100000 -P 16 -c 50 -q` against `addr`,
/// from CPU 1.
fn benchmark(addr: SocketAddr) -> anyhow::Result<Rates> {
    let out = std::thread::spawn(move || {
        // The child inherits this thread's CPU.
        pin_to_cpu(1);
        Command::new("redis-benchmark")
            .args(["-h", &addr.ip().to_string(), "-p", &addr.port().to_string()])
            .args(["-t", "set,get", "-n", &REQUESTS.to_string()])
            .args(["-P", "16", "-c", "50", "-q"])
            .stdin(Stdio::null())
            .output()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the redis-benchmark thread panicked"))?
    .context("running redis-benchmark")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    anyhow::ensure!(
        out.status.success(),
        "redis-benchmark failed ({}): {text}",
        out.status
    );
    let rates = parse_rates(&text)?;
    Ok(rates)
}

/// The SET and GET rates in redis-benchmark's `-q` output (progress lines
/// end in `\r`, results in `\n`); an error if it reports an error.
pub fn parse_rates(text: &str) -> anyhow::Result<Rates> {
    anyhow::ensure!(
        !text.contains("ERR") && !text.contains("Error"),
        "redis-benchmark reported errors: {text}"
    );
    let rate = |test: &str| -> anyhow::Result<f64> {
        text.split(['\r', '\n'])
            .filter_map(|l| l.trim().strip_prefix(test)?.strip_prefix(": "))
            .filter_map(|rest| rest.find(" requests per second").map(|i| &rest[..i]))
            .find_map(|n| n.trim().parse::<f64>().ok())
            .with_context(|| format!("no {test} rate in: {text}"))
    };
    Ok(Rates {
        set: rate("SET")?,
        get: rate("GET")?,
    })
}

/// A port that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Wait until `addr` accepts a connection.
fn wait_listening(addr: SocketAddr, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "{what} never listened on {addr}");
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// A native redis-server on CPU 0 without persistence, killed on drop.
struct NativeRedis {
    child: Child,
    addr: SocketAddr,
}

impl NativeRedis {
    fn start() -> anyhow::Result<NativeRedis> {
        let port = free_port()?;
        let child = std::thread::spawn(move || {
            pin_to_cpu(0);
            Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the redis-server thread panicked"))?
        .context("starting redis-server")?;
        let server = NativeRedis {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        wait_listening(server.addr, "redis-server")?;
        Ok(server)
    }
}

impl Drop for NativeRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rates;

    #[test]
    fn rates_from_quiet_output() {
        let out = "SET: rps=0.0 (overall: -nan) avg_msec=-nan (overall: -nan)\r                                   \rSET: 1111111.12 requests per second, p50=0.479 msec\n\
                   GET: 961538.44 requests per second, p50=0.671 msec\n\n";
        let r = parse_rates(out).unwrap();
        assert_eq!((r.set, r.get), (1111111.12, 961538.44));
        assert!(parse_rates("GET: 5 requests per second\n").is_err());
        assert!(
            parse_rates("SET: 5 requests per second\nGET: 5 requests per second\nError: x\n")
                .is_err()
        );
    }
}
