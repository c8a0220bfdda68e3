//! `wasock serve`: one instance per connection, a concurrency limit with
//! back-pressure, the tcp-accept filter, and draining on SIGTERM.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use wasock_test_programs::HTTP_HELLO;

use crate::common::{Guest, PATIENCE};

fn serve(extra: &[&str]) -> (Guest, SocketAddr) {
    serve_program(HTTP_HELLO, extra)
}

/// `wasock serve` of `program` on loopback, with `extra` flags.
pub(crate) fn serve_program(program: &str, extra: &[&str]) -> (Guest, SocketAddr) {
    let mut args = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--allow",
        "tcp-accept=127.0.0.0/8:*",
    ];
    args.extend_from_slice(extra);
    args.push(program);
    let g = Guest::spawn(&args);
    let addr = g.listening_addr();
    (g, addr)
}

/// Wait for the server to end: it must have exited 0, every instance
/// finished within the drain timeout, after serving `served` connections.
/// Its stderr, for further checks.
pub(crate) fn drained_cleanly(g: Guest, served: usize) -> String {
    let (code, _, err) = g.finish();
    assert_eq!(code, 0, "{err}");
    let served = format!("served {served} connection");
    assert!(
        err.contains(&served) && err.contains("drained cleanly"),
        "{err}"
    );
    err
}

pub(crate) fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

pub(crate) fn terminate(g: &Guest) {
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(g.pid() as libc::pid_t, libc::SIGTERM) };
}

#[test]
fn a_real_http_client_is_answered() {
    let (g, addr) = serve(&[]);
    let out = Command::new("curl")
        .args(["-s", "--max-time", "30", &format!("http://{addr}/")])
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.starts_with("hello from wasock instance "), "{body}");
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://{addr}/missing"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "404");
    terminate(&g);
    let (code, _, err) = g.finish();
    assert_eq!(code, 0, "{err}");
}

/// A handler that returns an error is reported as that, with its reason:
/// the SDK writes the error to stderr (the export carries only a code),
/// and the server's warning names the code.
#[test]
fn a_failing_handler_is_reported_with_its_reason() {
    let (g, addr) = serve(&[]);
    // Connect and close without a request, as a port check does.
    let s = TcpStream::connect(addr).unwrap();
    let peer = s.local_addr().unwrap();
    drop(s);
    let want = format!("connection handler for {peer}: connection closed mid-request");
    let deadline = std::time::Instant::now() + PATIENCE;
    while !g.stderr().contains(&want) {
        assert!(std::time::Instant::now() < deadline, "{}", g.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = std::time::Instant::now() + PATIENCE;
    while !g
        .stderr()
        .contains("the connection handler returned the error unknown")
    {
        assert!(std::time::Instant::now() < deadline, "{}", g.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!g.stderr().contains("exited with status"), "{}", g.stderr());
    terminate(&g);
    g.finish();
}

#[test]
fn a_hundred_concurrent_clients_each_get_their_own_instance() {
    let (g, addr) = serve(&[]);
    let clients: Vec<_> = (0..100)
        .map(|_| std::thread::spawn(move || get(addr, "/slow")))
        .collect();
    let mut ids = std::collections::HashSet::new();
    for c in clients {
        let answer = c.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        let id = answer
            .split("instance ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_string();
        ids.insert(id);
    }
    assert_eq!(
        ids.len(),
        100,
        "every connection had an instance of its own"
    );
    terminate(&g);
    let (code, _, err) = g.finish();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("served 100 connections (0 failed"), "{err}");
}

#[test]
fn lines_of_instances_running_at_once_stay_whole() {
    let (g, addr) = serve(&["--env", "HTTP_HELLO_LOG=1"]);
    // A hundred instances that write their line at about the same moment,
    // each in pieces (eprintln! writes each formatted part on its own).
    let clients: Vec<_> = (0..100)
        .map(|_| std::thread::spawn(move || get(addr, "/slow")))
        .collect();
    for c in clients {
        assert!(c.join().unwrap().starts_with("HTTP/1.1 200 OK"));
    }
    terminate(&g);
    let err = drained_cleanly(g, 100);
    let logged: Vec<&str> = err.lines().filter(|l| l.contains("http-hello")).collect();
    assert_eq!(logged.len(), 100, "{err}");
    for line in logged {
        let peer = line
            .strip_prefix("http-hello: ")
            .and_then(|l| l.strip_suffix(" /slow 200 OK"));
        assert!(
            peer.is_some_and(|p| p.parse::<SocketAddr>().is_ok()),
            "a line broken by another instance's: {line:?}\n{err}"
        );
    }
}

#[test]
fn the_concurrency_limit_holds_under_a_thousand_clients() {
    let (g, addr) = serve(&["--max-concurrent", "4"]);
    let rt = crate::common::tokio_rt();
    let answered = rt.block_on(async move {
        let mut tasks = Vec::new();
        for i in 0..1000 {
            tasks.push(tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                let path = if i % 50 == 0 { "/slow" } else { "/" };
                s.write_all(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes())
                    .await
                    .unwrap();
                let mut out = String::new();
                tokio::time::timeout(PATIENCE, s.read_to_string(&mut out))
                    .await
                    .unwrap()
                    .unwrap();
                out.starts_with("HTTP/1.1 200 OK")
            }));
        }
        let mut ok = 0;
        for t in tasks {
            ok += t.await.unwrap() as usize;
        }
        ok
    });
    assert_eq!(answered, 1000);
    terminate(&g);
    let (code, _, err) = g.finish();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("served 1000 connections (0 failed"), "{err}");
    let peak: usize = err
        .split("at most ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=4).contains(&peak),
        "peak concurrency {peak} with --max-concurrent 4: {err}"
    );
}

#[test]
fn sigterm_stops_accepting_and_lets_running_instances_finish() {
    // One worker: connections are accepted in the order they came.
    let (g, addr) = serve(&["--workers", "1"]);
    // Three connections whose instances wait for a request.
    let mut waiting: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // Accepted after the three, so they are in instances once it is
    // answered.
    let answer = get(addr, "/");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    terminate(&g);
    // No new connections once draining has begun.
    let deadline = std::time::Instant::now() + PATIENCE;
    while !g.stderr().contains("shutting down") {
        assert!(std::time::Instant::now() < deadline, "no shutdown message");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    while TcpStream::connect(addr).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "still accepting after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for s in &mut waiting {
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
    }
    drained_cleanly(g, 4);
}

#[test]
fn draining_tells_idle_async_handlers_to_close_at_once() {
    // A drain timeout longer than the test's patience: without the drain
    // signal, the idle instances would hold the server that long.
    let (g, addr) = serve_program(
        wasock_test_programs::ASYNC_ECHO_HANDLER,
        &["--drain-timeout", "300s"],
    );
    // Three clients, each echoed once: each instance then waits, idle, on
    // its poll set.
    let mut idle: Vec<TcpStream> = (0..3)
        .map(|i| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(PATIENCE)).unwrap();
            let ping = format!("ping {i}");
            s.write_all(ping.as_bytes()).unwrap();
            let mut back = vec![0; ping.len()];
            s.read_exact(&mut back).unwrap();
            assert_eq!(back, ping.as_bytes());
            s
        })
        .collect();
    terminate(&g);
    for s in &mut idle {
        let mut rest = Vec::new();
        s.read_to_end(&mut rest)
            .expect("the handler closes its idle connection when the server drains");
        assert!(rest.is_empty(), "{rest:?}");
    }
    drained_cleanly(g, 3);
}

#[test]
fn a_program_under_run_is_never_draining() {
    let (code, out, err) = crate::common::run(&["run", wasock_test_programs::DRAIN_OUTSIDE_SERVE]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, ["draining: false"], "{err}");
}

#[test]
fn instances_past_the_drain_deadline_are_stopped() {
    let (g, addr) = serve(&["--drain-timeout", "300ms"]);
    let silent = TcpStream::connect(addr).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    terminate(&g);
    let (code, _, err) = g.finish();
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("stopped 1 instances at the drain deadline"),
        "{err}"
    );
    drop(silent);
}

#[test]
fn a_client_that_resets_is_counted_apart_from_failures() {
    // One worker: connections are accepted in the order they came.
    let (g, addr) = serve(&["--workers", "1"]);
    // One resets its connection before sending anything: the handler's
    // read fails with connection-reset, which it returns.
    let reset = socket2::Socket::from(TcpStream::connect(addr).unwrap());
    reset.set_linger(Some(Duration::ZERO)).unwrap();
    drop(reset);
    // One closes in the middle of its request's head: the handler's own
    // error (no code), a failure.
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nho").unwrap();
    drop(half);
    // Accepted after the two above, so they are in instances by now.
    let answer = get(addr, "/");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    terminate(&g);
    let err = drained_cleanly(g, 3);
    assert!(err.contains("(1 failed, 1 left by the peer,"), "{err}");
    // The failure is logged with its reason; the client that left is not.
    assert!(err.contains("connection closed mid-request"), "{err}");
    assert_eq!(err.matches("connection handler for").count(), 1, "{err}");
    assert_eq!(err.matches("connection-reset").count(), 0, "{err}");
}

#[test]
fn peers_without_an_accept_grant_never_reach_an_instance() {
    let g = Guest::spawn(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--allow",
        "tcp-accept=127.0.0.2:*",
        HTTP_HELLO,
    ]);
    let addr = g.listening_addr();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let _ = s.write_all(b"GET / HTTP/1.1\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.is_empty(), "{out}");
    terminate(&g);
    let (code, _, err) = g.finish();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("denied tcp-accept 127.0.0.1:"), "{err}");
    assert!(
        err.contains("served 0 connections (0 failed, 0 left by the peer, 1 refused by policy;"),
        "{err}"
    );
    let (code, _, err) = crate::common::run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--max-concurrent",
        "0",
        HTTP_HELLO,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--max-concurrent"), "{err}");
}

#[test]
fn two_workers_share_the_connections_and_one_concurrency_limit() {
    let (g, addr) = serve(&["--workers", "2", "--max-concurrent", "3"]);
    let clients: Vec<_> = (0..200)
        .map(|i| {
            let path = if i % 20 == 0 { "/slow" } else { "/" };
            std::thread::spawn(move || get(addr, path))
        })
        .collect();
    for c in clients {
        let answer = c.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    }
    terminate(&g);
    let (code, _, err) = g.finish();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("served 200 connections (0 failed"), "{err}");
    // The kernel spread the connections over both listeners.
    let per_worker: Vec<u64> = err
        .split("per worker: ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .split(", ")
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(per_worker.len(), 2, "{err}");
    assert_eq!(per_worker.iter().sum::<u64>(), 200, "{err}");
    assert!(per_worker.iter().all(|&n| n > 0), "{err}");
    // One limit for the whole server, not one per worker.
    let peak: usize = err
        .split("at most ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(peak <= 3, "{err}");
}

/// `runtime::Workers`, as an embedder uses it: two workers on one port
/// share the connections, stop together, and report what each served.
#[test]
fn workers_in_process_share_one_port_and_stop_together() {
    use std::sync::Arc;
    use wasock_host::runtime::{PinnedNames, ServeOptions, Server, Workers};

    let runner = crate::common::runner().clone();
    let component = runner.load(std::path::Path::new(HTTP_HELLO)).unwrap();
    let server = Arc::new(
        Server::new(
            runner,
            &component,
            crate::common::allow(&["tcp-accept=127.0.0.0/8:*"]),
            Arc::new(PinnedNames::default()),
            ServeOptions::default(),
        )
        .unwrap(),
    );
    let workers = Workers::bind("127.0.0.1:0".parse().unwrap(), 2).unwrap();
    assert_eq!(workers.count(), 2);
    let addr = workers.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = std::thread::spawn(move || {
        workers.run(server, move || {
            Ok(async move {
                let _ = stopped.await;
            })
        })
    });
    // The kernel spreads connections over the listeners by a hash of the
    // peer's address: with 40, one worker gets none once in 2^39.
    for _ in 0..40 {
        assert!(get(addr, "/").starts_with("HTTP/1.1 200 OK"));
    }
    stop.send(()).unwrap();
    let reports = serving.join().unwrap().unwrap();
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(|r| r.drained), "{reports:?}");
    assert_eq!(reports.iter().map(|r| r.served).sum::<u64>(), 40);
    assert!(reports.iter().all(|r| r.served > 0), "{reports:?}");
}

/// A port already taken is an error naming the address, said once.
#[test]
fn workers_on_a_taken_port_say_which() {
    use wasock_host::runtime::Workers;

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = Workers::bind(addr, 1).unwrap_err();
    let text = format!("{:#}", anyhow::Error::from(err));
    assert!(
        text.starts_with(&format!("cannot listen on {addr}: ")),
        "{text}"
    );
    assert_eq!(text.matches("in use").count(), 1, "{text}");
}

#[test]
fn a_wasi_0_3_component_is_not_served_and_says_what_to_do() {
    let (code, _, err) = crate::common::run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        wasock_test_programs::P3_HELLO,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("this is a WASI 0.3 component")
            && err.contains("wasock:sockets/handler")
            && err.contains("wasock run"),
        "{err}"
    );
}
