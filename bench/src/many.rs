//! Many connections at once: 1,000 clients, each sending 64-byte messages
//! and waiting for their echo, against (A) the same echo logic on native
//! tokio with a current-thread runtime and (B) the async-echo guest on the
//! SDK's runtime under wasock (as `wasock run` runs it: one thread).
//! Throughput, the 99th percentile round trip, and the server thread's CPU
//! per message.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasock_host::runtime::{Limits, Runner};

use crate::server::{self, Server};
use crate::stats::pin_to_cpu;

/// Connections at once.
pub const CONNECTIONS: usize = 1000;
/// Message size.
const SIZE: usize = 64;
/// Clients that talk, in the mostly idle case.
pub const BUSY: usize = 10;
/// Clients that stay connected and silent meanwhile.
pub const IDLE: usize = 2000;

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
    let limits = Limits {
        max_sockets: 4 * CONNECTIONS,
        ..Limits::default()
    };
    server::guest_server(
        "async-echo guest",
        runner,
        component,
        &["async-echo"],
        limits,
    )
}

/// `active` clients (on CPU 1) doing `rounds` round trips each, while
/// `idle` more stay connected and silent.
pub fn load_with(
    addr: SocketAddr,
    active: usize,
    idle: usize,
    rounds: u32,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    std::thread::spawn(move || {
        pin_to_cpu(1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let mut silent = Vec::with_capacity(idle);
            for _ in 0..idle {
                silent.push(tokio::net::TcpStream::connect(addr).await?);
            }
            let mut conns = Vec::with_capacity(active);
            for _ in 0..active {
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
            let mut all = Vec::with_capacity(active * rounds as usize);
            while let Some(r) = tasks.join_next().await {
                all.extend(r??);
            }
            let wall = start.elapsed();
            drop(silent);
            Ok((wall, all))
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the load thread panicked"))?
}

fn measure(server: Server, rounds: u32) -> anyhow::Result<Measured> {
    measure_with(server, CONNECTIONS, 0, rounds)
}

fn measure_with(
    server: Server,
    active: usize,
    idle: usize,
    rounds: u32,
) -> anyhow::Result<Measured> {
    let (wall, mut rtts) = load_with(server.addr, active, idle, rounds)?;
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

    /// Native tokio echo, [`BUSY`] clients among [`IDLE`] silent ones.
    pub fn native_mostly_idle(&self, rounds: u32) -> anyhow::Result<Measured> {
        measure_with(native_server()?, BUSY, IDLE, rounds)
    }

    /// The async-echo guest, [`BUSY`] clients among [`IDLE`] silent ones.
    pub fn guest_mostly_idle(&self, rounds: u32) -> anyhow::Result<Measured> {
        let server = guest_server(&self.runner, &self.component)?;
        measure_with(server, BUSY, IDLE, rounds)
    }
}
