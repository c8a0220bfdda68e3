//! Async guests on the SDK's runtime (`wasock::rt`): its promises, checked
//! from inside a guest on both providers; 2,000 connections to one guest;
//! peers that flood or stay silent; chat among real clients; an async
//! connection handler under `wasock serve`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use wasock_host::runtime::{Limits, Runner, SimGuest, Simulation, WasockCtx};

use crate::common::{
    Guest, Hermetic, PATIENCE, allow, run_with_provider, spawn_in_process, tokio_rt,
};

fn rules() -> Arc<wasock_host::policy::Policy> {
    allow(&[
        "tcp-bind=127.0.0.1:*",
        "tcp-connect=127.0.0.1:*",
        "tcp-accept=127.0.0.1:*",
        "udp-bind=127.0.0.1:*",
        "udp-send=127.0.0.1:*",
        "udp-recv=127.0.0.1:*",
        "resolve=localhost",
    ])
}

#[test]
fn the_runtime_keeps_its_promises_on_the_native_provider() {
    let rt = tokio_rt();
    let done = rt.block_on(run_with_provider(
        wasock_test_programs::ASYNC_RT,
        &[],
        rules(),
        Arc::new(Hermetic(wasock_host::net::native::NativeProvider)),
    ));
    done.assert_ok_done();
}

#[test]
fn waits_past_an_embedders_poll_limit_fail_alone_and_say_why() {
    // The SDK allows as many sockets in a poll set as wasock's default;
    // an embedder may allow fewer.
    let rt = tokio_rt();
    let ctx = WasockCtx::builder()
        .policy(rules())
        .provider(Arc::new(Hermetic(wasock_host::net::native::NativeProvider)))
        .limits(Limits {
            max_poll_entries: 4,
            ..Limits::default()
        })
        .build();
    let done = rt.block_on(async {
        spawn_in_process(wasock_test_programs::ASYNC_RT, &["poll-limit", "4"], ctx)
            .finish()
            .await
    });
    done.assert_ok_done();
    assert!(
        done.stdout
            .contains("ok wait 5 refused: the host's poll set is full (it holds 4 sockets"),
        "{}",
        done.stdout
    );
}

#[test]
fn the_runtime_keeps_its_promises_on_the_simulator() {
    let runner = Runner::deterministic(&Runner::default_config()).unwrap();
    let component = runner
        .load(std::path::Path::new(wasock_test_programs::ASYNC_RT))
        .unwrap();
    let mut sim = Simulation::new(1);
    sim.host(
        "host",
        &["10.0.0.1".parse().unwrap()],
        Some(SimGuest::new(component).policy(rules())),
    );
    let run = sim.run(&runner, Duration::from_secs(3600)).unwrap();
    let out = run.transcript.stdout_of("host").join("\n");
    assert!(run.success() && out.ends_with("ok done"), "{out}");
}

/// A guest started in this process, and the address it listens on.
fn start(path: &str, limits: Limits) -> (tokio::runtime::Runtime, SocketAddr) {
    let rt = tokio_rt();
    let addr = rt.block_on(async {
        let ctx = WasockCtx::builder()
            .policy(allow(&["tcp-bind=127.0.0.1:*", "tcp-accept=127.0.0.1:*"]))
            .limits(limits)
            .build();
        let guest = spawn_in_process(path, &[], ctx);
        let line = guest.line_containing("listening on").await;
        // The guest runs on in the runtime's tasks.
        std::mem::forget(guest);
        line.trim_start_matches("listening on ").parse().unwrap()
    });
    (rt, addr)
}

#[test]
fn one_async_guest_serves_two_thousand_connections_at_once() {
    let limits = Limits {
        max_sockets: 4096,
        ..Limits::default()
    };
    let (_rt, addr) = start(wasock_test_programs::ASYNC_ECHO, limits);
    let mut conns: Vec<TcpStream> = (0..2000)
        .map(|i| {
            let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connection {i}: {e}"));
            s.set_read_timeout(Some(PATIENCE)).unwrap();
            s
        })
        .collect();
    // Every connection open at once; each says something, then each reads
    // its own words back.
    for (i, s) in conns.iter_mut().enumerate() {
        write!(s, "message {i:04}").unwrap();
    }
    for (i, s) in conns.iter_mut().enumerate() {
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, format!("message {i:04}").as_bytes());
    }
}

#[test]
fn a_peer_that_floods_or_stays_silent_holds_only_its_own_task() {
    let (_rt, addr) = start(wasock_test_programs::ASYNC_ECHO, Limits::default());
    // Silent: connects, never sends, never closes.
    let _silent = TcpStream::connect(addr).unwrap();
    // Flooding: sends without ever reading, until its echo backs up and
    // its task waits to write.
    let mut flood = TcpStream::connect(addr).unwrap();
    flood
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let mut sent = 0usize;
    while flood.write(&chunk).map(|n| sent += n).is_ok() && sent < (256 << 20) {}
    assert!(sent > 0);
    // Another client is served as if they were not there.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    for _ in 0..100 {
        s.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }
}

#[test]
fn chat_lines_reach_every_other_client_and_a_vanished_one_disturbs_no_one() {
    let (_rt, addr) = start(wasock_test_programs::ASYNC_CHAT, Limits::default());
    let connect = || {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let me = s.local_addr().unwrap();
        (BufReader::new(s.try_clone().unwrap()), s, me)
    };
    let (mut a_in, mut a, a_addr) = connect();
    let (mut b_in, _b, _) = connect();
    let (mut c_in, c, _) = connect();
    let read_line = |r: &mut BufReader<TcpStream>| {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        l
    };
    // Everyone joined before anyone talks: a sees b and c join, b sees c.
    assert!(read_line(&mut a_in).ends_with("joined\n"));
    assert!(read_line(&mut a_in).ends_with("joined\n"));
    assert!(read_line(&mut b_in).ends_with("joined\n"));
    writeln!(a, "hello").unwrap();
    let want = format!("{a_addr}: hello\n");
    assert_eq!(read_line(&mut b_in), want);
    assert_eq!(read_line(&mut c_in), want);
    // c vanishes; a goes on talking, and b hears it.
    drop((c_in, c));
    assert!(read_line(&mut b_in).ends_with("left\n"));
    writeln!(a, "still here").unwrap();
    assert_eq!(read_line(&mut b_in), format!("{a_addr}: still here\n"));
}

#[test]
fn an_async_connection_handler_serves_under_wasock_serve() {
    let g = Guest::spawn(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--allow",
        "tcp-accept=127.0.0.0/8:*",
        wasock_test_programs::ASYNC_ECHO_HANDLER,
    ]);
    let addr = g.listening_addr();
    for round in 0..3 {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let msg = format!("round {round}");
        s.write_all(msg.as_bytes()).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut back = String::new();
        s.read_to_string(&mut back).unwrap();
        assert_eq!(back, msg);
    }
}
