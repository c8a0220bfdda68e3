//! Waits for one datagram by asking in a loop, never blocking:
//! `udp-spin BIND`. A non-blocking receive that finds nothing is retried
//! at once (up to 100 million times). Prints `received after N tries`.

use std::io::ErrorKind;

use sim_guests::arg;
use wasock::net::UdpSocket;

const USAGE: &str = "udp-spin BIND";

fn main() -> Result<(), sim_guests::Failed> {
    let bind: std::net::SocketAddr = arg(1, USAGE);
    let socket = UdpSocket::bind(bind)?;
    socket.set_nonblocking(true)?;
    println!("listening on {}", socket.local_addr()?);
    let mut buf = [0u8; 64];
    for tries in 1..=100_000_000u64 {
        match socket.recv_from(&mut buf) {
            Ok(_) => {
                println!("received after {tries} tries");
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
    }
    println!("nothing came");
    std::process::exit(1);
}
