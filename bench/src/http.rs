//! HTTP under wrk: `wrk -t1 -c50` (pinned to CPU 1) asking for `GET /` on
//! keep-alive connections of (A) the `http` example's logic run natively
//! and (B) the `http` guest as `wasock run` runs it, each server on one
//! thread pinned to CPU 0. Requests per second, and the server thread's
//! CPU time per request.
//!
//! A is the very code of the guest: `examples/http/src/http1.rs` (parsing,
//! routing, response heads) and `conn.rs` (a connection, as an `async fn`
//! over an I/O trait) are included here as they are, and run as a tokio
//! task per connection on a current-thread runtime, where the guest drives
//! them with its `poll` loop; the answers are the same bytes. B runs in
//! this process as `wasock run` runs a guest: wasock's default engine
//! configuration and limits, on a current-thread tokio runtime.

#[path = "../../examples/http/src/conn.rs"]
mod conn;
#[path = "../../examples/http/src/http1.rs"]
mod http1;

use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasock_host::runtime::{Limits, Runner};

use crate::Row;
use crate::server::{self, Server};

/// The rows this module fills: requests per second, and the server
/// thread's CPU per request in µs (lower is better).
pub fn rows() -> [Row; 2] {
    [
        Row::new("http_wrk_50conn_req_per_s", false),
        Row::new("http_wrk_cpu_us_per_req", true),
    ]
}

/// wrk's connections.
const CONNECTIONS: u32 = 50;
/// How long wrk runs against each side, per run.
const SECONDS: u32 = 3;

/// The guest's and the native server's connection settings.
const CONFIG: conn::Config = conn::Config {
    idle: Duration::from_secs(5),
};

/// One measurement.
#[derive(Debug, Clone, Copy)]
struct Measured {
    /// Requests answered per second (wrk's `Requests/sec`).
    per_s: f64,
    /// The server thread's CPU time per request, µs.
    cpu_us: f64,
}

/// A connection on tokio's sockets.
struct Native(tokio::net::TcpStream);

impl conn::Io for Native {
    async fn read(&mut self, buf: &mut [u8], within: Duration) -> io::Result<usize> {
        tokio::time::timeout(within, self.0.read(buf))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
    }

    async fn write_all(&mut self, mut buf: &[u8], within: Duration) -> io::Result<()> {
        while !buf.is_empty() {
            let n = tokio::time::timeout(within, self.0.write(buf))
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    async fn shutdown_write(&mut self) {
        let _ = self.0.shutdown().await;
    }

    async fn yield_now(&mut self) {
        tokio::task::yield_now().await;
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A: the guest's logic on tokio, a task per connection.
fn native_server() -> anyhow::Result<Server> {
    Server::start("native http server", |tx, stopped| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        tx.send(listener.local_addr()?)?;
        tokio::task::spawn_local(async {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                http1::set_date(unix_now());
            }
        });
        tokio::select! {
            r = accept_loop(&listener) => r,
            _ = stopped => Ok(()),
        }
    })
}

/// Accept connections and serve each in a task of its own.
async fn accept_loop(listener: &tokio::net::TcpListener) -> anyhow::Result<()> {
    loop {
        let (s, _) = listener.accept().await?;
        s.set_nodelay(true)?;
        tokio::task::spawn_local(conn::serve(Native(s), CONFIG));
    }
}

/// B: the `http` guest under wasock.
fn guest_server(
    runner: &Runner,
    component: &wasmtime::component::Component,
) -> anyhow::Result<Server> {
    let args = &["http.wasm", "127.0.0.1:0"];
    server::guest_server("http guest", runner, component, args, Limits::default())
}

fn measure(server: Server, secs: u32) -> anyhow::Result<Measured> {
    // wrk on the CPU the server is not pinned to.
    let load = crate::wrk::run(
        server.addr,
        crate::wrk::Load {
            secs,
            connections: CONNECTIONS,
            close: false,
        },
        Some(1),
    );
    let cpu = server.finish()?;
    let load = load?;
    Ok(Measured {
        per_s: load.per_s,
        cpu_us: cpu.as_secs_f64() * 1e6 / load.total.max(1.0),
    })
}

/// The guest compiled once.
pub struct HttpBench {
    runner: Runner,
    component: wasmtime::component::Component,
}

impl HttpBench {
    /// Compile the `http` guest; `None` (having said why) without wrk.
    pub fn new() -> anyhow::Result<Option<HttpBench>> {
        if !crate::wrk::installed("http") {
            return Ok(None);
        }
        let runner = Runner::new()?;
        let component = runner.load(Path::new(wasock_test_programs::HTTP))?;
        Ok(Some(HttpBench { runner, component }))
    }

    /// A: the native server.
    fn native(&self) -> anyhow::Result<Measured> {
        measure(native_server()?, SECONDS)
    }

    /// B: the guest.
    fn guest(&self) -> anyhow::Result<Measured> {
        measure(guest_server(&self.runner, &self.component)?, SECONDS)
    }

    /// Run `run` of the benchmark: both sides, A first in even runs and B
    /// first in odd ones, into [`rows`]'s rows.
    pub fn run(&self, run: usize, rows: &mut [Row; 2]) -> anyhow::Result<()> {
        let (a, b) = crate::stats::in_turn(run, || self.native(), || self.guest())?;
        for (row, (va, vb)) in rows
            .iter_mut()
            .zip([(a.per_s, b.per_s), (a.cpu_us, b.cpu_us)])
        {
            row.a.0.push(va);
            row.b.0.push(vb);
        }
        Ok(())
    }
}
