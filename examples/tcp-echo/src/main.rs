//! A TCP echo server for wasock, serving many clients at once with `poll`.
//!
//! Usage: `tcp-echo [ADDR]` (default `127.0.0.1:0`). The first line on
//! stdout is `listening on ADDR` with the address actually bound, the
//! second says how to connect; then it echoes every byte each client sends until the client closes, and serves
//! until killed.

use std::collections::HashMap;
use std::io::{self, Read, Write};

use wasock::Readiness;
use wasock::net::{TcpListener, TcpStream};
use wasock::poll::{PollFd, poll};

/// Most bytes held for a client that reads slower than it writes; reading
/// from it pauses until its backlog drains.
const MAX_BACKLOG: usize = 256 * 1024;

struct Client {
    stream: TcpStream,
    /// Received, not yet echoed.
    backlog: Vec<u8>,
    /// The client closed its sending side.
    closed: bool,
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let listener = match TcpListener::bind(addr.as_str()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tcp-echo: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    println!("listening on {local}");
    // Listening on every address: any of the host's will do, loopback too.
    let reach = match local.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    println!("connect with: nc {reach} {}", local.port());

    let mut clients: HashMap<u64, Client> = HashMap::new();
    let mut next_id = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    // Cleared when an accept fails at the instance's socket limit: the
    // listener stays readable, so polling it would spin. A client that
    // leaves makes room, and sets it again.
    let mut accepting = true;
    loop {
        let ids: Vec<u64> = clients.keys().copied().collect();
        let mut fds = Vec::with_capacity(ids.len() + 1);
        let wanted = if accepting {
            Readiness::READABLE
        } else {
            Readiness::empty()
        };
        fds.push(PollFd::new(&listener, wanted));
        for id in &ids {
            let c = &clients[id];
            let mut interest = Readiness::empty();
            if !c.closed && c.backlog.len() < MAX_BACKLOG {
                interest |= Readiness::READABLE;
            }
            if !c.backlog.is_empty() {
                interest |= Readiness::WRITABLE;
            }
            fds.push(PollFd::new(&c.stream, interest));
        }
        poll(&mut fds, None)?;
        let accept = fds[0].is_readable();
        let events: Vec<(u64, bool, bool, bool)> = ids
            .iter()
            .zip(&fds[1..])
            .map(|(id, f)| {
                (
                    *id,
                    f.is_readable(),
                    f.is_writable(),
                    f.is_hang_up() || f.is_error(),
                )
            })
            .collect();
        drop(fds);

        if accept {
            loop {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(true)?;
                        clients.insert(
                            next_id,
                            Client {
                                stream,
                                backlog: Vec::new(),
                                closed: false,
                            },
                        );
                        next_id += 1;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // At the instance's socket limit (`new-socket-limit`).
                    Err(e) if e.kind() == io::ErrorKind::QuotaExceeded => {
                        eprintln!("tcp-echo: accept failed: {e}");
                        if clients.is_empty() {
                            // No client to leave: try again in a while.
                            std::thread::sleep(std::time::Duration::from_millis(100));
                        } else {
                            eprintln!("tcp-echo: accepting again when a client leaves");
                            accepting = false;
                        }
                        break;
                    }
                    // One connection's trouble (a peer gone before it was
                    // taken): the next poll tries again.
                    Err(e) => {
                        eprintln!("tcp-echo: accept failed: {e}");
                        break;
                    }
                }
            }
        }

        for (id, readable, writable, broken) in events {
            let Some(c) = clients.get_mut(&id) else {
                continue;
            };
            let done = serve(c, readable, writable || broken, &mut buf).unwrap_or(true);
            if done {
                clients.remove(&id);
                accepting = true;
            }
        }
    }
}

/// Move bytes for one client; `Ok(true)` when it is finished with.
fn serve(c: &mut Client, readable: bool, writable: bool, buf: &mut [u8]) -> io::Result<bool> {
    if readable {
        let room = MAX_BACKLOG.saturating_sub(c.backlog.len()).min(buf.len());
        match c.stream.read(&mut buf[..room]) {
            Ok(0) => c.closed = true,
            Ok(n) => c.backlog.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    if writable || !c.backlog.is_empty() {
        match c.stream.write(&c.backlog) {
            Ok(n) => {
                c.backlog.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(c.closed && c.backlog.is_empty())
}
