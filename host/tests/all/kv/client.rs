//! Talking to the kv guest: real tools (redis-cli, nc, redis-benchmark)
//! with every wait bounded, and a small RESP2 client for raw sockets.

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;

use crate::common::{Guest, PATIENCE};

/// Run a real tool with `input` on its stdin, bounded by [`PATIENCE`].
/// A tool that is not installed fails the test.
pub fn tool(program: &str, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); install redis-tools and netcat-openbsd")
        });
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(PATIENCE) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: a signal to our own child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("{program} {args:?} did not finish within {PATIENCE:?}");
        }
    }
}

/// `redis-cli` (replies formatted as in a terminal) running one command;
/// its output without the final newline.
pub fn cli(addr: SocketAddr, args: &[&str]) -> String {
    let port = addr.port().to_string();
    let mut all = vec!["--no-raw", "-h", "127.0.0.1", "-p", &port];
    all.extend_from_slice(args);
    let out = tool("redis-cli", &all, b"");
    assert!(
        out.status.success(),
        "redis-cli {args:?}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_string()
}

/// A connection with every wait bounded.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.set_write_timeout(Some(PATIENCE)).unwrap();
    s
}

/// A reply, as RESP2 has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

pub fn bulk(s: &str) -> Reply {
    Reply::Bulk(Some(s.as_bytes().to_vec()))
}

/// Read one reply.
pub fn read_reply(r: &mut impl BufRead) -> Reply {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).unwrap();
    assert!(line.ends_with(b"\r\n"), "bad reply line {line:?}");
    let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
    match line[0] {
        b'+' => Reply::Simple(text),
        b'-' => Reply::Error(text),
        b':' => Reply::Int(text.parse().unwrap()),
        b'$' => {
            let n: i64 = text.parse().unwrap();
            if n < 0 {
                return Reply::Bulk(None);
            }
            let mut v = vec![0u8; n as usize + 2];
            r.read_exact(&mut v).unwrap();
            assert_eq!(&v[n as usize..], b"\r\n");
            v.truncate(n as usize);
            Reply::Bulk(Some(v))
        }
        b'*' => {
            let n: i64 = text.parse().unwrap();
            if n < 0 {
                return Reply::Array(None);
            }
            Reply::Array(Some((0..n).map(|_| read_reply(r)).collect()))
        }
        other => panic!("bad reply type {:?} in {line:?}", other as char),
    }
}

/// A command in RESP.
pub fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Send `input` on a fresh connection and read until the server closes:
/// everything it said.
pub fn said_before_closing(addr: SocketAddr, input: &[u8]) -> String {
    let mut s = connect(addr);
    s.write_all(input).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap_or_else(|e| {
        let shown = String::from_utf8_lossy(&input[..input.len().min(64)]);
        panic!("the server did not close cleanly after {shown:?}: {e}")
    });
    String::from_utf8_lossy(&out).into_owned()
}

/// The server answers PING, on a new connection, through redis-cli; and
/// the guest is still running.
pub fn still_serving(g: &Guest, addr: SocketAddr) {
    assert_eq!(cli(addr, &["PING"]), "PONG", "stderr:\n{}", g.stderr());
}

/// Each `NAME: RATE requests per second` in redis-benchmark's quiet
/// output (progress lines end in `\r`).
pub fn rates(text: &str) -> Vec<(String, f64)> {
    text.split(['\r', '\n'])
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once(": ")?;
            let rate = rest.split_once(" requests per second")?.0;
            Some((name.to_string(), rate.trim().parse().ok()?))
        })
        .collect()
}
