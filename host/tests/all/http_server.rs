//! `examples/http`: an HTTP/1.1 server guest under `wasock run` with the
//! minimal policy (`tcp-bind` and `tcp-accept` on 127.0.0.1), driven by
//! real `curl` and `wrk`, and by raw `TcpStream`s for what curl will not
//! send: pipelined, malformed, oversized and abandoned requests. curl and
//! wrk are required: without them these tests fail.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use wasock_test_programs::HTTP;

use crate::common::{Guest, PATIENCE, run_server};

/// What `GET /` answers.
const HELLO: &str = "hello from wasock\n";

/// `wasock run` of the guest with `extra` arguments for it; and the
/// address it listens on.
fn start(extra: &[&str]) -> (Guest, SocketAddr) {
    run_server(HTTP, &[], extra)
}

pub(crate) fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

/// Run a tool these tests need; fail (not skip) when it is missing.
fn tool(name: &str, args: &[&str]) -> Output {
    Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("`{name}` is required by this test and did not run: {e}"))
}

/// curl, silent but for errors, bounded in time.
pub(crate) fn curl(args: &[&str]) -> Output {
    let mut all = vec!["--silent", "--show-error", "--max-time", "30"];
    all.extend_from_slice(args);
    let out = tool("curl", &all);
    assert!(
        out.status.success(),
        "curl {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The server still answers a fresh client.
fn still_serves(addr: SocketAddr) {
    let out = curl(&[&url(addr, "/")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), HELLO);
}

/// A connection with every wait bounded.
fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.set_write_timeout(Some(PATIENCE)).unwrap();
    BufReader::new(s)
}

/// One response as read from the wire.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Read one response (its body by `Content-Length`; `head` says whether it
/// answers a `HEAD`, which has none).
fn read_response_to(r: &mut BufReader<TcpStream>, head: bool) -> Response {
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status: u16 = line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    for _ in 0..100 {
        line.clear();
        r.read_line(&mut line).expect("header line");
        let l = line.trim_end();
        if l.is_empty() {
            let mut resp = Response {
                status,
                headers,
                body: Vec::new(),
            };
            let len: usize = resp
                .header("content-length")
                .expect("content-length")
                .parse()
                .unwrap();
            if !head {
                resp.body = vec![0; len];
                r.read_exact(&mut resp.body).expect("body");
            }
            return resp;
        }
        let (n, v) = l.split_once(':').expect("header field");
        headers.push((n.to_string(), v.trim().to_string()));
    }
    panic!("more than 100 header lines");
}

fn read_response(r: &mut BufReader<TcpStream>) -> Response {
    read_response_to(r, false)
}

/// The server closes the connection: the next read ends (or is reset)
/// rather than giving more bytes, within `PATIENCE`.
fn assert_closed(r: &mut BufReader<TcpStream>) {
    let mut buf = [0u8; 1024];
    match r.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("expected the end of the connection, got {other:?}"),
    }
}

/// Send `request` on a fresh connection; the response, after which the
/// server must close.
fn one_shot(addr: SocketAddr, request: &[u8]) -> Response {
    let mut r = connect(addr);
    r.get_mut().write_all(request).unwrap();
    let resp = read_response(&mut r);
    assert_eq!(resp.header("connection"), Some("close"), "{resp:?}");
    assert_closed(&mut r);
    resp
}

/// `n` bytes of `/bytes/N`'s pattern.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 26) as u8).collect()
}

/// A file of `len` pseudo-random bytes in the system's temporary
/// directory (removed when dropped).
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(tag: &str, len: usize) -> TempFile {
        let path = std::env::temp_dir().join(format!(
            "wasock-http-{}-{tag}-{len}.bin",
            std::process::id()
        ));
        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ len as u64;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }

    fn arg(&self) -> String {
        format!("@{}", self.0.display())
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.0).unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn curl_reuses_one_connection_for_two_urls() {
    let (_g, addr) = start(&[]);
    curl_on_one_connection(
        &[url(addr, "/"), url(addr, "/bytes/100000")],
        "200:1 200:0 ",
    );
}

/// curl fetching `urls` in one run: it must say `codes` (each status with
/// the connections it opened for it: `200:1 200:0 `) and reuse the one
/// connection.
pub(crate) fn curl_on_one_connection(urls: &[String], codes: &str) {
    let mut args = vec!["-v"];
    args.extend(urls.iter().flat_map(|_| ["-o", "/dev/null"]));
    args.extend(["-w", "%{http_code}:%{num_connects} "]);
    args.extend(urls.iter().map(String::as_str));
    let out = curl(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout), codes, "{err}");
    assert!(err.contains("Re-using existing connection"), "{err}");
}

#[test]
fn curl_gets_hello_bytes_404_and_405() {
    let (_g, addr) = start(&[]);
    assert_eq!(
        String::from_utf8_lossy(&curl(&[&url(addr, "/")]).stdout),
        HELLO
    );
    for n in [0, 1, 26, 100_000, 3 << 20] {
        let out = curl(&[&url(addr, &format!("/bytes/{n}"))]);
        assert!(
            out.stdout == pattern(n),
            "/bytes/{n}: {} bytes",
            out.stdout.len()
        );
    }
    let status = |args: &[&str]| {
        let mut all = vec!["-o", "/dev/null", "-w", "%{http_code} %header{allow}"];
        all.extend_from_slice(args);
        String::from_utf8_lossy(&curl(&all).stdout).into_owned()
    };
    assert_eq!(status(&[&url(addr, "/missing")]), "404 ");
    assert_eq!(status(&[&url(addr, "/bytes/x")]), "404 ");
    assert_eq!(status(&[&url(addr, "/bytes/16777217")]), "400 ");
    assert_eq!(status(&["-X", "POST", &url(addr, "/")]), "405 GET, HEAD");
    assert_eq!(status(&[&url(addr, "/echo")]), "405 POST");
    // HEAD: the length GET would have, no body.
    let out = curl(&["-I", &url(addr, "/bytes/1234")]);
    let head = String::from_utf8_lossy(&out.stdout);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Length: 1234\r\n"), "{head}");
}

#[test]
fn curl_posts_echo_with_content_length_and_chunked() {
    let (_g, addr) = start(&[]);
    for len in [0, 1, 5000, 3 << 20] {
        let file = TempFile::new("echo", len);
        let out = curl(&["--data-binary", &file.arg(), &url(addr, "/echo")]);
        assert!(out.stdout == file.bytes(), "content-length {len}");
        let out = curl(&[
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &file.arg(),
            &url(addr, "/echo"),
        ]);
        assert!(out.stdout == file.bytes(), "chunked {len}");
    }
    // Past the 16 MiB bound: refused before the body is sent.
    let big = TempFile::new("big", (16 << 20) + 1);
    for chunked in [false, true] {
        let mut args = vec!["-o", "/dev/null", "-w", "%{http_code}"];
        args.extend_from_slice(&["-H", "Expect: 100-continue"]);
        if chunked {
            args.extend_from_slice(&["-H", "Transfer-Encoding: chunked"]);
        }
        let data = big.arg();
        let target = url(addr, "/echo");
        args.extend_from_slice(&["--data-binary", &data, &target]);
        let out = tool("curl", &args);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "413",
            "chunked={chunked}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    still_serves(addr);
}

#[test]
fn malformed_requests_get_an_error_and_the_connection_closes() {
    let (_g, addr) = start(&[]);
    let cases: &[(&[u8], u16)] = &[
        (b"garbage\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            501,
        ),
    ];
    for (request, want) in cases {
        let resp = one_shot(addr, request);
        assert_eq!(
            resp.status,
            *want,
            "{:?}: {resp:?}",
            String::from_utf8_lossy(request)
        );
    }
    still_serves(addr);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (_g, addr) = start(&[]);
    let mut r = connect(addr);
    let requests = concat!(
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /bytes/5 HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nping",
        "HEAD /bytes/7 HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        "4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n",
        "GET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /bytes/3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        // After `Connection: close`: never answered.
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    r.get_mut().write_all(requests.as_bytes()).unwrap();
    let want: &[(u16, &str, bool)] = &[
        (200, HELLO, false),
        (200, "abcde", false),
        (200, "ping", false),
        (200, "", true),
        (200, "wikipedia", false),
        (404, "not found\n", false),
        (200, "abc", false),
    ];
    for (i, (status, body, head)) in want.iter().enumerate() {
        let resp = read_response_to(&mut r, *head);
        assert_eq!(
            (resp.status, resp.text().as_str()),
            (*status, *body),
            "#{i}"
        );
        if *head {
            assert_eq!(resp.header("content-length"), Some("7"));
        }
    }
    assert_closed(&mut r);

    // A hundred at once, in one write, each answered in its turn.
    let mut r = connect(addr);
    let mut batch = String::new();
    for i in 0..100 {
        batch.push_str(&format!("GET /bytes/{i} HTTP/1.1\r\nHost: a\r\n\r\n"));
    }
    r.get_mut().write_all(batch.as_bytes()).unwrap();
    for i in 0..100 {
        let resp = read_response(&mut r);
        assert_eq!(resp.body, pattern(i), "#{i}");
    }
}

#[test]
fn http10_and_connection_close_are_honoured() {
    let (_g, addr) = start(&[]);
    // HTTP/1.0 closes after one response unless asked to keep alive.
    let resp = one_shot(addr, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(resp.text(), HELLO);
    let mut r = connect(addr);
    for _ in 0..3 {
        r.get_mut()
            .write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let resp = read_response(&mut r);
        assert_eq!(resp.header("connection"), Some("keep-alive"));
        assert_eq!(resp.text(), HELLO);
    }
    let resp = one_shot(
        addr,
        b"GET /bytes/2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(resp.text(), "ab");
    // curl sees the server close each time: two connections for two URLs.
    for flags in [&["-0"][..], &["-H", "Connection: close"][..]] {
        let mut args = flags.to_vec();
        args.extend_from_slice(&["-o", "/dev/null", "-o", "/dev/null"]);
        args.extend_from_slice(&["-w", "%{http_code}:%{num_connects} "]);
        let (a, b) = (url(addr, "/"), url(addr, "/bytes/9"));
        args.extend_from_slice(&[&a, &b]);
        let out = curl(&args);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "200:1 200:1 ",
            "{flags:?}"
        );
    }
}

#[test]
fn bad_input_leaves_the_server_serving() {
    let (_g, addr) = start(&[]);

    // Truncated, then the client vanishes: in the head, in a body, in a
    // chunk.
    for partial in [
        &b"GET / HTTP/1.1\r\nHost: a\r\nContent-Le"[..],
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n0123456789",
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n100\r\nabc",
    ] {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(partial).unwrap();
        drop(s);
        still_serves(addr);
    }

    // A client that vanishes in the middle of a 16 MiB answer.
    let mut r = connect(addr);
    r.get_mut()
        .write_all(b"GET /bytes/16777216 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut some = [0u8; 4096];
    r.read_exact(&mut some).unwrap();
    drop(r);
    still_serves(addr);

    // A huge header field, and a line that never ends: 431.
    let mut huge = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 20_000));
    huge.extend_from_slice(b"\r\n\r\n");
    assert_eq!(one_shot(addr, &huge).status, 431);
    let mut endless = b"GET /".to_vec();
    endless.extend(std::iter::repeat_n(b'y', 64 * 1024));
    assert_eq!(one_shot(addr, &endless).status, 431);
    still_serves(addr);

    // A 4 GiB body announced, and a chunk of a terabyte: 413 before
    // reading any of it.
    let resp = one_shot(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4294967296\r\n\r\nabc",
    );
    assert_eq!(resp.status, 413);
    let resp = one_shot(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffff\r\nabc",
    );
    assert_eq!(resp.status, 413);
    let resp = one_shot(
        addr,
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    );
    assert_eq!(resp.status, 413);
    still_serves(addr);
}

#[test]
fn idle_and_stalled_connections_are_closed_after_the_timeout() {
    let (_g, addr) = start(&["--idle-timeout-ms", "300"]);
    // Idle after a request: closed without a word.
    let began = Instant::now();
    let mut r = connect(addr);
    r.get_mut()
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut r).text(), HELLO);
    assert_closed(&mut r);
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(10),
        "closed after {took:?}"
    );
    // Never a byte: closed too.
    let mut r = connect(addr);
    assert_closed(&mut r);
    // Stalled in the middle of a request: 408.
    let mut r = connect(addr);
    r.get_mut()
        .write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    let resp = read_response(&mut r);
    assert_eq!(resp.status, 408);
    assert_closed(&mut r);
    // Half-closed in the middle of a head: 400.
    let mut r = connect(addr);
    r.get_mut().write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    r.get_mut().shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_response(&mut r).status, 400);
    assert_closed(&mut r);
    still_serves(addr);
}

#[test]
fn many_clients_at_once_each_get_their_own_answers() {
    let (_g, addr) = start(&[]);
    const CLIENTS: usize = 64;
    const ROUNDS: usize = 20;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut r = connect(addr);
                for k in 0..ROUNDS {
                    let body = format!("client {i} round {k}");
                    write!(
                        r.get_mut(),
                        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .unwrap();
                    assert_eq!(read_response(&mut r).text(), body);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    still_serves(addr);
}

#[test]
fn wrk_with_fifty_connections_sees_no_errors() {
    let (_g, addr) = start(&[]);
    let out = tool(
        "wrk",
        &["-t2", "-c50", "-d2s", "--timeout", "10s", &url(addr, "/")],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("Socket errors"), "{text}");
    assert!(!text.contains("Non-2xx"), "{text}");
    let requests: u64 = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
    assert!(requests > 100, "{text}");
    let per_s = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .map(str::trim)
        .unwrap_or("?");
    eprintln!("wrk: {requests} requests, {per_s} per second");
    still_serves(addr);
}
