//! The benchmark workloads, written once against `Read + Write` and a
//! datagram trait, so that the native baseline (A), the wasock guest (B)
//! and the std::net guest (C) run exactly the same logic.

use std::io::{self, Read, Write};
use std::time::Instant;

/// One datagram socket's operations, as both `std::net::UdpSocket` and
/// `wasock::net::UdpSocket` offer them.
pub trait Datagram {
    /// Send one datagram to the connected peer.
    fn send(&self, buf: &[u8]) -> io::Result<usize>;
    /// Receive one datagram from the connected peer.
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize>;
}

/// Round trips of `size`-byte messages on a stream to an echo server:
/// write one, read it back whole. Returns nanoseconds per round trip.
pub fn tcp_round_trips<S: Read + Write>(s: &mut S, rounds: u32, size: usize) -> io::Result<f64> {
    let msg = vec![0x5a; size];
    let mut back = vec![0; size];
    let start = Instant::now();
    for _ in 0..rounds {
        s.write_all(&msg)?;
        s.read_exact(&mut back)?;
    }
    Ok(start.elapsed().as_nanos() as f64 / f64::from(rounds))
}

/// Bulk ping-pong: `rounds` times, write `size` bytes and read them back
/// from an echo server. Returns bytes per second, counting both directions.
pub fn tcp_ping_pong<S: Read + Write>(s: &mut S, rounds: u32, size: usize) -> io::Result<f64> {
    tcp_round_trips(s, rounds, size).map(|ns| 2.0 * size as f64 / (ns / 1e9))
}

/// One-way streaming of `total` bytes in `chunk`-byte writes to a sink,
/// after an 8-byte little-endian length; the sink acknowledges the end with
/// one byte. Returns bytes per second.
pub fn tcp_stream<S: Read + Write>(s: &mut S, total: usize, chunk: usize) -> io::Result<f64> {
    let buf = vec![0xa5; chunk];
    let start = Instant::now();
    s.write_all(&(total as u64).to_le_bytes())?;
    let mut sent = 0;
    while sent < total {
        let n = chunk.min(total - sent);
        s.write_all(&buf[..n])?;
        sent += n;
    }
    let mut ack = [0u8; 1];
    s.read_exact(&mut ack)?;
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// Round trips of `size`-byte datagrams with an echo peer. Returns
/// nanoseconds per round trip.
pub fn udp_round_trips<D: Datagram>(d: &D, rounds: u32, size: usize) -> io::Result<f64> {
    let msg = vec![0x3c; size];
    let mut back = vec![0; size + 1];
    let start = Instant::now();
    for _ in 0..rounds {
        d.send(&msg)?;
        let n = d.recv(&mut back)?;
        if n != size {
            return Err(io::Error::other(format!(
                "echo of {size} bytes came back as {n}"
            )));
        }
    }
    Ok(start.elapsed().as_nanos() as f64 / f64::from(rounds))
}

/// The line a guest prints for the host to read: `result VALUE`.
pub fn report(value: f64) {
    println!("result {value}");
}

/// Parse a guest's `result VALUE` line.
pub fn parse_report(stdout: &str) -> Option<f64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("result "))
        .and_then(|v| v.trim().parse().ok())
}
