//! A UDP echo server for wasock: every datagram goes back to its sender,
//! whole (record boundaries kept).
//!
//! Usage: `udp-echo [ADDR]` (default `127.0.0.1:0`). The first line on
//! stdout is `listening on ADDR` with the address actually bound; it serves
//! until killed.

use std::io;

use wasock::net::UdpSocket;

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let socket = match UdpSocket::bind(addr.as_str()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("udp-echo: cannot bind {addr}: {e}");
            std::process::exit(1);
        }
    };
    let local = socket.local_addr()?;
    println!("listening on {local}");
    // Bound to every address: any of the host's will do, loopback too.
    let reach = match local.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    println!("try: echo hello | nc -u -w1 {reach} {}", local.port());
    // Large enough for the largest datagram of either family.
    let mut buf = vec![0u8; 65536];
    loop {
        let msg = socket.recv_msg(&mut buf)?;
        if msg.truncated {
            eprintln!(
                "udp-echo: dropped a datagram from {} larger than {} bytes",
                msg.from,
                buf.len()
            );
            continue;
        }
        if let Err(e) = socket.send_to(&buf[..msg.len], msg.from) {
            eprintln!("udp-echo: cannot reply to {}: {e}", msg.from);
        }
    }
}
