//! `std_probe COMMAND...`: the same kind of probe as `probe`, written with
//! Rust's std::net only (standard wasi:sockets, no wasock imports), to show
//! that wasock's policy guards such programs unchanged. Prints
//! `COMMAND ARG: ok [DETAIL]` or `COMMAND ARG: error KIND`.
//!
//! Commands: `tcp-listen ADDR`, `tcp-accept` (on the last listener),
//! `tcp-connect ADDR`, `udp-bind ADDR`, `udp-send ADDR` (from the last
//! bound socket), `udp-recv` (on it), `resolve HOST:PORT`, `random N`
//! (N draws of `wasi:random`: how many distinct, and the first two).

use std::io;
use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut listener: Option<TcpListener> = None;
    let mut udp: Option<UdpSocket> = None;
    let mut i = 0;
    while i < args.len() {
        let cmd = args[i].as_str();
        let takes_arg = !matches!(cmd, "tcp-accept" | "udp-recv");
        let arg = if takes_arg {
            args.get(i + 1).cloned().unwrap_or_default()
        } else {
            String::new()
        };
        let result: io::Result<String> = (|| match cmd {
            "tcp-listen" => {
                let l = TcpListener::bind(arg.as_str())?;
                let a = l.local_addr()?;
                listener = Some(l);
                Ok(a.to_string())
            }
            "tcp-accept" => {
                let l = listener.as_ref().ok_or(io::ErrorKind::NotConnected)?;
                let (_s, peer) = l.accept()?;
                Ok(peer.to_string())
            }
            "tcp-connect" => {
                let s = TcpStream::connect(arg.as_str())?;
                Ok(s.peer_addr()?.to_string())
            }
            "udp-bind" => {
                let s = UdpSocket::bind(arg.as_str())?;
                let a = s.local_addr()?;
                // wasi-libc has no receive timeout on UDP sockets: a
                // receive then waits until a datagram comes.
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                udp = Some(s);
                Ok(a.to_string())
            }
            "udp-send" => {
                let s = udp.as_ref().ok_or(io::ErrorKind::NotConnected)?;
                s.send_to(b"ping", arg.as_str())?;
                Ok(String::new())
            }
            "udp-recv" => {
                let s = udp.as_ref().ok_or(io::ErrorKind::NotConnected)?;
                let mut buf = [0u8; 512];
                let (n, from) = s.recv_from(&mut buf)?;
                Ok(format!("{from} {}", String::from_utf8_lossy(&buf[..n])))
            }
            "resolve" => {
                let addrs: Vec<String> = arg
                    .as_str()
                    .to_socket_addrs()?
                    .map(|a| a.ip().to_string())
                    .collect();
                Ok(addrs.join(","))
            }
            "random" => {
                let n: usize = arg.parse().map_err(io::Error::other)?;
                let draws: Vec<u64> = (0..n)
                    .map(|_| wasip2::random::random::get_random_u64())
                    .collect();
                let distinct = draws.iter().collect::<std::collections::HashSet<_>>().len();
                let first: Vec<String> =
                    draws.iter().take(2).map(|d| format!("{d:016x}")).collect();
                Ok(format!("{distinct} distinct, first {}", first.join(" ")))
            }
            other => panic!("unknown command {other}"),
        })();
        let label = if takes_arg {
            format!("{cmd} {arg}")
        } else {
            cmd.to_string()
        };
        match result {
            Ok(d) if d.is_empty() => println!("{label}: ok"),
            Ok(d) => println!("{label}: ok {d}"),
            Err(e) => println!("{label}: error {:?}", e.kind()),
        }
        i += if takes_arg { 2 } else { 1 };
    }
}
