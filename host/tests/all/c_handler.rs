//! Connection handlers in C (`wasock-cc --handler`) under `wasock serve`:
//! the connection as a descriptor, the peer's address, errno as the
//! handler's error code (a client that left counted apart), the drain,
//! and `examples/c-handler` answering curl on a kept connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::c_programs::component_with;
use crate::common::{Guest, PATIENCE};
use crate::http_server::{curl, curl_on_one_connection};
use crate::hyper_handler::connect;
use crate::serve::{drained_cleanly, serve_program, terminate};

fn test_handler() -> String {
    component_with("c-test-handler", &["--handler"], &["tests/c/handler.c"])
}

fn hello() -> String {
    component_with("c-hello", &["--handler"], &["examples/c-handler/hello.c"])
}

/// Send `command`'s line, shut down the sending side, read the answer.
fn ask(addr: SocketAddr, command: &str) -> (TcpStream, String) {
    let mut s = connect(addr);
    s.write_all(format!("{command}\n").as_bytes()).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    (s, out)
}

#[test]
fn a_c_handler_gets_its_connection_and_peer() {
    let (g, addr) = serve_program(&test_handler(), &[]);
    let (s, out) = ask(addr, "peer");
    let me = s.local_addr().unwrap();
    let want = format!("{} {}", me.ip(), me.port());
    assert_eq!(
        out,
        format!("peer {want} (whole); getpeername {want}; constructed\n"),
        "the address wasock_handle got, then the descriptor's own"
    );
    let mut s = connect(addr);
    s.write_all(b"echo\nhello, C handler").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut echoed = String::new();
    s.read_to_string(&mut echoed).unwrap();
    assert_eq!(echoed, "hello, C handler");
    terminate(&g);
    let err = drained_cleanly(g, 2);
    assert!(err.contains("(0 failed, 0 left by the peer,"), "{err}");
}

#[test]
fn a_c_handler_serves_ipv6_clients() {
    let g = Guest::spawn(&[
        "serve",
        "--listen",
        "[::1]:0",
        "--allow",
        "tcp-accept=[::1]:*",
        &test_handler(),
    ]);
    let addr = g.listening_addr();
    let (s, out) = ask(addr, "peer");
    let port = s.local_addr().unwrap().port();
    assert_eq!(
        out,
        format!("peer ::1 {port} (whole); getpeername ::1 {port}; constructed\n")
    );
    terminate(&g);
    drained_cleanly(g, 1);
}

#[test]
fn errno_from_a_c_handler_is_a_failure_or_a_client_that_left() {
    // One worker: connections are accepted in the order they came.
    let (g, addr) = serve_program(&test_handler(), &["--workers", "1"]);
    // EACCES: a failure, logged with the peer and strerror.
    let (s, out) = ask(addr, "fail");
    assert_eq!(out, "");
    let failed_peer = s.local_addr().unwrap();
    // A receive that times out: EAGAIN, reported as timed-out.
    let mut waits = connect(addr);
    waits.write_all(b"timeout\n").unwrap();
    let mut out = String::new();
    waits.read_to_string(&mut out).unwrap();
    assert_eq!(out, "");
    // A client that resets before its line ends: read() fails with
    // ECONNRESET, which says the client left.
    let reset = socket2::Socket::from(connect(addr));
    reset.set_linger(Some(Duration::ZERO)).unwrap();
    drop(reset);
    // Accepted after both, so both are in instances by now.
    let (_, out) = ask(addr, "echo");
    assert_eq!(out, "");
    terminate(&g);
    let err = drained_cleanly(g, 4);
    assert!(err.contains("(2 failed, 1 left by the peer,"), "{err}");
    assert!(
        err.contains(&format!(
            "connection handler for {failed_peer}: Permission denied"
        )),
        "{err}"
    );
    assert!(err.contains("returned the error access-denied"), "{err}");
    assert!(err.contains("returned the error timed-out"), "{err}");
    assert_eq!(err.matches("connection handler for").count(), 2, "{err}");
}

#[test]
fn a_c_handler_hears_that_the_server_drains() {
    // A drain timeout far beyond the test's patience: only the handler's
    // own return can end the drain in time.
    let (g, addr) = serve_program(&test_handler(), &["--drain-timeout", "300s"]);
    let mut s = connect(addr);
    s.write_all(b"drain\n").unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "waiting\n");
    let asked = Instant::now();
    terminate(&g);
    line.clear();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "draining\n");
    assert!(asked.elapsed() < PATIENCE);
    drained_cleanly(g, 1);
}

#[test]
fn the_c_http_example_answers_curl_on_one_kept_connection() {
    let (g, addr) = serve_program(&hello(), &[]);
    let root = format!("http://{addr}/");
    let missing = format!("http://{addr}/missing");
    let out = curl(&[&root, &missing, &root]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from C to 127.0.0.1\nnot found\nhello from C to 127.0.0.1\n"
    );
    // The three on one connection.
    curl_on_one_connection(&[root.clone(), missing, root.clone()], "200:1 404:0 200:0 ");
    let head = curl(&["-I", &root]);
    let head = String::from_utf8_lossy(&head.stdout);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let posted = curl(&["-o", "/dev/null", "-w", "%{http_code}", "-d", "x=1", &root]);
    assert_eq!(String::from_utf8_lossy(&posted.stdout), "501");
    terminate(&g);
    let err = drained_cleanly(g, 4);
    assert!(err.contains("(0 failed"), "{err}");
}

#[test]
fn the_c_http_example_closes_for_http_1_0_and_refuses_a_body_whole() {
    let (g, addr) = serve_program(&hello(), &[]);
    // HTTP/1.0 without keep-alive: answered, then closed by the server.
    let mut s = connect(addr);
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    // A body it does not read: the 501 arrives whole, not destroyed by a
    // reset for the unread bytes.
    let mut s = connect(addr);
    let body = vec![b'x'; 200_000];
    let head = format!(
        "GET / HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let mut writer = s.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        // The server may close before taking it all: not this test's
        // concern.
        let _ = writer.write_all(head.as_bytes());
        let _ = writer.write_all(&body);
        let _ = writer.shutdown(std::net::Shutdown::Write);
    });
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    sending.join().unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 501 Not Implemented")
            && answer.ends_with("no request bodies\n"),
        "{answer}"
    );
    terminate(&g);
    drained_cleanly(g, 2);
}

#[test]
fn the_c_http_example_closes_an_idle_kept_connection_on_the_drain() {
    let (g, addr) = serve_program(&hello(), &["--drain-timeout", "300s"]);
    let mut s = connect(addr);
    s.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !String::from_utf8_lossy(&got).ends_with("127.0.0.1\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&got).into_owned();
    assert!(!answer.contains("connection: close"), "kept: {answer}");
    terminate(&g);
    // The server closes the idle connection: the read ends, not times out.
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    drained_cleanly(g, 1);
}

#[test]
fn serving_a_c_program_says_how_to_build_a_handler() {
    let program = component_with("c-echo", &[], &["examples/c-echo/echo.c"]);
    let (code, _, err) = crate::common::run(&["serve", "--listen", "127.0.0.1:0", &program]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("not a connection handler") && err.contains("wasock-cc --handler"),
        "{err}"
    );
}
