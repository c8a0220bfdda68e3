//! `examples/tokio-echo`: tokio's own `TcpListener`, `TcpStream`,
//! `select!` and timers, built for `wasm32-wasip2`, served by the host over
//! standard `wasi:sockets`: a hundred clients at once, a real `nc`, the
//! per-connection idle timeout, and the `tcp-accept` filter; and the
//! hundred clients again with the guest on a provider component.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wasock_host::policy::Operation;
use wasock_host::runtime::WasockCtx;
use wasock_test_programs::{PROVIDER_TAP, TOKIO_ECHO};

use crate::common::{Guest, PATIENCE, allow, run_server, spawn_in_process, tokio_rt};

/// `wasock run` of the guest with `extra` arguments for it; and the
/// address it listens on.
fn start(extra: &[&str]) -> (Guest, SocketAddr) {
    run_server(TOKIO_ECHO, &[], extra)
}

/// The next stdout line `want` accepts, skipping others (stats lines come
/// every interval); fails after `within`.
fn wait_line(g: &Guest, within: Duration, want: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let l = g.line();
        if want(&l) {
            return l;
        }
        seen.push(l);
    }
    panic!(
        "no such line within {within:?}; saw {seen:#?}\nstderr:\n{}",
        g.stderr()
    );
}

/// A connection with every wait bounded.
fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.set_write_timeout(Some(PATIENCE)).unwrap();
    s
}

/// What client `i` sends in round `r`: its own bytes, never another's.
fn payload(i: usize, r: usize, len: usize) -> Vec<u8> {
    let mut v = format!("client {i:03} round {r:02}:").into_bytes();
    v.extend((0..len).map(|k| (k * 31 + i * 7 + r) as u8));
    v
}

const CLIENTS: usize = 100;
const ROUNDS: usize = 8;
const CHUNK: usize = 4096;

#[test]
fn a_hundred_clients_at_once_each_get_their_own_bytes_back() {
    serve_a_hundred_clients(&[]);
}

#[test]
fn a_hundred_clients_at_once_through_a_provider_component() {
    // The guest's sockets are provider-tap's (through the host's bridge),
    // which logs every connection it accepts.
    let g = serve_a_hundred_clients(&["--provider", PROVIDER_TAP]);
    // Every connection the tap accepted, and (once the guest dropped it)
    // closed in the component too.
    let count = |what: &str| g.stderr().matches(what).count();
    let (accepted, closed) = ("tap: accept 127.0.0.1:", "tap: closed 127.0.0.1:");
    let deadline = Instant::now() + PATIENCE;
    while (count(accepted) < CLIENTS || count(closed) < CLIENTS) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(count(accepted), CLIENTS, "{}", g.stderr());
    let closed = count(closed);
    assert!(closed >= CLIENTS, "{closed} closed:\n{}", g.stderr());
}

/// A hundred clients at once, each sending its own bytes for `ROUNDS`
/// rounds, against the guest run with `host` flags; the guest, once every
/// client is done.
fn serve_a_hundred_clients(host: &[&str]) -> Guest {
    let (g, addr) = run_server(TOKIO_ECHO, host, &["--stats-interval-ms", "200"]);
    let connected = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    // A thread per client; every connection is open before any sends, so
    // the guest holds a hundred at once.
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let connected = connected.clone();
            std::thread::spawn(move || {
                let mut s = connect(addr);
                connected.fetch_add(1, Ordering::SeqCst);
                let deadline = Instant::now() + PATIENCE;
                while connected.load(Ordering::SeqCst) < CLIENTS {
                    assert!(Instant::now() < deadline, "client {i}: not all connected");
                    std::thread::sleep(Duration::from_millis(1));
                }
                let mut sent = 0;
                for r in 0..ROUNDS {
                    let msg = payload(i, r, CHUNK);
                    s.write_all(&msg).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    s.read_exact(&mut back)
                        .unwrap_or_else(|e| panic!("client {i} round {r}: {e}"));
                    assert!(back == msg, "client {i} round {r}: echo differs");
                    sent += msg.len();
                }
                // Our end of the stream: the guest ends its side too.
                s.shutdown(Shutdown::Write).unwrap();
                let mut rest = [0u8; 16];
                assert_eq!(s.read(&mut rest).unwrap(), 0, "client {i}: no end");
                sent
            })
        })
        .collect();
    let total: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    let took = began.elapsed();
    assert!(took < PATIENCE, "{CLIENTS} clients took {took:?}");
    eprintln!("{CLIENTS} clients x {ROUNDS} round trips: {took:?}");
    // The guest's own count: every connection accepted, every byte echoed,
    // none still open, none timed out.
    let want = format!("open=0 accepted={CLIENTS} idle_closed=0 bytes={total}");
    wait_line(&g, PATIENCE, |l| l.ends_with(&want));
    g
}

#[test]
fn a_real_nc_gets_its_line_back() {
    let (_g, addr) = start(&[]);
    // netcat-openbsd (.ci/run installs it): -N ends our side of the stream
    // at the end of input; -w bounds every wait.
    let mut nc = Command::new("nc")
        .args(["-N", "-w", "30", "127.0.0.1", &addr.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run nc ({e}); install netcat-openbsd"));
    let line = "hello from nc, through tokio in a component\n";
    nc.stdin.take().unwrap().write_all(line.as_bytes()).unwrap();
    let deadline = Instant::now() + PATIENCE;
    while nc.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = nc.kill();
            panic!("nc did not finish");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = nc.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nc: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), line);
}

#[test]
fn an_idle_connection_is_closed_and_a_busy_one_is_not() {
    let idle = Duration::from_millis(1000);
    let (g, addr) = start(&["--idle-timeout-ms", "1000"]);
    let mut quiet = connect(addr);
    let mut busy = connect(addr);
    let quiet_port = quiet.local_addr().unwrap().port();
    for s in [&mut quiet, &mut busy] {
        s.write_all(b"hi").unwrap();
        let mut b = [0u8; 2];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"hi");
    }
    let last_word = Instant::now();
    // The busy one talks every 100 ms for two and a half idle timeouts;
    // each word starts its timeout again, so it stays open throughout.
    let busy_talks = std::thread::spawn(move || {
        for k in 0..25u8 {
            std::thread::sleep(Duration::from_millis(100));
            busy.write_all(&[k]).unwrap();
            let mut b = [0u8; 1];
            busy.read_exact(&mut b).unwrap();
            assert_eq!(b[0], k);
        }
    });
    // The quiet one is closed by the guest: an orderly end, after the
    // timeout and long before the test's patience.
    let mut b = [0u8; 8];
    let n = quiet.read(&mut b).unwrap();
    let after = last_word.elapsed();
    assert_eq!(n, 0, "expected the end of the stream");
    assert!(
        after >= idle - Duration::from_millis(50),
        "closed after {after:?}"
    );
    assert!(after < Duration::from_secs(20), "closed after {after:?}");
    busy_talks.join().unwrap();
    let line = wait_line(&g, PATIENCE, |l| l.starts_with("idle "));
    assert_eq!(line, format!("idle 127.0.0.1:{quiet_port}"));
}

#[test]
fn a_peer_without_an_accept_grant_is_dropped_and_logged() {
    // Only peers on 127.0.0.2 may connect in.
    let g = Guest::spawn(&[
        "run",
        "--allow",
        "tcp-bind=127.0.0.1:*",
        "--allow",
        "tcp-accept=127.0.0.2:*",
        TOKIO_ECHO,
        "127.0.0.1:0",
        "--stats-interval-ms",
        "100",
    ]);
    let addr = g.listening_addr();
    let mut denied = connect(addr);
    let denied_at = denied.local_addr().unwrap();
    let _ = denied.write_all(b"let me in");
    let mut b = [0u8; 16];
    match denied.read(&mut b) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("the denied peer got {other:?}"),
    }
    // The host said why.
    let deadline = Instant::now() + PATIENCE;
    let want = format!("denied tcp-accept {denied_at}");
    while !g.stderr().contains(&want) {
        assert!(Instant::now() < deadline, "no `{want}` in:\n{}", g.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
    // A peer on 127.0.0.2 is served, and it is the only connection the
    // guest ever saw.
    let mut allowed = connect_from("127.0.0.2", addr);
    allowed.write_all(b"hello").unwrap();
    let mut b = [0u8; 5];
    allowed.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"hello");
    wait_line(&g, PATIENCE, |l| l.contains(" accepted=1 "));
}

/// A connection from `ip` (a loopback address other than 127.0.0.1).
fn connect_from(ip: &str, to: SocketAddr) -> TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from: SocketAddr = format!("{ip}:0").parse().unwrap();
    sock.bind(&from.into()).unwrap();
    sock.connect_timeout(&to.into(), PATIENCE).unwrap();
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.set_write_timeout(Some(PATIENCE)).unwrap();
    s
}

#[test]
fn a_peer_without_an_accept_grant_is_dropped_and_counted() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let rt = tokio_rt();
    rt.block_on(async {
        // Binding on 127.0.0.7 is granted (an address no other test uses,
        // so that none connecting to a closed port of 127.0.0.1 reaches
        // this listener and changes the counts); only peers on 127.0.0.2
        // may connect in.
        let ctx = WasockCtx::builder()
            .policy(allow(&["tcp-bind=127.0.0.7:*", "tcp-accept=127.0.0.2:*"]))
            .build();
        let g = spawn_in_process(
            TOKIO_ECHO,
            &["127.0.0.7:0", "--stats-interval-ms", "100"],
            ctx,
        );
        let line = g.line_containing("listening on").await;
        let addr: SocketAddr = line.trim_start_matches("listening on ").parse().unwrap();
        // From 127.0.0.1: the kernel completes the handshake; the host
        // closes the connection before the guest sees it.
        let mut denied = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _ = denied.write_all(b"let me in").await;
        let mut b = [0u8; 16];
        match tokio::time::timeout(PATIENCE, denied.read(&mut b)).await {
            Ok(Ok(0)) => {}
            Ok(Err(e)) if e.kind() == ErrorKind::ConnectionReset => {}
            other => panic!("the denied peer got {other:?}"),
        }
        // From 127.0.0.2: served.
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut allowed = sock.connect(addr).await.unwrap();
        allowed.write_all(b"hello").await.unwrap();
        let mut b = [0u8; 5];
        tokio::time::timeout(PATIENCE, allowed.read_exact(&mut b))
            .await
            .expect("no echo for the granted peer")
            .unwrap();
        assert_eq!(&b, b"hello");
        // The guest saw only the granted peer.
        g.line_containing("accepted=1 ").await;
        let counters = g.stats.snapshot();
        drop((denied, allowed));
        assert_eq!(counters.dropped_connections, 1, "{counters:?}");
        assert_eq!(counters.denied(Operation::TcpAccept), 1, "{counters:?}");
        assert_eq!(counters.allowed(Operation::TcpAccept), 1, "{counters:?}");
        // The guest serves until killed; it ends with the runtime.
        g.task.abort();
    });
}
