//! `wasi_std FAMILY [peer TCP_ADDR UDP_ADDR]`: Rust's `std::net` on
//! wasm32-wasip2 (which wasi-libc serves with standard `wasi:sockets@0.2`),
//! the way ordinary programs use it. FAMILY is `v4` or `v6`.
//!
//! Without `peer` the program is self-contained (its peers are sockets it
//! creates itself, on loopback) and checks: `TcpListener` bind, local
//! address and accept; `TcpStream` connect (blocking, `connect_timeout`,
//! refused), local and peer addresses, blocking round trips, a 1 MiB
//! transfer each way in non-blocking mode, `set_nonblocking`
//! (`WouldBlock`), read and write timeouts, `peek` (data stays; or
//! reported unsupported), `shutdown` of each direction, TTL, the peer's
//! close, and an address in use; `UdpSocket` bind, `send_to`/`recv_from`
//! with the source address, `connect`/`send`/`recv`, `peer_addr` when
//! unconnected, datagram boundaries and truncation, a blocking receive,
//! `set_nonblocking`, `peek_from`, TTL. (TTL on IPv4 only, and no UDP
//! receive timeout: wasi-libc serves neither.)
//!
//! With `peer TCP_ADDR UDP_ADDR` it talks to real echo servers the host
//! test runs instead.
//!
//! Prints `CASE: ok` or `CASE: FAIL WHAT` per case and `done N cases`.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use wasock_guests::pattern;
use wasock_guests::wasi_check::{Cases, Fam, PATIENCE, Step, want, want_eq, want_ok};

/// A listener on loopback port 0 and its address.
fn listener(f: Fam) -> Step<(TcpListener, SocketAddr)> {
    let l = want_ok("bind", TcpListener::bind(f.loopback(0)))?;
    let a = want_ok("local_addr", l.local_addr())?;
    Ok((l, a))
}

/// A connected client and the accepted server side.
fn pair(f: Fam) -> Step<(TcpStream, TcpStream)> {
    let (l, a) = listener(f)?;
    let c = want_ok("connect", TcpStream::connect(a))?;
    let (s, _) = want_ok("accept", l.accept())?;
    for t in [&c, &s] {
        want_ok("set_read_timeout", t.set_read_timeout(Some(PATIENCE)))?;
        want_ok("set_write_timeout", t.set_write_timeout(Some(PATIENCE)))?;
    }
    Ok((c, s))
}

/// A UDP socket on loopback port 0, and its address.
fn udp(f: Fam) -> Step<(UdpSocket, SocketAddr)> {
    let u = want_ok("bind", UdpSocket::bind(f.loopback(0)))?;
    let a = want_ok("local_addr", u.local_addr())?;
    Ok((u, a))
}

/// Receive one datagram within [`PATIENCE`] (wasi-libc has no receive
/// timeout for UDP sockets, so this polls in non-blocking mode).
fn recv_within(u: &UdpSocket, buf: &mut [u8]) -> Step<(usize, SocketAddr)> {
    want_ok("set_nonblocking", u.set_nonblocking(true))?;
    let deadline = Instant::now() + PATIENCE;
    let r = loop {
        match u.recv_from(buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            r => break r,
        }
    };
    want_ok("set_nonblocking", u.set_nonblocking(false))?;
    want_ok("recv_from", r)
}

/// `r` must be an error of one of `kinds`.
fn want_kind<T: std::fmt::Debug>(what: &str, r: std::io::Result<T>, kinds: &[ErrorKind]) -> Step {
    match r {
        Err(e) if kinds.contains(&e.kind()) => Ok(()),
        other => Err(format!(
            "{what}: expected an error of {kinds:?}, got {other:?}"
        )),
    }
}

/// `f` fails with a timeout after about `timeout`.
fn times_out<T: std::fmt::Debug>(
    what: &str,
    timeout: Duration,
    f: impl FnOnce() -> std::io::Result<T>,
) -> Step {
    let start = Instant::now();
    let r = f();
    let took = start.elapsed();
    want_kind(what, r, &[ErrorKind::WouldBlock, ErrorKind::TimedOut])?;
    want(
        &format!("{what} waited about the timeout ({took:?} for {timeout:?})"),
        took >= timeout * 3 / 4 && took < PATIENCE,
    )
}

fn main() {
    let f = Fam::from_args();
    match std::env::args().nth(2).as_deref() {
        None => self_contained(f),
        Some("peer") => {
            let tcp = std::env::args().nth(3).and_then(|a| a.parse().ok());
            let udp = std::env::args().nth(4).and_then(|a| a.parse().ok());
            let (Some(tcp), Some(udp)) = (tcp, udp) else {
                println!("arguments: FAIL peer needs a TCP and a UDP address");
                std::process::exit(2);
            };
            with_peer(tcp, udp)
        }
        Some(other) => {
            println!("arguments: FAIL unknown mode {other}");
            std::process::exit(2);
        }
    }
}

fn self_contained(f: Fam) {
    let mut cases = Cases::new();

    // --- TCP ---
    cases.case("tcp-listener-bind-port-0", || {
        let (_l, a) = listener(f)?;
        want_eq("ip", a.ip(), f.loopback(0).ip())?;
        want("port assigned", a.port() != 0)
    });
    cases.case("tcp-connect-accept-addresses", || {
        let (l, a) = listener(f)?;
        let c = want_ok("connect", TcpStream::connect(a))?;
        let (s, peer) = want_ok("accept", l.accept())?;
        let local = want_ok("client local_addr", c.local_addr())?;
        want_eq("accepted peer", peer, local)?;
        want_eq("client peer_addr", want_ok("peer_addr", c.peer_addr())?, a)?;
        want_eq(
            "server local_addr",
            want_ok("local_addr", s.local_addr())?,
            a,
        )?;
        want_eq(
            "server peer_addr",
            want_ok("peer_addr", s.peer_addr())?,
            local,
        )
    });
    cases.case("tcp-round-trip", || {
        let (mut c, mut s) = pair(f)?;
        want_ok("client write_all", c.write_all(b"hello"))?;
        let mut buf = [0u8; 5];
        want_ok("server read_exact", s.read_exact(&mut buf))?;
        want_eq("server got", &buf, b"hello")?;
        want_ok("server write_all", s.write_all(b"world"))?;
        want_ok("client read_exact", c.read_exact(&mut buf))?;
        want_eq("client got", &buf, b"world")
    });
    cases.case("tcp-connect-timeout", || {
        let (l, a) = listener(f)?;
        let c = want_ok("connect_timeout", TcpStream::connect_timeout(&a, PATIENCE))?;
        let (_s, peer) = want_ok("accept", l.accept())?;
        want_eq("peer", peer, want_ok("local_addr", c.local_addr())?)
    });
    cases.case("tcp-connect-refused", || {
        // A port that was bound and is free again.
        let (l, a) = listener(f)?;
        drop(l);
        want_kind(
            "connect",
            TcpStream::connect(a),
            &[ErrorKind::ConnectionRefused],
        )?;
        // (Not `connect_timeout`: wasi-libc's poll reports a failed
        // connect as writable without POLLERR, so std takes it for a
        // success; that is the guest's libc, not the host.)
        Ok(())
    });
    cases.case("tcp-bind-in-use", || {
        let (_l, a) = listener(f)?;
        want_kind("bind", TcpListener::bind(a), &[ErrorKind::AddrInUse])
    });
    cases.case("tcp-nonblocking", || {
        let (l, a) = listener(f)?;
        want_ok("listener set_nonblocking", l.set_nonblocking(true))?;
        want_kind(
            "accept with nothing pending",
            l.accept(),
            &[ErrorKind::WouldBlock],
        )?;
        let mut c = want_ok("connect", TcpStream::connect(a))?;
        let deadline = Instant::now() + PATIENCE;
        let mut s = loop {
            match l.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(format!("accept: {e}")),
            }
        };
        want_ok("set_nonblocking", s.set_nonblocking(true))?;
        let mut buf = [0u8; 16];
        want_kind(
            "read with nothing sent",
            s.read(&mut buf),
            &[ErrorKind::WouldBlock],
        )?;
        want_ok("client write", c.write_all(b"now"))?;
        let deadline = Instant::now() + PATIENCE;
        loop {
            match s.read(&mut buf) {
                Ok(n) => {
                    want_eq("read", &buf[..n], b"now")?;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        want_ok("back to blocking", s.set_nonblocking(false))?;
        want_ok("client write", c.write_all(b"more"))?;
        want_ok("set_read_timeout", s.set_read_timeout(Some(PATIENCE)))?;
        let mut four = [0u8; 4];
        want_ok("blocking read_exact", s.read_exact(&mut four))?;
        want_eq("read", &four, b"more")
    });
    cases.case("tcp-read-timeout", || {
        let (mut c, _s) = pair(f)?;
        let t = Duration::from_millis(200);
        want_ok("set_read_timeout", c.set_read_timeout(Some(t)))?;
        want_eq(
            "read_timeout",
            want_ok("read_timeout", c.read_timeout())?,
            Some(t),
        )?;
        let mut buf = [0u8; 8];
        times_out("read", t, || c.read(&mut buf))
    });
    cases.case("tcp-write-timeout", || {
        let (c, _s) = pair(f)?;
        let t = Duration::from_millis(1500);
        want_ok("set_write_timeout", c.set_write_timeout(Some(t)))?;
        want_eq(
            "write_timeout",
            want_ok("write_timeout", c.write_timeout())?,
            Some(t),
        )?;
        want_ok("clear", c.set_write_timeout(None))?;
        want_eq(
            "write_timeout cleared",
            want_ok("write_timeout", c.write_timeout())?,
            None,
        )
    });
    cases.case("tcp-peek", || {
        let (mut c, mut s) = pair(f)?;
        want_ok("write", c.write_all(b"peekaboo"))?;
        // Wait for all the bytes by peeking (a read would consume them).
        let mut buf = [0u8; 8];
        let deadline = Instant::now() + PATIENCE;
        loop {
            match s.peek(&mut buf) {
                Ok(8) => break,
                Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Ok(n) => return Err(format!("peek: only {n} bytes")),
                Err(e) if e.kind() == ErrorKind::Unsupported => {
                    // Not every libc serves MSG_PEEK; the data must still be there.
                    break;
                }
                Err(e) => return Err(format!("peek: {e}")),
            }
        }
        let mut all = [0u8; 8];
        want_ok("read_exact after peek", s.read_exact(&mut all))?;
        want_eq("data intact", &all, b"peekaboo")
    });
    // wasi-libc serves IP_TTL on IPv4 sockets only.
    if !f.v6 {
        cases.case("tcp-ttl", || {
            let (c, _s) = pair(f)?;
            want_ok("set_ttl", c.set_ttl(42))?;
            want_eq("ttl", want_ok("ttl", c.ttl())?, 42)
        });
    }
    cases.case("tcp-shutdown-write", || {
        let (mut c, mut s) = pair(f)?;
        want_ok("write", c.write_all(b"last"))?;
        want_ok("shutdown write", c.shutdown(Shutdown::Write))?;
        let mut got = Vec::new();
        want_ok("server read_to_end", s.read_to_end(&mut got))?;
        want_eq("server got", got.as_slice(), b"last")?;
        want("write after shutdown fails", c.write_all(b"more").is_err())?;
        want_ok("server still writes", s.write_all(b"reply"))?;
        let mut buf = [0u8; 5];
        want_ok("client reads", c.read_exact(&mut buf))?;
        want_eq("client got", &buf, b"reply")
    });
    cases.case("tcp-shutdown-read", || {
        let (mut c, mut s) = pair(f)?;
        want_ok("shutdown read", s.shutdown(Shutdown::Read))?;
        let mut buf = [0u8; 8];
        want_eq("read after shutdown", want_ok("read", s.read(&mut buf))?, 0)?;
        want_ok("server still writes", s.write_all(b"ok"))?;
        let mut two = [0u8; 2];
        want_ok("client reads", c.read_exact(&mut two))?;
        want_eq("client got", &two, b"ok")
    });
    cases.case("tcp-shutdown-both", || {
        let (mut c, mut s) = pair(f)?;
        want_ok("shutdown both", c.shutdown(Shutdown::Both))?;
        let mut got = Vec::new();
        want_ok("server read_to_end", s.read_to_end(&mut got))?;
        want_eq("server got nothing", got.len(), 0)?;
        let mut buf = [0u8; 8];
        want_eq("client read", want_ok("read", c.read(&mut buf))?, 0)
    });
    cases.case("tcp-peer-close", || {
        let (mut c, mut s) = pair(f)?;
        want_ok("write", s.write_all(b"bye"))?;
        drop(s);
        let mut got = Vec::new();
        want_ok("read_to_end", c.read_to_end(&mut got))?;
        want_eq("got", got.as_slice(), b"bye")
    });
    cases.case("tcp-1mib-both-ways-nonblocking", || {
        let (c, s) = pair(f)?;
        want_ok("set_nonblocking", c.set_nonblocking(true))?;
        want_ok("set_nonblocking", s.set_nonblocking(true))?;
        let data = pattern(1 << 20);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut sent = [0usize; 2];
        let mut got: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        let mut buf = vec![0u8; 65536];
        while got.iter().any(|g| g.len() < data.len()) {
            if Instant::now() > deadline {
                return Err(format!(
                    "transfer: {} and {} bytes",
                    got[0].len(),
                    got[1].len()
                ));
            }
            let mut progress = false;
            // `&TcpStream` reads and writes: each end is both a writer
            // (`ends[i].0`) and the reader of the other (`ends[i].1`).
            for (i, (mut from, mut to)) in [(&c, &s), (&s, &c)].into_iter().enumerate() {
                if sent[i] < data.len() {
                    match from.write(&data[sent[i]..]) {
                        Ok(n) => {
                            sent[i] += n;
                            progress |= n > 0;
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => return Err(format!("write: {e}")),
                    }
                }
                match to.read(&mut buf) {
                    Ok(0) => return Err("unexpected end of stream".into()),
                    Ok(n) => {
                        got[i].extend_from_slice(&buf[..n]);
                        progress = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Err(format!("read: {e}")),
                }
            }
            if !progress {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        want("client to server intact", got[0] == data)?;
        want("server to client intact", got[1] == data)
    });

    // --- UDP ---
    cases.case("udp-bind-port-0", || {
        let (_u, a) = udp(f)?;
        want_eq("ip", a.ip(), f.loopback(0).ip())?;
        want("port assigned", a.port() != 0)
    });
    cases.case("udp-send-to-recv-from", || {
        let (a, a_addr) = udp(f)?;
        let (b, b_addr) = udp(f)?;
        want_eq(
            "send_to",
            want_ok("send_to", a.send_to(b"ping", b_addr))?,
            4,
        )?;
        let mut buf = [0u8; 64];
        let (n, from) = recv_within(&b, &mut buf)?;
        want_eq("data", &buf[..n], b"ping")?;
        want_eq("from", from, a_addr)
    });
    cases.case("udp-connect-send-recv", || {
        let (a, a_addr) = udp(f)?;
        let (b, b_addr) = udp(f)?;
        want_ok("connect", a.connect(b_addr))?;
        want_eq("peer_addr", want_ok("peer_addr", a.peer_addr())?, b_addr)?;
        want_ok("send", a.send(b"hi"))?;
        let mut buf = [0u8; 64];
        let (n, from) = recv_within(&b, &mut buf)?;
        want_eq("data", &buf[..n], b"hi")?;
        want_eq("from", from, a_addr)?;
        want_ok("send_to back", b.send_to(b"back", a_addr))?;
        let n = recv_within(&a, &mut buf)?.0;
        want_eq("reply", &buf[..n], b"back")
    });
    cases.case("udp-peer-addr-unconnected", || {
        let (a, _) = udp(f)?;
        want_kind("peer_addr", a.peer_addr(), &[ErrorKind::NotConnected])
    });
    cases.case("udp-boundaries-and-truncation", || {
        let (a, _) = udp(f)?;
        let (b, b_addr) = udp(f)?;
        for n in [1usize, 700, 3000] {
            want_ok("send_to", a.send_to(&pattern(n), b_addr))?;
        }
        let mut buf = vec![0u8; 65536];
        let mut sizes = Vec::new();
        for _ in 0..3 {
            let (n, _) = recv_within(&b, &mut buf)?;
            want("payload intact", buf[..n] == pattern(n)[..])?;
            sizes.push(n);
        }
        sizes.sort();
        want_eq("sizes", sizes, vec![1, 700, 3000])?;
        // A buffer smaller than the datagram gets its start; the rest is gone.
        want_ok("send_to", a.send_to(b"0123456789", b_addr))?;
        want_ok("send_to", a.send_to(b"next", b_addr))?;
        let mut small = [0u8; 4];
        let (n, _) = recv_within(&b, &mut small)?;
        want_eq("truncated", &small[..n], b"0123")?;
        let (n, _) = recv_within(&b, &mut buf)?;
        want_eq("next datagram", &buf[..n], b"next")
    });
    cases.case("udp-nonblocking", || {
        let (a, _) = udp(f)?;
        want_ok("set_nonblocking", a.set_nonblocking(true))?;
        let mut buf = [0u8; 8];
        want_kind(
            "recv_from with nothing",
            a.recv_from(&mut buf),
            &[ErrorKind::WouldBlock],
        )
    });
    cases.case("udp-blocking-recv", || {
        let (a, a_addr) = udp(f)?;
        let (b, b_addr) = udp(f)?;
        // Sent first, so the blocking receive has something coming.
        want_ok("send_to", a.send_to(b"queued", b_addr))?;
        let mut buf = [0u8; 16];
        let (n, from) = want_ok("blocking recv_from", b.recv_from(&mut buf))?;
        want_eq("data", &buf[..n], b"queued")?;
        want_eq("from", from, a_addr)
    });
    cases.case("udp-peek-from", || {
        let (a, a_addr) = udp(f)?;
        let (b, b_addr) = udp(f)?;
        want_ok("send_to", a.send_to(b"look", b_addr))?;
        let mut buf = [0u8; 16];
        match b.peek_from(&mut buf) {
            Ok((n, from)) => {
                want_eq("peeked", &buf[..n], b"look")?;
                want_eq("peeked from", from, a_addr)?;
            }
            Err(e) if e.kind() == ErrorKind::Unsupported => {}
            Err(e) => return Err(format!("peek_from: {e}")),
        }
        let (n, _) = recv_within(&b, &mut buf)?;
        want_eq("data intact", &buf[..n], b"look")
    });
    if !f.v6 {
        cases.case("udp-ttl", || {
            let (a, _) = udp(f)?;
            want_ok("set_ttl", a.set_ttl(9))?;
            want_eq("ttl", want_ok("ttl", a.ttl())?, 9)
        });
    }

    cases.finish()
}

/// The cases against real echo servers at `tcp` and `udp`.
fn with_peer(tcp: SocketAddr, udp: SocketAddr) {
    let mut cases = Cases::new();
    cases.case("peer-tcp-echo", || {
        let mut c = want_ok("connect", TcpStream::connect_timeout(&tcp, PATIENCE))?;
        want_ok("set_read_timeout", c.set_read_timeout(Some(PATIENCE)))?;
        want_eq("peer_addr", want_ok("peer_addr", c.peer_addr())?, tcp)?;
        let msg = b"ping from wasi_std\n";
        want_ok("write_all", c.write_all(msg))?;
        let mut buf = vec![0u8; msg.len()];
        want_ok("read_exact", c.read_exact(&mut buf))?;
        want_eq("echo", buf.as_slice(), msg.as_slice())?;
        want_ok("shutdown write", c.shutdown(Shutdown::Write))?;
        let mut rest = Vec::new();
        want_ok("read_to_end", c.read_to_end(&mut rest))?;
        want_eq("nothing more", rest.len(), 0)
    });
    cases.case("peer-udp-echo", || {
        let any: SocketAddr = if udp.is_ipv6() {
            "[::1]:0".parse().unwrap()
        } else {
            "127.0.0.1:0".parse().unwrap()
        };
        let u = want_ok("bind", UdpSocket::bind(any))?;
        want_ok("send_to", u.send_to(b"udp ping", udp))?;
        let mut buf = [0u8; 64];
        let (n, from) = recv_within(&u, &mut buf)?;
        want_eq("echo", &buf[..n], b"udp ping")?;
        want_eq("from", from, udp)
    });
    cases.finish()
}
