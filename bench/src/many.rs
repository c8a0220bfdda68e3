//! Many connections at once: 1,000 clients, each sending 64-byte messages
//! and waiting for their echo, against (A) the same echo logic on native
//! tokio with a current-thread runtime and (B) the async-echo guest on the
//! SDK's runtime under wasock (as `wasock run` runs it: one thread).
//! Throughput, the 99th percentile round trip, and the server thread's CPU
//! per message.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasock_host::policy::Policy;
use wasock_host::runtime::{HostState, Limits, Runner, WasockCtx};

use crate::stats::{pin_to_cpu, thread_cpu};

/// Connections at once.
pub const CONNECTIONS: usize = 1000;
/// Message size.
const SIZE: usize = 64;

/// What one measurement gives.
pub struct Measured {
    /// Messages echoed per second, over all connections.
    pub per_s: f64,
    /// The 99th percentile round trip, µs.
    pub p99_us: f64,
    /// The server thread's CPU per message, µs.
    pub cpu_us: f64,
}

/// A server on its own thread (pinned to CPU 0): its address, and a way to
/// stop it that returns the thread's CPU time.
struct Server {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    done: std::thread::JoinHandle<anyhow::Result<Duration>>,
}

impl Server {
    fn finish(self) -> anyhow::Result<Duration> {
        let _ = self.stop.send(());
        self.done
            .join()
            .map_err(|_| anyhow::anyhow!("the server thread panicked"))?
    }
}

impl Server {
    /// Run `serve` on a current-thread runtime of its own thread (pinned to
    /// CPU 0): it sends its listening address on the channel it is given,
    /// and serves until the receiver it is given completes.
    fn start<F, Fut>(what: &str, serve: F) -> anyhow::Result<Server>
    where
        F: FnOnce(mpsc::Sender<SocketAddr>, tokio::sync::oneshot::Receiver<()>) -> Fut
            + Send
            + 'static,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let (tx, rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = std::thread::spawn(move || -> anyhow::Result<Duration> {
            pin_to_cpu(0);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let start = thread_cpu();
            rt.block_on(serve(tx, stopped))?;
            Ok(thread_cpu().saturating_sub(start))
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .with_context(|| format!("the {what} never listened"))?;
        Ok(Server { addr, stop, done })
    }
}

/// The native echo: a task per connection on a current-thread runtime.
fn native_server() -> anyhow::Result<Server> {
    Server::start("native echo", |tx, stopped| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        tx.send(listener.local_addr()?)?;
        let serve = async {
            loop {
                let (mut s, _) = listener.accept().await?;
                s.set_nodelay(true)?;
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
            #[allow(unreachable_code)]
            anyhow::Ok(())
        };
        tokio::select! {
            r = serve => r,
            _ = stopped => Ok(()),
        }
    })
}

/// The async-echo guest under wasock, on a current-thread runtime.
fn guest_server(
    runner: &Runner,
    component: &wasmtime::component::Component,
) -> anyhow::Result<Server> {
    let runner = runner.clone();
    let pre = runner.prepare(component)?;
    Server::start("async-echo guest", move |tx, stopped| async move {
        let mut b = Policy::builder();
        for r in ["tcp-bind=127.0.0.1:0", "tcp-accept=127.0.0.1:*"] {
            b = b.allow(r)?;
        }
        let ctx = WasockCtx::builder()
            .policy(Arc::new(b.build()))
            .limits(Limits {
                max_sockets: 4 * CONNECTIONS,
                ..Limits::default()
            })
            .build();
        let out = MemoryOutputPipe::new(4096);
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(out.clone()).arg("async-echo");
        let run = runner.run(&pre, HostState::new(wasi, ctx));
        let watch = report_listening(&out, tx, stopped);
        tokio::select! {
            exit = run => anyhow::bail!("the guest ended: {}", exit.describe()),
            r = watch => r,
        }
    })
}

/// 1,000 clients (on CPU 1) doing `rounds` round trips each.
fn load(addr: SocketAddr, rounds: u32) -> anyhow::Result<(Duration, Vec<Duration>)> {
    std::thread::spawn(move || {
        pin_to_cpu(1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let mut conns = Vec::with_capacity(CONNECTIONS);
            for _ in 0..CONNECTIONS {
                let s = tokio::net::TcpStream::connect(addr).await?;
                s.set_nodelay(true)?;
                conns.push(s);
            }
            let start = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for mut s in conns {
                tasks.spawn(async move {
                    let msg = [7u8; SIZE];
                    let mut back = [0u8; SIZE];
                    let mut rtts = Vec::with_capacity(rounds as usize);
                    for _ in 0..rounds {
                        let t = Instant::now();
                        s.write_all(&msg).await?;
                        s.read_exact(&mut back).await?;
                        rtts.push(t.elapsed());
                    }
                    anyhow::Ok(rtts)
                });
            }
            let mut all = Vec::with_capacity(CONNECTIONS * rounds as usize);
            while let Some(r) = tasks.join_next().await {
                all.extend(r??);
            }
            Ok((start.elapsed(), all))
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the load thread panicked"))?
}

fn measure(server: Server, rounds: u32) -> anyhow::Result<Measured> {
    let (wall, mut rtts) = load(server.addr, rounds)?;
    let cpu = server.finish()?;
    rtts.sort();
    let n = rtts.len();
    let p99 = rtts.get(n * 99 / 100).copied().unwrap_or_default();
    Ok(Measured {
        per_s: n as f64 / wall.as_secs_f64(),
        p99_us: p99.as_secs_f64() * 1e6,
        cpu_us: cpu.as_secs_f64() * 1e6 / n as f64,
    })
}

/// The guest compiled once.
pub struct Many {
    runner: Runner,
    component: wasmtime::component::Component,
}

impl Many {
    /// Compile the async-echo guest.
    pub fn new() -> anyhow::Result<Many> {
        let runner = Runner::new()?;
        let component = runner.load(Path::new(wasock_test_programs::ASYNC_ECHO))?;
        Ok(Many { runner, component })
    }

    /// Native tokio echo.
    pub fn native(&self, rounds: u32) -> anyhow::Result<Measured> {
        measure(native_server()?, rounds)
    }

    /// The async-echo guest.
    pub fn guest(&self, rounds: u32) -> anyhow::Result<Measured> {
        measure(guest_server(&self.runner, &self.component)?, rounds)
    }
}

/// Send the address of the guest's `listening on ADDR` line (in `out`) on
/// `tx` as soon as it appears, then wait for `stopped`.
pub(crate) async fn report_listening(
    out: &MemoryOutputPipe,
    tx: mpsc::Sender<SocketAddr>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<()> {
    loop {
        let text = String::from_utf8_lossy(&out.contents()).into_owned();
        if let Some(a) = text.lines().find_map(|l| l.strip_prefix("listening on ")) {
            tx.send(a.trim().parse::<SocketAddr>()?)?;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = stopped.await;
    Ok(())
}
