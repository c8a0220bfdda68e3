//! `examples/hyper-handler`: hyper's server as a `wasock serve` connection
//! handler, driven by real `curl`; and draining with connections kept
//! alive, idle or in the middle of a request.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use wasock_test_programs::{HYPER_HANDLER, PROVIDER_TAP};

use crate::common::{Guest, PATIENCE};
use crate::http_server::{curl, curl_on_one_connection, url};
use crate::serve::{drained_cleanly, serve_program, terminate};

/// `wasock serve` of the hyper handler with `flags`, and a drain timeout
/// longer than the tests' patience: a kept connection that were not told
/// of the drain would hold the server past every read's timeout.
fn serve_with(flags: &[&str]) -> (Guest, SocketAddr) {
    let mut args = vec!["--drain-timeout", "300s"];
    args.extend_from_slice(flags);
    serve_program(HYPER_HANDLER, &args)
}

/// A client connection that gives up after PATIENCE.
pub(crate) fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

/// Read one response whose body ends with `end`: head and body.
fn response_ending(s: &mut TcpStream, end: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    while !got.ends_with(end.as_bytes()) {
        let n = s.read(&mut buf).expect("a response");
        assert!(
            n > 0,
            "closed mid-response: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

/// What the peer sends before it closes: must be nothing more.
fn closed(s: &mut TcpStream) {
    let mut rest = Vec::new();
    s.read_to_end(&mut rest)
        .expect("the handler closes its kept connection when the server drains");
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
}

#[test]
fn hyper_under_serve_answers_curl_on_one_kept_connection() {
    let (g, addr) = serve_with(&[]);
    let out = curl(&[&url(addr, "/")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from hyper\n");
    let urls = [url(addr, "/"), url(addr, "/missing"), url(addr, "/")];
    curl_on_one_connection(&urls, "200:1 404:0 200:0 ");
    let out = curl(&["--data-binary", "ping", &url(addr, "/echo")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ping");
    terminate(&g);
    drained_cleanly(g, 3);
}

#[test]
fn draining_closes_idle_kept_connections_at_once() {
    idle_kept_connections_close_on_drain(&[]);
}

/// Through a provider layer too: the tap's wait, ended by the host below,
/// ends the handler's.
#[test]
fn draining_reaches_a_handler_on_a_provider_layer() {
    idle_kept_connections_close_on_drain(&["--provider", PROVIDER_TAP]);
}

fn idle_kept_connections_close_on_drain(flags: &[&str]) {
    let (g, addr) = serve_with(flags);
    let mut kept: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = connect(addr);
            s.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
                .unwrap();
            let r = response_ending(&mut s, "hello from hyper\n");
            assert!(r.starts_with("HTTP/1.1 200 OK"), "{r}");
            s
        })
        .collect();
    terminate(&g);
    for s in &mut kept {
        closed(s);
    }
    drained_cleanly(g, 3);
}

#[test]
fn draining_answers_the_request_in_progress_then_closes() {
    let (g, addr) = serve_with(&[]);
    let mut s = connect(addr);
    s.write_all(b"POST /echo HTTP/1.1\r\nhost: test\r\ncontent-length: 10\r\n\r\nhello")
        .unwrap();
    // Let the instance read the head and wait for the rest of the body.
    std::thread::sleep(Duration::from_millis(200));
    terminate(&g);
    let err = g.stderr_once_it_says("shutting down", 1);
    assert!(err.contains("shutting down"), "{err}");
    // Let the instance hear of the drain (its wait for the rest of the
    // body ends, and hyper is told to shut down gracefully).
    std::thread::sleep(Duration::from_millis(500));
    s.write_all(b"world").unwrap();
    let r = response_ending(&mut s, "helloworld");
    assert!(r.starts_with("HTTP/1.1 200 OK"), "{r}");
    // hyper heard of the drain during the request: it says it closes.
    assert!(r.to_ascii_lowercase().contains("connection: close"), "{r}");
    closed(&mut s);
    drained_cleanly(g, 1);
}

#[test]
fn a_client_that_goes_away_is_not_a_failed_connection() {
    // One worker: connections are accepted in the order they came, so the
    // two that leave are in instances once curl's is answered.
    let (g, addr) = serve_with(&["--workers", "1"]);
    // One closes in the middle of a request's head.
    let mut half = connect(addr);
    half.write_all(b"GET / HTTP/1.1\r\nhost: te").unwrap();
    drop(half);
    // One resets its connection once its request is sent, as wrk does to
    // the connections it holds when it stops.
    let mut reset = connect(addr);
    reset
        .write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .unwrap();
    let reset = socket2::Socket::from(reset);
    reset.set_linger(Some(Duration::ZERO)).unwrap();
    drop(reset);
    let out = curl(&[&url(addr, "/")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from hyper\n");
    terminate(&g);
    let err = drained_cleanly(g, 3);
    assert!(
        err.contains("served 3 connections (0 failed"),
        "a client that left counted as the handler's failure: {err}"
    );
    assert!(!err.contains("connection handler for"), "{err}");
}
