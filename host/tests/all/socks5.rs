//! `examples/socks5`: a SOCKS5 proxy guest under `wasock run` with a
//! minimal policy, driven by a real `curl` and by raw sockets. Granted
//! destinations (by address, by name through a `--resolve` pin, IPv6) are
//! reached; refused ones get reply 2 and the host logs the denial; the
//! protocol's other refusals, bad input, half-close, many clients at once
//! and an 8 MiB transfer each way.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wasock_test_programs::SOCKS5;

use crate::common::{Guest, PATIENCE, pattern};

/// A native target server: accepts up to `max` connections for at most
/// twice the test's patience, each handled on its own thread.
struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    fn start(bind: &str, max: usize, handle: impl Fn(TcpStream) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind(bind).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let handle = Arc::new(handle);
        std::thread::spawn(move || {
            let deadline = Instant::now() + 2 * PATIENCE;
            while Instant::now() < deadline && count.load(Ordering::SeqCst) < max {
                match listener.accept() {
                    Ok((s, _)) => {
                        count.fetch_add(1, Ordering::SeqCst);
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(PATIENCE)).unwrap();
                        s.set_write_timeout(Some(PATIENCE)).unwrap();
                        let handle = handle.clone();
                        std::thread::spawn(move || (*handle)(s));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(e) => panic!("target server accept: {e}"),
                }
            }
        });
        Server { addr, accepted }
    }

    /// An HTTP/1.1 server answering every request with `body`.
    fn http(bind: &str, body: Vec<u8>) -> Server {
        let body = Arc::new(body);
        Server::start(bind, 64, move |mut s| {
            let mut head = Vec::new();
            let mut b = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&b[..n]),
                }
            }
            let header = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(header.as_bytes());
            let _ = s.write_all(&body);
        })
    }

    /// Echoes every byte; ends its side when the client ends its.
    fn echo() -> Server {
        Server::start("127.0.0.1:0", 256, |mut s| {
            let mut b = vec![0u8; 16 * 1024];
            loop {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if s.write_all(&b[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = s.shutdown(Shutdown::Write);
        })
    }

    /// Reads to the end, then answers `LEN HASH` and closes: only an end
    /// passed on by the proxy gets an answer.
    fn count() -> Server {
        Server::start("127.0.0.1:0", 16, |mut s| {
            let mut b = vec![0u8; 64 * 1024];
            let (mut len, mut hash) = (0usize, FNV_OFFSET);
            loop {
                match s.read(&mut b) {
                    Ok(0) => break,
                    Ok(n) => {
                        len += n;
                        hash = fnv(hash, &b[..n]);
                    }
                    Err(_) => return,
                }
            }
            let _ = write!(s, "{len} {hash:016x}");
        })
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(mut h: u64, data: &[u8]) -> u64 {
    for &b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The proxy under `wasock run` with the minimal policy (bind and accept on
/// 127.0.0.1), `allow`'s rules, `--resolve app.test=127.0.0.1` and `pins`
/// (`NAME=IP`); and the address it listens on.
fn proxy_with(allow: &[String], pins: &[&str]) -> (Guest, SocketAddr) {
    let mut args = vec![
        "run".to_string(),
        "--allow".into(),
        "tcp-bind=127.0.0.1:*".into(),
        "--allow".into(),
        "tcp-accept=127.0.0.1:*".into(),
        "--resolve".into(),
        "app.test=127.0.0.1".into(),
    ];
    for a in allow {
        args.extend(["--allow".to_string(), a.clone()]);
    }
    for p in pins {
        args.extend(["--resolve".to_string(), p.to_string()]);
    }
    args.extend([SOCKS5.to_string(), "127.0.0.1:0".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let g = Guest::spawn(&args);
    let addr = g.listening_addr();
    assert!(addr.port() != 0, "{addr}");
    (g, addr)
}

/// [`proxy_with`] without further pins.
fn proxy(allow: &[String]) -> (Guest, SocketAddr) {
    proxy_with(allow, &[])
}

/// Run `curl ARGS...` (bounded by `--max-time`; no `.curlrc`, no
/// `NO_PROXY` from the environment); fails the test if curl is not
/// installed.
fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .args(["-q", "-sS", "--max-time", "30"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run curl ({e}); install curl"))
}

/// `curl` through the proxy at `proxy` (`how`: `--socks5` or
/// `--socks5-hostname`), expecting success: the body.
fn get(how: &str, proxy: SocketAddr, url: &str) -> Vec<u8> {
    let out = curl(&[how, &proxy.to_string(), url]);
    assert!(
        out.status.success(),
        "curl {how} {url}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `curl` through the proxy, expecting SOCKS reply `code`: curl's exit
/// code 97 (proxy handshake error) and its message, which names the reply
/// by number (`Can't complete SOCKS5 connection to HOST. (2)`); curl's
/// stderr.
fn refused(how: &str, proxy: SocketAddr, url: &str, code: u8) -> String {
    let out = curl(&["-o", "/dev/null", how, &proxy.to_string(), url]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(97), "curl {how} {url}: {stderr}");
    assert!(
        stderr.contains("SOCKS5 connection") && stderr.contains(&format!("({code})")),
        "curl {how} {url}: expected reply {code}: {stderr}"
    );
    stderr
}

/// Wait until the proxy's stderr contains `want`.
fn stderr_has(g: &Guest, want: &str) {
    let deadline = Instant::now() + PATIENCE;
    while !g.stderr().contains(want) {
        assert!(
            Instant::now() < deadline,
            "no {want:?} on stderr:\n{}",
            g.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn curl_reaches_granted_targets_by_name_and_by_address() {
    let by_addr = Server::http("127.0.0.1:0", b"by address\n".to_vec());
    let by_name = Server::http("127.0.0.1:0", b"by name\n".to_vec());
    let (_g, p) = proxy(&[
        format!("tcp-connect=127.0.0.1:{}", by_addr.port()),
        format!("tcp-connect=app.test:{}", by_name.port()),
    ]);
    let name_url = format!("http://app.test:{}/", by_name.port());
    let addr_url = format!("http://127.0.0.1:{}/", by_addr.port());
    // The proxy resolves the name (the host's pin) and uses the grant by
    // name; an address is granted as itself, sent as one (ATYP 1) or as a
    // name (ATYP 3) that is a literal.
    assert_eq!(get("--socks5-hostname", p, &name_url), b"by name\n");
    assert_eq!(get("--socks5", p, &addr_url), b"by address\n");
    assert_eq!(get("--socks5-hostname", p, &addr_url), b"by address\n");
}

#[test]
fn curl_reaches_a_granted_ipv6_target() {
    let v6 = Server::http("[::1]:0", b"over IPv6\n".to_vec());
    let (_g, p) = proxy(&[format!("tcp-connect=[::1]:{}", v6.port())]);
    let url = format!("http://[::1]:{}/", v6.port());
    assert_eq!(get("--socks5", p, &url), b"over IPv6\n");
    assert_eq!(get("--socks5-hostname", p, &url), b"over IPv6\n");
}

#[test]
fn refused_destinations_get_reply_2_and_the_host_logs_each_denial() {
    let granted = Server::http("127.0.0.1:0", b"granted\n".to_vec());
    let other = Server::http("127.0.0.1:0", b"must not be reached\n".to_vec());
    let (gp, op) = (granted.port(), other.port());
    // The host logs one line a second per operation and address, so each
    // case is refused at an address of its own.
    let (g, p) = proxy_with(
        &[
            format!("tcp-connect=127.0.0.1:{gp}"),
            format!("tcp-connect=api.test:{gp}"),
        ],
        &["api.test=127.0.0.3"],
    );
    let cases = [
        // Another port, by address.
        (
            "--socks5",
            format!("http://127.0.0.1:{op}/"),
            format!("denied tcp-connect 127.0.0.1:{op}: no rule grants it"),
        ),
        // Another address, same port.
        (
            "--socks5",
            format!("http://127.0.0.2:{gp}/"),
            format!("denied tcp-connect 127.0.0.2:{gp}: no rule grants it"),
        ),
        // A name granted at another port: resolved, then refused.
        (
            "--socks5-hostname",
            format!("http://api.test:{op}/"),
            format!("denied tcp-connect 127.0.0.3:{op} (api.test): no rule grants it"),
        ),
        // A name nothing grants: refused before any lookup.
        (
            "--socks5-hostname",
            format!("http://other.test:{gp}/"),
            "denied resolve other.test: no rule grants it".to_string(),
        ),
    ];
    for (how, url, denial) in cases {
        // Reply 2: "connection not allowed by ruleset".
        refused(how, p, &url, 2);
        stderr_has(&g, &denial);
    }
    assert_eq!(other.accepted(), 0, "a refused destination was reached");
    // The proxy goes on serving what is granted.
    let url = format!("http://127.0.0.1:{gp}/");
    assert_eq!(get("--socks5", p, &url), b"granted\n");
}

#[test]
fn a_closed_port_is_reply_5() {
    // A port held bound but not listening, for the whole test: a connect
    // to it is refused, and neither another test's listener nor the
    // guest's own ephemeral port (a loopback self-connect) can take it, as
    // a port freed before the test could be.
    let closed = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    closed
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let port = closed.local_addr().unwrap().as_socket().unwrap().port();
    let (_g, p) = proxy(&[format!("tcp-connect=127.0.0.1:{port}")]);
    refused("--socks5", p, &format!("http://127.0.0.1:{port}/"), 5);
}

/// A raw connection to the proxy with every wait bounded.
fn raw(proxy: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(proxy).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.set_write_timeout(Some(PATIENCE)).unwrap();
    s
}

/// Greet offering "no authentication" and expect it chosen.
fn greeted(proxy: SocketAddr) -> TcpStream {
    let mut s = raw(proxy);
    s.write_all(&[5, 1, 0]).unwrap();
    let mut r = [0u8; 2];
    s.read_exact(&mut r).unwrap();
    assert_eq!(r, [5, 0]);
    s
}

/// An IPv4 request: `VER CMD RSV ATYP ADDR PORT`.
fn request(cmd: u8, to: SocketAddr) -> Vec<u8> {
    let SocketAddr::V4(v4) = to else {
        panic!("{to}")
    };
    let mut r = vec![5, cmd, 0, 1];
    r.extend_from_slice(&v4.ip().octets());
    r.extend_from_slice(&to.port().to_be_bytes());
    r
}

/// Read a reply: its code and bound address.
fn reply(s: &mut TcpStream) -> (u8, SocketAddr) {
    let mut head = [0u8; 4];
    s.read_exact(&mut head).unwrap();
    assert_eq!(head[0], 5, "{head:?}");
    let ip: std::net::IpAddr = match head[3] {
        1 => {
            let mut a = [0u8; 4];
            s.read_exact(&mut a).unwrap();
            a.into()
        }
        4 => {
            let mut a = [0u8; 16];
            s.read_exact(&mut a).unwrap();
            a.into()
        }
        t => panic!("reply address type {t}"),
    };
    let mut port = [0u8; 2];
    s.read_exact(&mut port).unwrap();
    (head[1], SocketAddr::new(ip, u16::from_be_bytes(port)))
}

/// The proxy ends the connection without another byte.
fn closed(s: &mut TcpStream, what: &str) {
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("{what}: got {:?} instead of the end", &b[..n]),
        Err(e) => panic!("{what}: {e} instead of the end"),
    }
}

/// A CONNECT through the proxy to `to`, expecting success.
fn tunnel(proxy: SocketAddr, to: SocketAddr) -> TcpStream {
    let mut s = greeted(proxy);
    s.write_all(&request(1, to)).unwrap();
    let (code, bound) = reply(&mut s);
    assert_eq!(code, 0, "CONNECT {to}");
    assert_eq!(bound.ip(), to.ip(), "bound {bound}");
    assert!(bound.port() != 0, "bound {bound}");
    s
}

#[test]
fn the_protocol_refusals_and_bad_input_end_only_their_own_connection() {
    let target = Server::echo();
    let (_g, p) = proxy(&[format!("tcp-connect=127.0.0.1:{}", target.port())]);
    // Held open throughout: a client that stopped half-way through its
    // request, and one that never greeted (the proxy gives each 10 s).
    let since = Instant::now();
    let mut stalled = greeted(p);
    stalled.write_all(&[5, 1, 0, 3, 20, b'a']).unwrap();
    let _silent = raw(p);

    // BIND and UDP ASSOCIATE: reply 7, command not supported.
    for cmd in [2, 3] {
        let mut s = greeted(p);
        s.write_all(&request(cmd, target.addr)).unwrap();
        assert_eq!(reply(&mut s).0, 7, "command {cmd}");
        closed(&mut s, "after reply 7");
    }
    // Only username/password offered: no acceptable methods.
    let mut s = raw(p);
    s.write_all(&[5, 1, 2]).unwrap();
    let mut r = [0u8; 2];
    s.read_exact(&mut r).unwrap();
    assert_eq!(r, [5, 0xff]);
    closed(&mut s, "after 0xff");
    // An unknown address type: reply 8.
    let mut s = greeted(p);
    s.write_all(&[5, 1, 0, 9]).unwrap();
    assert_eq!(reply(&mut s).0, 8);
    // Not SOCKS at all, and a request of another version: closed.
    let mut s = raw(p);
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    closed(&mut s, "garbage greeting");
    let mut s = greeted(p);
    s.write_all(&[4, 1, 0, 1, 127, 0, 0, 1, 0, 80]).unwrap();
    closed(&mut s, "version 4 request");
    // Truncated, then ended: closed without a reply.
    let mut s = greeted(p);
    s.write_all(&[5, 1, 0, 1, 127, 0]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    closed(&mut s, "truncated request");
    let mut s = raw(p);
    s.write_all(&[5, 3, 0]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    closed(&mut s, "truncated greeting");
    // A client that vanishes mid-request.
    let mut s = greeted(p);
    s.write_all(&[5, 1]).unwrap();
    drop(s);

    // Meanwhile a good client is served, and the stalled one still waits.
    let mut s = tunnel(p, target.addr);
    s.write_all(b"still serving").unwrap();
    let mut back = [0u8; 13];
    s.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"still serving");
    stalled.set_nonblocking(true).unwrap();
    let mut b = [0u8; 1];
    let waiting = stalled.read(&mut b).map_err(|e| e.kind());
    if since.elapsed() < Duration::from_secs(8) {
        assert_eq!(
            waiting,
            Err(ErrorKind::WouldBlock),
            "the stalled client was answered"
        );
    }
}

#[test]
fn an_end_is_passed_on_in_each_direction_separately() {
    let target = Server::count();
    let (_g, p) = proxy(&[format!("tcp-connect=127.0.0.1:{}", target.port())]);
    let mut s = tunnel(p, target.addr);
    // 8 MiB up; the server answers only once the proxy passes our end on,
    // and its answer still comes back over the other direction.
    let data = pattern(8 << 20, 7);
    let mut writer = s.try_clone().unwrap();
    let up = std::thread::spawn(move || {
        writer.write_all(&data).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
        data
    });
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let data = up.join().unwrap();
    assert_eq!(
        answer,
        format!("{} {:016x}", data.len(), fnv(FNV_OFFSET, &data))
    );
}

#[test]
fn eight_mib_arrive_intact_through_curl() {
    let body = pattern(8 << 20, 42);
    let big = Server::http("127.0.0.1:0", body.clone());
    let (_g, p) = proxy(&[format!("tcp-connect=app.test:{}", big.port())]);
    let began = Instant::now();
    let got = get(
        "--socks5-hostname",
        p,
        &format!("http://app.test:{}/", big.port()),
    );
    eprintln!("8 MiB through the proxy: {:?}", began.elapsed());
    assert_eq!(got.len(), body.len());
    assert!(got == body, "the body differs");
}

#[test]
fn fifty_clients_at_once_each_get_their_own_bytes_back() {
    const CLIENTS: usize = 50;
    const ROUNDS: usize = 8;
    let target = Server::echo();
    let (_g, p) = proxy(&[format!("tcp-connect=127.0.0.1:{}", target.port())]);
    let connected = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let connected = connected.clone();
            let to = target.addr;
            std::thread::spawn(move || {
                let mut s = tunnel(p, to);
                connected.fetch_add(1, Ordering::SeqCst);
                // Every tunnel is open before any talks.
                let deadline = Instant::now() + PATIENCE;
                while connected.load(Ordering::SeqCst) < CLIENTS {
                    assert!(Instant::now() < deadline, "client {i}: not all connected");
                    std::thread::sleep(Duration::from_millis(1));
                }
                for r in 0..ROUNDS {
                    let msg = pattern(4096 + i * 13 + r, (i * ROUNDS + r) as u64);
                    s.write_all(&msg).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    s.read_exact(&mut back)
                        .unwrap_or_else(|e| panic!("client {i} round {r}: {e}"));
                    assert!(back == msg, "client {i} round {r}: echo differs");
                }
                s.shutdown(Shutdown::Write).unwrap();
                closed(&mut s, "after our end");
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(target.accepted(), CLIENTS);
}
