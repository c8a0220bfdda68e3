//! A TCP echo server written against tokio alone, built for `wasm32-wasip2`:
//! no wasock SDK, just tokio's `TcpListener`, `TcpStream`, `select!` and
//! timers over standard `wasi:sockets`, which the host serves with the same
//! policy and limits as its own interface.
//!
//! Usage: `tokio-echo [ADDR] [--idle-timeout-ms N] [--stats-interval-ms N]`
//! (defaults `127.0.0.1:0`, 60000 and 10000). The first line on stdout is
//! `listening on ADDR`; it serves until killed. A connection that sends
//! nothing for the idle timeout is closed (and a line `idle PEER` printed);
//! every stats interval one line `stats: open=.. accepted=.. idle_closed=..
//! bytes=..` is printed.
//!
//! Build with tokio's networking for WASI switched on:
//! `RUSTFLAGS="--cfg tokio_unstable" cargo build --release --target wasm32-wasip2 -p tokio-echo`.
//! On that target the build script links a small `fcntl` shim
//! (`fcntl_shim.rs`) without which Rust 1.95's C library fails every
//! `accept` that mio makes.

#[cfg(all(target_os = "wasi", target_env = "p2"))]
mod fcntl_shim;

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, MissedTickBehavior};

/// What the command line asked for.
struct Options {
    addr: String,
    idle: Duration,
    stats: Duration,
}

fn usage(problem: &str) -> ! {
    eprintln!("tokio-echo: {problem}");
    eprintln!("usage: tokio-echo [ADDR] [--idle-timeout-ms N] [--stats-interval-ms N]");
    std::process::exit(2);
}

fn options() -> Options {
    let mut o = Options {
        addr: "127.0.0.1:0".to_string(),
        idle: Duration::from_secs(60),
        stats: Duration::from_secs(10),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut millis = |name: &str| -> Duration {
            let v = args
                .next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")));
            match v.parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => usage(&format!("{name} takes a positive number, not {v:?}")),
            }
        };
        match arg.as_str() {
            "--idle-timeout-ms" => o.idle = millis("--idle-timeout-ms"),
            "--stats-interval-ms" => o.stats = millis("--stats-interval-ms"),
            flag if flag.starts_with("--") => usage(&format!("unknown option {flag}")),
            addr => o.addr = addr.to_string(),
        }
    }
    o
}

/// Counters shared by the accept loop and the connection tasks.
#[derive(Default)]
struct Stats {
    open: AtomicU64,
    accepted: AtomicU64,
    idle_closed: AtomicU64,
    bytes: AtomicU64,
}

impl Stats {
    fn line(&self) -> String {
        format!(
            "stats: open={} accepted={} idle_closed={} bytes={}",
            self.open.load(Ordering::Relaxed),
            self.accepted.load(Ordering::Relaxed),
            self.idle_closed.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// Print a line and flush it at once: stdout may be a pipe a test reads.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let opts = options();
    let listener = match TcpListener::bind(opts.addr.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tokio-echo: cannot listen on {}: {e}", opts.addr);
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(a) => say(&format!("listening on {a}")),
        Err(e) => {
            eprintln!("tokio-echo: no local address: {e}");
            std::process::exit(1);
        }
    }

    let idle = opts.idle;
    let stats = Arc::new(Stats::default());
    // The first tick one period from now, not at once; a late tick is not
    // made up for.
    let mut ticker = tokio::time::interval_at(Instant::now() + opts.stats, opts.stats);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    stats.accepted.fetch_add(1, Ordering::Relaxed);
                    stats.open.fetch_add(1, Ordering::Relaxed);
                    let stats = stats.clone();
                    tokio::spawn(async move {
                        serve(stream, peer, idle, &stats).await;
                        stats.open.fetch_sub(1, Ordering::Relaxed);
                    });
                }
                // Out of sockets (the instance's limit) or a peer that left
                // before it was accepted: the others go on.
                Err(e) => {
                    eprintln!("tokio-echo: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = ticker.tick() => say(&stats.line()),
        }
    }
}

/// Echo everything `stream` sends until it ends, fails, or says nothing for
/// `idle`.
async fn serve(mut stream: TcpStream, peer: SocketAddr, idle: Duration, stats: &Stats) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 16 * 1024];
    let quiet = tokio::time::sleep(idle);
    tokio::pin!(quiet);
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) => {
                    // Orderly end from the peer: end ours too.
                    let _ = stream.shutdown().await;
                    return;
                }
                Ok(n) => {
                    if stream.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                    stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
                    quiet.as_mut().reset(Instant::now() + idle);
                }
                Err(_) => return,
            },
            () = &mut quiet => {
                stats.idle_closed.fetch_add(1, Ordering::Relaxed);
                say(&format!("idle {peer}"));
                return;
            }
        }
    }
}
