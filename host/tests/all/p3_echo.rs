//! `examples/p3-echo`: WASI 0.3 echo servers (`wasi:sockets@0.3` through
//! the `wasip3` crate) under `wasock run`: a hundred TCP clients served at
//! once by tasks of one instance, a real `nc`, IPv6, a refused peer that
//! the guest never sees, and UDP datagrams returned whole.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wasock_host::runtime::WasockCtx;
use wasock_test_programs::{P3_ECHO, P3_UDP_ECHO};

use crate::common::{Guest, PATIENCE, allow, run_server, spawn_in_process, tokio_rt};
use crate::counting::{Counting, Counts};

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

#[test]
fn a_hundred_clients_at_once_each_get_their_own_bytes_back() {
    const CLIENTS: usize = 100;
    const ROUNDS: usize = 4;
    let (g, addr) = run_server(P3_ECHO, &[], &[]);
    let connected = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let connected = connected.clone();
            std::thread::spawn(move || {
                let mut s = connect(addr);
                connected.fetch_add(1, Ordering::SeqCst);
                // Every connection is open before any sends, so the guest
                // serves a hundred at once.
                let deadline = Instant::now() + PATIENCE;
                while connected.load(Ordering::SeqCst) < CLIENTS {
                    assert!(Instant::now() < deadline, "client {i}: not all connected");
                    std::thread::sleep(Duration::from_millis(1));
                }
                for r in 0..ROUNDS {
                    let msg = payload(i, r, 8192);
                    s.write_all(&msg).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    s.read_exact(&mut back)
                        .unwrap_or_else(|e| panic!("client {i} round {r}: {e}"));
                    assert!(back == msg, "client {i} round {r}: echo differs");
                }
                // Our end of the stream: the guest ends its side too.
                s.shutdown(Shutdown::Write).unwrap();
                let mut rest = [0u8; 16];
                assert_eq!(s.read(&mut rest).unwrap(), 0, "client {i}: no end");
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert!(!g.stderr().contains("ended with"), "{}", g.stderr());
}

/// wasmtime polls a stream's producer twice when a guest's read has to
/// wait: inside the read (with a waker that wakes nothing), then from its
/// event loop. The second poll must wait without receiving again: one
/// receive that finds nothing per message, not two.
#[test]
fn a_read_that_waits_receives_once_per_message() {
    const ROUNDS: usize = 100;
    let rt = tokio_rt();
    let counts = Arc::new(Counts::default());
    let addr: SocketAddr = rt.block_on(async {
        let ctx = WasockCtx::builder()
            .policy(allow(&["tcp-bind=127.0.0.1:*", "tcp-accept=127.0.0.1:*"]))
            .provider(Arc::new(Counting {
                counts: counts.clone(),
            }))
            .build();
        let guest = spawn_in_process(P3_ECHO, &["127.0.0.1:0"], ctx);
        let line = guest.line_containing("listening on").await;
        // The guest runs on in the runtime's tasks.
        std::mem::forget(guest);
        line.trim_start_matches("listening on ").parse().unwrap()
    });
    let mut s = connect(addr);
    s.set_nodelay(true).unwrap();
    let mut back = [0u8; 64];
    for r in 0..ROUNDS {
        // The guest's next read is waiting before the message comes.
        std::thread::sleep(Duration::from_millis(1));
        let msg = [r as u8; 64];
        s.write_all(&msg).unwrap();
        s.read_exact(&mut back).unwrap();
        assert_eq!(back, msg, "round {r}");
    }
    let (receives, would_block) = counts.receives();
    // Each message is one receive that gets it and, since the client
    // waits for the echo, at most one before it that finds nothing.
    assert!(
        receives >= ROUNDS,
        "{receives} receives for {ROUNDS} messages"
    );
    assert!(
        would_block <= ROUNDS + ROUNDS / 4,
        "{would_block} receives found nothing in {ROUNDS} round trips ({receives} in all)"
    );
}

#[test]
fn a_large_transfer_is_echoed_whole_while_the_client_writes() {
    let (_g, addr) = run_server(P3_ECHO, &[], &[]);
    let s = connect(addr);
    let data: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
    let mut w = s.try_clone().unwrap();
    let sent = data.clone();
    // Writing and reading at once: more than the sockets buffer, so the
    // guest's reads pause while its writes wait, and resume.
    let writer = std::thread::spawn(move || {
        w.write_all(&sent).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    let mut r = s;
    r.read_to_end(&mut back).unwrap();
    writer.join().unwrap();
    assert!(
        back == data,
        "echoed {} bytes of {}",
        back.len(),
        data.len()
    );
}

#[test]
fn a_real_nc_gets_its_line_back_over_ipv4_and_ipv6() {
    for (bind, rules) in [
        (
            "127.0.0.1:0",
            ["tcp-bind=127.0.0.1:*", "tcp-accept=127.0.0.1:*"],
        ),
        ("[::1]:0", ["tcp-bind=[::1]:*", "tcp-accept=[::1]:*"]),
    ] {
        let g = Guest::spawn(&[
            "run", "--allow", rules[0], "--allow", rules[1], P3_ECHO, bind,
        ]);
        let addr = g.listening_addr();
        let mut nc = Command::new("nc")
            .args([
                "-N",
                "-w",
                "30",
                &addr.ip().to_string(),
                &addr.port().to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run nc ({e}); install netcat-openbsd"));
        let line = "hello from nc, through WASI 0.3 streams\n";
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
        assert!(out.status.success(), "nc {bind}: {:?}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stdout), line, "{bind}");
    }
}

/// At the instance's socket limit (the listener and one connection), the
/// next client's connection waits in the backlog, neither echoed nor
/// closed, until the first is gone; the limit is logged once for the wait.
#[test]
fn a_connection_past_the_socket_limit_waits_for_a_place() {
    let g = Guest::at_two_sockets(P3_ECHO);
    let addr = g.listening_addr();
    let mut first = connect(addr);
    first.write_all(b"first").unwrap();
    let mut five = [0u8; 5];
    first.read_exact(&mut five).unwrap();
    assert_eq!(&five, b"first");
    // At the limit with no connection waiting, the listener only waits:
    // nothing is refused yet.
    std::thread::sleep(Duration::from_millis(200));
    let said = "the instance holds 2 sockets, its limit";
    assert_eq!(g.stderr().matches(said).count(), 0, "{}", g.stderr());
    let mut second = connect(addr);
    second.write_all(b"again").unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let waited = second.read(&mut five).map_err(|e| e.kind());
    assert!(
        matches!(
            waited,
            Err(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        ),
        "the second connection was not left waiting: {waited:?}\n{}",
        g.stderr()
    );
    drop(first);
    second.set_read_timeout(Some(PATIENCE)).unwrap();
    second.read_exact(&mut five).unwrap();
    assert_eq!(&five, b"again");
    assert_eq!(g.stderr().matches(said).count(), 1, "{}", g.stderr());
}

#[test]
fn a_refused_peer_is_closed_before_the_guest_sees_it() {
    // Accepts are granted from 127.0.0.2 only: a client from 127.0.0.1 is
    // closed by the host, logged, and never echoed; one from 127.0.0.2 is.
    let g = Guest::spawn(&[
        "run",
        "--allow",
        "tcp-bind=127.0.0.1:*",
        "--allow",
        "tcp-accept=127.0.0.2:*",
        P3_ECHO,
    ]);
    let addr = g.listening_addr();
    let mut refused = connect(addr);
    let _ = refused.write_all(b"anyone there?");
    let mut buf = [0u8; 64];
    match refused.read(&mut buf) {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("a refused peer got {n} bytes back"),
    }
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&"127.0.0.2:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    sock.connect(&addr.into()).unwrap();
    let mut friend: TcpStream = sock.into();
    friend.set_read_timeout(Some(PATIENCE)).unwrap();
    friend.write_all(b"friend").unwrap();
    let mut back = [0u8; 6];
    friend.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"friend");
    // The denial was logged before the friend's connection was taken; the
    // line reaches this test through a pipe, so give it a moment.
    let deadline = Instant::now() + PATIENCE;
    while !g.stderr().contains("denied tcp-accept 127.0.0.1:") {
        assert!(Instant::now() < deadline, "no denial line:\n{}", g.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_udp_echo_returns_datagrams_whole_over_ipv4_and_ipv6() {
    for (bind, allow_bind, peers) in [
        ("127.0.0.1:0", "udp-bind=127.0.0.1:*", "127.0.0.0/8:*"),
        ("[::1]:0", "udp-bind=[::1]:*", "[::1]:*"),
    ] {
        let recv = format!("udp-recv={peers}");
        let send = format!("udp-send={peers}");
        // `--max-recv` bounds reads that ask for a size; a WASI datagram
        // receive asks for none and has no truncation flag: whole.
        let g = Guest::spawn(&[
            "run",
            "--max-recv",
            "1KiB",
            "--allow",
            allow_bind,
            "--allow",
            &recv,
            "--allow",
            &send,
            P3_UDP_ECHO,
            bind,
        ]);
        let addr = g.listening_addr();
        let client = UdpSocket::bind(if addr.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        })
        .unwrap();
        client.set_read_timeout(Some(PATIENCE)).unwrap();
        let sizes = [1usize, 512, 0, 9000, 3, 60_000];
        for n in sizes {
            let msg: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            client.send_to(&msg, addr).unwrap();
        }
        let mut buf = vec![0; 65536];
        for n in sizes {
            let (k, from) = client.recv_from(&mut buf).unwrap();
            assert_eq!(from, addr);
            assert_eq!(k, n, "{bind}: a datagram of {n} bytes came back as {k}");
            assert!(
                buf[..k]
                    .iter()
                    .enumerate()
                    .all(|(i, b)| *b == (i % 251) as u8)
            );
        }
    }
}

/// Denied its bind, each echo server says so in words with the WIT's name
/// for the code, as the wasock-interface examples do, not as the Rust
/// variant's debug form.
#[test]
fn a_denied_bind_is_reported_in_words() {
    for (guest, name) in [(P3_ECHO, "p3-echo"), (P3_UDP_ECHO, "p3-udp-echo")] {
        let out = crate::common::wasock()
            .args(["run", guest, "127.0.0.1:0"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{name}: cannot bind 127.0.0.1:0: access denied by the host's policy or the system (access-denied)"
            )),
            "{stderr}"
        );
    }
}
