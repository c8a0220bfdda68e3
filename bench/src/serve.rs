//! `wasock serve` under wrk: the `http-hello` connection handler (a fresh
//! instance per connection, which it closes after one answer) served by
//! one worker and by two ([`Workers`], the code behind `wasock serve
//! --workers N`, in this process), and, where a wasmtime CLI is named,
//! stock `wasmtime serve` running `bench/wasi-http-hello` (a fresh instance
//! per request), the instance-per-request anchor: once with a connection
//! per request as well (wrk sends `Connection: close`), the same work as
//! wasock's, and once with wrk keeping its connections.
//!
//! Nothing is pinned: the workers, wrk and wasmtime run where the
//! scheduler puts them, as a server does. Per side: requests per second,
//! the server's CPU per request, and how busy the machine was (the
//! server's and wrk's CPU time over the CPU time there was).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::Component;
use wasock_host::policy::Policy;
use wasock_host::runtime::{PinnedNames, Runner, ServeOptions, Server, Workers, pooling_config};

use crate::stats::Samples;

/// wrk's connections (as many as instances run at once, at most).
const CONNECTIONS: u32 = 32;

/// Who serves.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// `wasock serve --workers N`.
    Wasock(usize),
    /// Stock `wasmtime serve`, with a connection per request or not.
    Stock { close: bool },
}

/// One side's samples.
#[derive(Default)]
struct Rows {
    /// Requests per second.
    per_s: Samples,
    /// The server's CPU time per request, µs.
    cpu_us: Samples,
    /// wrk's CPU time per request, µs.
    wrk_us: Samples,
    /// Server and wrk CPU time over the CPU time the machine had, in %.
    busy: Samples,
}

/// One measurement.
struct Measured {
    per_s: f64,
    cpu_us: f64,
    wrk_us: f64,
    busy: f64,
}

/// The bench: the handler compiled once, and the CLI for the anchor.
pub struct ServeBench {
    runner: Runner,
    component: Component,
    stock: Option<PathBuf>,
    secs: u32,
    one: Rows,
    two: Rows,
    anchor: Rows,
    anchor_keepalive: Rows,
}

impl ServeBench {
    /// Compile the handler for a pooled engine sized as `wasock serve`'s
    /// default (256 instances at once); `None` (having said why) without
    /// wrk. `stock` is the wasmtime CLI for the anchor, if any.
    pub fn new(stock: Option<&Path>, secs: u32) -> anyhow::Result<Option<ServeBench>> {
        if !crate::wrk::installed("serve") {
            return Ok(None);
        }
        let options = ServeOptions::default();
        let max = u32::try_from(options.max_concurrent).unwrap_or(u32::MAX);
        let runner = Runner::with_config(&pooling_config(
            max.saturating_add(8),
            options.limits.max_memory,
        ))?;
        let component = runner.load(Path::new(wasock_test_programs::HTTP_HELLO))?;
        Ok(Some(ServeBench {
            runner,
            component,
            stock: stock.map(Path::to_path_buf),
            secs,
            one: Rows::default(),
            two: Rows::default(),
            anchor: Rows::default(),
            anchor_keepalive: Rows::default(),
        }))
    }

    /// One run: every side once, the order rotating with `run`, measured
    /// from an unpinned thread (so that what it starts is unpinned too).
    pub fn run(&mut self, run: usize) -> anyhow::Result<()> {
        let mut sides = vec![Side::Wasock(1), Side::Wasock(2)];
        if self.stock.is_some() {
            sides.extend([Side::Stock { close: true }, Side::Stock { close: false }]);
        }
        let this = &*self;
        let measured = std::thread::scope(|s| {
            s.spawn(|| {
                crate::stats::unpin();
                (0..sides.len())
                    .map(|k| {
                        let side = sides[(run + k) % sides.len()];
                        let m = match side {
                            Side::Wasock(n) => this.wasock(n)?,
                            Side::Stock { close } => this.wasmtime(close)?,
                        };
                        Ok((side, m))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the serve bench's thread panicked"))?
        })?;
        for (side, m) in measured {
            let rows = match side {
                Side::Wasock(1) => &mut self.one,
                Side::Wasock(_) => &mut self.two,
                Side::Stock { close: true } => &mut self.anchor,
                Side::Stock { close: false } => &mut self.anchor_keepalive,
            };
            rows.per_s.0.push(m.per_s);
            rows.cpu_us.0.push(m.cpu_us);
            rows.wrk_us.0.push(m.wrk_us);
            rows.busy.0.push(m.busy);
        }
        Ok(())
    }

    /// wrk against `wasock serve --workers n`, run in this process.
    fn wasock(&self, n: usize) -> anyhow::Result<Measured> {
        let policy = Policy::builder().allow("tcp-accept=127.0.0.1:*")?.build();
        let server = Arc::new(Server::new(
            self.runner.clone(),
            &self.component,
            Arc::new(policy),
            Arc::new(PinnedNames::default()),
            ServeOptions::default(),
        )?);
        let workers = Workers::bind("127.0.0.1:0".parse()?, n)?;
        let addr = workers.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = std::thread::spawn(move || {
            workers.run(server, move || {
                Ok(async move {
                    let _ = stopped.await;
                })
            })
        });
        let before = Cpu::now();
        let load = crate::wrk::run(addr, self.load(true), None);
        let after = Cpu::now();
        let _ = stop.send(());
        serving
            .join()
            .map_err(|_| anyhow::anyhow!("the serving thread panicked"))??;
        let load = load?;
        let server = after.own - before.own;
        let wrk = after.children - before.children;
        Ok(self.measured(load, server, wrk))
    }

    /// wrk's load: a connection per request if `close`.
    fn load(&self, close: bool) -> crate::wrk::Load {
        crate::wrk::Load {
            secs: self.secs,
            connections: CONNECTIONS,
            close,
        }
    }

    /// wrk against stock `wasmtime serve` with the pooling allocator, with
    /// a connection per request if `close`.
    fn wasmtime(&self, close: bool) -> anyhow::Result<Measured> {
        let cli = self.stock.as_ref().context("no wasmtime CLI")?;
        let mut child = Reaped(
            Command::new(cli)
                .args(["serve", "-O", "pooling-allocator", "--addr", "127.0.0.1:0"])
                .args(["-S", "cli"])
                .arg(wasock_test_programs::WASI_HTTP_HELLO)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .with_context(|| format!("running {} serve", cli.display()))?,
        );
        let addr = serving_addr(&mut child.0)?;
        let pid = child.0.id();
        let (before, server_before) = (Cpu::now(), process_cpu(pid)?);
        let load = crate::wrk::run(addr, self.load(close), None);
        let (wrk, server) = (
            Cpu::now().children - before.children,
            process_cpu(pid)? - server_before,
        );
        drop(child);
        Ok(self.measured(load?, server, wrk))
    }

    fn measured(&self, load: crate::wrk::Report, server: f64, wrk: f64) -> Measured {
        let cpus = crate::stats::cpus() as f64;
        Measured {
            per_s: load.per_s,
            cpu_us: server * 1e6 / load.total.max(1.0),
            wrk_us: wrk * 1e6 / load.total.max(1.0),
            busy: 100.0 * (server + wrk) / (f64::from(self.secs) * cpus),
        }
    }

    /// The section: a line per side, then the scaling and the anchor.
    pub fn print(&self) {
        println!();
        println!(
            "serve — `wrk -t1 -c{CONNECTIONS} -d{}s` against examples/http-hello under `wasock serve` (an instance per connection), nothing pinned; D: stock `wasmtime serve -O pooling-allocator` running bench/wasi-http-hello (an instance per request), wrk sending `Connection: close` (a connection per request, as wasock's), and keeping its connections (keepalive)",
            self.secs
        );
        let line = |name: &str, r: &Rows| {
            println!(
                "serve_wrk_{name}: req_per_s={} cpu_us_per_req={} wrk_cpu_us_per_req={} machine_busy_pct={}",
                crate::median(&r.per_s),
                crate::median(&r.cpu_us),
                crate::median(&r.wrk_us),
                crate::median(&r.busy),
            );
        };
        line("1worker", &self.one);
        line("2workers", &self.two);
        if !self.anchor.per_s.0.is_empty() {
            line("wasmtime_serve", &self.anchor);
            line("wasmtime_serve_keepalive", &self.anchor_keepalive);
        }
        // In how many runs `x` served more than `y`, as `k/n`.
        let wins = |x: &Samples, y: &Samples| {
            x.wins_over(y, false)
                .map_or_else(|| "n/a".into(), |(k, n)| format!("{k}/{n}"))
        };
        print!(
            "serve_wrk_scaling: 2workers/1worker={} 2workers_wins={} (target: >= 1.6)",
            crate::ratio(&self.two.per_s, &self.one.per_s),
            wins(&self.two.per_s, &self.one.per_s),
        );
        if !self.anchor.per_s.0.is_empty() {
            print!(
                " 1worker/D={} 2workers/D={} 1worker_wins_over_D={}",
                crate::ratio(&self.one.per_s, &self.anchor.per_s),
                crate::ratio(&self.two.per_s, &self.anchor.per_s),
                wins(&self.one.per_s, &self.anchor.per_s),
            );
        }
        println!();
        // What 1.6 times one worker would cost the machine at one worker's
        // CPU per request (server and wrk): more than it has means the
        // target cannot be met with wrk on the same CPUs.
        let per_request = self.one.cpu_us.median() + self.one.wrk_us.median();
        println!(
            "serve_wrk_1.6x_needs_cpus: {:.2} of {} (1.6 × one worker's req/s × its server and wrk CPU per request)",
            1.6 * self.one.per_s.median() * per_request / 1e6,
            crate::stats::cpus()
        );
    }
}

/// A child process that is killed and reaped when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The address of `wasmtime serve`'s `Serving HTTP on http://ADDR/`
/// line (on its stderr).
fn serving_addr(child: &mut Child) -> anyhow::Result<SocketAddr> {
    let out = child.stderr.take().context("wasmtime's stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(a) = line
                .split("http://")
                .nth(1)
                .map(|a| a.trim_end_matches('/'))
            {
                let _ = tx.send(a.parse::<SocketAddr>());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .context("wasmtime serve never said where it serves")?
        .context("wasmtime serve's address")
}

/// CPU time used so far, in seconds: by this process, and by its reaped
/// children.
struct Cpu {
    own: f64,
    children: f64,
}

impl Cpu {
    fn now() -> Cpu {
        Cpu {
            own: rusage(libc::RUSAGE_SELF),
            children: rusage(libc::RUSAGE_CHILDREN),
        }
    }
}

/// User and system CPU seconds process `pid` has used so far (its
/// `/proc/PID/stat`), so that only the time under load counts, not its
/// start-up.
fn process_cpu(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name, which is in parentheses and may
    // hold spaces: state is field 3, utime and stime are 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .context("no command name in /proc/PID/stat")?
        .1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("a short /proc/PID/stat")?
            .parse::<f64>()?)
    };
    // SAFETY: sysconf reads a system value and takes no pointers.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok((ticks(11)? + ticks(12)?) / hz)
}

/// User and system CPU seconds of `who`.
fn rusage(who: libc::c_int) -> f64 {
    // SAFETY: a zeroed rusage is a valid value to fill, and `who` is one
    // of the two values getrusage takes.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the pointer is to a live, writable rusage.
    if unsafe { libc::getrusage(who, &mut r) } != 0 {
        return f64::NAN;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(r.ru_utime) + secs(r.ru_stime)
}
