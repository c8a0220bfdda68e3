//! The benchmark guests' main, written once over a small [`Net`] trait that
//! each guest implements with its own socket API (wasock's SDK, or std::net
//! on standard wasi:sockets).
//!
//! Usage: `WORKLOAD ADDR ROUNDS SIZE`, where WORKLOAD is `tcp-rtt`,
//! `tcp-bulk`, `tcp-stream` (ROUNDS is then the total in bytes), `udp-rtt`,
//! `loop-rtt` (both ends in this guest: listen on ADDR, connect to it, and
//! bounce SIZE bytes between the two ends ROUNDS times; for providers with
//! no peer outside the component, such as memnet), `accept` (listen on ADDR, print `listening ADDR`, accept ROUNDS
//! connections, writing one byte to each), or `hold` (open ROUNDS
//! connections to ADDR, print `holding N`, and wait until the first one
//! closes).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use wasock_bench_workloads as w;

/// The socket API a guest benchmarks.
pub trait Net {
    /// A connected stream.
    type Stream: Read + Write;
    /// A listener.
    type Listener;
    /// A connected datagram socket.
    type Udp: w::Datagram;

    /// Connect, with `TCP_NODELAY`.
    fn connect(addr: &str) -> io::Result<Self::Stream>;
    /// Listen on `addr`; the listener and its real address.
    fn listen(addr: &str) -> io::Result<(Self::Listener, SocketAddr)>;
    /// Accept one connection.
    fn accept(l: &Self::Listener) -> io::Result<Self::Stream>;
    /// A datagram socket bound to `local`, connected to `peer`.
    fn udp(local: &str, peer: &str) -> io::Result<Self::Udp>;
}

struct Args {
    workload: String,
    addr: String,
    rounds: u32,
    size: usize,
}

fn args() -> Args {
    let a: Vec<String> = std::env::args().collect();
    let get = |i: usize| a.get(i).cloned().unwrap_or_default();
    Args {
        workload: get(1),
        addr: get(2),
        rounds: get(3).parse().unwrap_or(0),
        size: get(4).parse().unwrap_or(0),
    }
}

/// Run the workload the arguments name with `N`'s sockets.
pub fn main_with<N: Net>() -> io::Result<()> {
    let a = args();
    let value = match a.workload.as_str() {
        "tcp-rtt" => w::tcp_round_trips(&mut N::connect(&a.addr)?, a.rounds, a.size)?,
        "tcp-bulk" => w::tcp_ping_pong(&mut N::connect(&a.addr)?, a.rounds, a.size)?,
        "tcp-stream" => w::tcp_stream(&mut N::connect(&a.addr)?, a.rounds as usize, a.size)?,
        "udp-rtt" => {
            // Loopback for a loopback peer; otherwise any address (the
            // simulator's peer is on another host).
            let loopback = a.addr.starts_with("127.") || a.addr.starts_with("[::1]");
            let local = match (a.addr.starts_with('['), loopback) {
                (true, true) => "[::1]:0",
                (false, true) => "127.0.0.1:0",
                (true, false) => "[::]:0",
                (false, false) => "0.0.0.0:0",
            };
            w::udp_round_trips(&N::udp(local, &a.addr)?, a.rounds, a.size)?
        }
        "loop-rtt" => {
            let (l, addr) = N::listen(&a.addr)?;
            let mut client = N::connect(&addr.to_string())?;
            let mut server = N::accept(&l)?;
            let msg = vec![0x5a; a.size];
            let mut back = vec![0; a.size];
            let start = Instant::now();
            for _ in 0..a.rounds {
                client.write_all(&msg)?;
                server.read_exact(&mut back)?;
                server.write_all(&back)?;
                client.read_exact(&mut back)?;
            }
            start.elapsed().as_nanos() as f64 / f64::from(a.rounds.max(1))
        }
        "accept" => {
            let (l, addr) = N::listen(&a.addr)?;
            println!("listening {addr}");
            let start = Instant::now();
            for _ in 0..a.rounds {
                N::accept(&l)?.write_all(&[1])?;
            }
            f64::from(a.rounds) / start.elapsed().as_secs_f64()
        }
        "hold" => {
            let mut held: Vec<N::Stream> = (0..a.rounds)
                .map(|_| N::connect(&a.addr))
                .collect::<io::Result<_>>()?;
            println!("holding {}", held.len());
            let mut b = [0u8; 1];
            let _ = held[0].read(&mut b);
            return Ok(());
        }
        other => return Err(io::Error::other(format!("unknown workload {other}"))),
    };
    w::report(value);
    Ok(())
}
