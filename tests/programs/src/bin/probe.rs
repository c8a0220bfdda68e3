//! `probe COMMAND...`: a tiny interpreter of socket operations for the
//! policy tests. Each command prints `COMMAND: ok [DETAIL]` or
//! `COMMAND: error CODE` and the next one runs regardless.
//!
//! Commands (ADDR is `IP:PORT`, IPv6 in brackets):
//! - `tcp-bind ADDR`: a new stream socket bound to ADDR (the current one)
//! - `tcp-listen`: listen on the current stream socket
//! - `tcp-listen-new v4|v6`: listen on a new, unbound stream socket
//! - `tcp-connect ADDR`: connect the current stream socket, or a new one
//! - `tcp-connect-new ADDR`: connect a new stream socket (it becomes current)
//! - `tcp-accept`: accept on the current listener (3 s receive timeout)
//! - `udp-bind ADDR`: a new datagram socket bound to ADDR (the current one)
//! - `udp-new v4|v6`: a new unbound datagram socket (the current one)
//! - `udp-send ADDR`: send `ping` from the current datagram socket
//! - `udp-connect ADDR`: connect the current datagram socket
//! - `udp-recv`: receive on the current datagram socket (2 s timeout);
//!   prints the sender and payload
//! - `udp-echo-once`: receive one datagram and send it back to its sender
//! - `resolve NAME`: resolve, printing the addresses
//! - `connect-name NAME:PORT`: resolve and connect with the SDK
//! - `udp-rcvbuf BYTES`: set the current datagram socket's receive buffer
//! - `join-multicast GROUP`: join on the current datagram socket

use std::net::SocketAddr;
use std::time::Duration;

use wasock::addr::{from_std, ip_from_std, to_std};
use wasock::net::{TcpStream, lookup_host};
use wasock::raw::wasock::sockets::types::{
    AddressFamily, RecvFlags, SendFlags, SocketOption, SocketType,
};
use wasock::{ErrorCode, Socket};

fn family(s: &str) -> AddressFamily {
    if s == "v6" {
        AddressFamily::Ipv6
    } else {
        AddressFamily::Ipv4
    }
}

fn family_of(a: &SocketAddr) -> AddressFamily {
    if a.is_ipv6() {
        AddressFamily::Ipv6
    } else {
        AddressFamily::Ipv4
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|_| panic!("bad address {s}"))
}

const TIMEOUT: u64 = 3_000_000_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut stream: Option<Socket> = None;
    let mut dgram: Option<Socket> = None;
    // Sockets that stopped being current stay open until the end.
    let mut kept: Vec<Socket> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let cmd = args[i].as_str();
        let arg = args.get(i + 1).cloned().unwrap_or_default();
        let takes_arg = !matches!(
            cmd,
            "tcp-listen" | "tcp-accept" | "udp-recv" | "udp-echo-once"
        );
        let label = if takes_arg {
            format!("{cmd} {arg}")
        } else {
            cmd.to_string()
        };
        let result: Result<String, ErrorCode> = (|| match cmd {
            "tcp-bind" => {
                let a = addr(&arg);
                let s = Socket::open(family_of(&a), SocketType::Stream)?;
                s.bind(from_std(a))?;
                stream = Some(s);
                Ok(String::new())
            }
            "tcp-listen" => {
                let s = stream.as_ref().ok_or(ErrorCode::InvalidArgument)?;
                s.listen(16)?;
                Ok(to_std(s.local_address()?).to_string())
            }
            "tcp-listen-new" => {
                let s = Socket::open(family(&arg), SocketType::Stream)?;
                s.listen(16)?;
                let a = to_std(s.local_address()?);
                stream = Some(s);
                Ok(a.to_string())
            }
            "tcp-connect" | "tcp-connect-new" => {
                let a = addr(&arg);
                if cmd == "tcp-connect-new" || stream.is_none() {
                    stream = Some(Socket::open(family_of(&a), SocketType::Stream)?);
                }
                let s = stream.as_ref().unwrap();
                s.connect(from_std(a))?;
                Ok(String::new())
            }
            "tcp-accept" => {
                let s = stream.as_ref().ok_or(ErrorCode::InvalidArgument)?;
                s.set_option(SocketOption::ReceiveTimeout(Some(TIMEOUT)))?;
                let (_c, peer) = s.accept()?;
                Ok(to_std(peer).to_string())
            }
            "udp-bind" => {
                let a = addr(&arg);
                let s = Socket::open(family_of(&a), SocketType::Datagram)?;
                s.bind(from_std(a))?;
                let local = to_std(s.local_address()?);
                kept.extend(dgram.replace(s));
                Ok(local.to_string())
            }
            "udp-new" => {
                kept.extend(dgram.replace(Socket::open(family(&arg), SocketType::Datagram)?));
                Ok(String::new())
            }
            "udp-send" => {
                let s = dgram.as_ref().ok_or(ErrorCode::InvalidArgument)?;
                s.send_to(b"ping", from_std(addr(&arg)), SendFlags::empty())?;
                Ok(to_std(s.local_address()?).to_string())
            }
            "udp-connect" => {
                let s = dgram.as_ref().ok_or(ErrorCode::InvalidArgument)?;
                s.connect(from_std(addr(&arg)))?;
                Ok(String::new())
            }
            "udp-recv" | "udp-echo-once" => {
                let s = dgram.as_ref().ok_or(ErrorCode::InvalidArgument)?;
                s.set_option(SocketOption::ReceiveTimeout(Some(TIMEOUT)))?;
                let d = s.recv_from(2048, RecvFlags::empty())?;
                if cmd == "udp-echo-once" {
                    s.send_to(&d.data, d.remote_address, SendFlags::empty())?;
                }
                Ok(format!(
                    "{} {}",
                    to_std(d.remote_address),
                    String::from_utf8_lossy(&d.data)
                ))
            }
            "resolve" => {
                let ips = lookup_host(&arg)
                    .map_err(|e| wasock::error_code(&e).unwrap_or(ErrorCode::Unknown))?;
                Ok(ips
                    .iter()
                    .map(|ip| ip.to_string())
                    .collect::<Vec<_>>()
                    .join(","))
            }
            "connect-name" => {
                let s = TcpStream::connect(arg.as_str())
                    .map_err(|e| wasock::error_code(&e).unwrap_or(ErrorCode::Unknown))?;
                Ok(s.peer_addr().map(|a| a.to_string()).unwrap_or_default())
            }
            "udp-rcvbuf" => {
                let s = dgram.as_ref().ok_or(ErrorCode::InvalidArgument)?;
                s.set_option(SocketOption::ReceiveBufferSize(arg.parse().expect("bytes")))?;
                Ok(String::new())
            }
            "join-multicast" => {
                let s = dgram.as_ref().ok_or(ErrorCode::InvalidArgument)?;
                let ip: std::net::IpAddr = arg.parse().expect("group");
                s.join_multicast_group(ip_from_std(ip), 0)?;
                Ok(String::new())
            }
            other => panic!("unknown command {other}"),
        })();
        match result {
            Ok(detail) if detail.is_empty() => println!("{label}: ok"),
            Ok(detail) => println!("{label}: ok {detail}"),
            Err(e) => println!("{label}: error {}", e.name()),
        }
        i += if takes_arg { 2 } else { 1 };
    }
    // Keep a moment for peers to finish talking to us.
    std::thread::sleep(Duration::from_millis(10));
}
