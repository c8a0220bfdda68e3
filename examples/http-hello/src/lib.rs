//! A tiny HTTP responder for `wasock serve`: every connection gets a fresh
//! instance, which reads one request and answers it.
//!
//! - `GET /` answers `hello from wasock` with the instance's own random id
//!   and the peer's address, so a client can tell instances apart;
//! - `GET /slow` waits 200 ms first (to watch concurrency limits and
//!   draining);
//! - anything else is `404`.
//!
//! With `HTTP_HELLO_LOG` set (`wasock serve --env HTTP_HELLO_LOG=1`), each
//! instance writes an access log line to stderr: `http-hello: PEER PATH
//! STATUS`.
//!
//! ```text
//! wasock serve --listen 127.0.0.1:8080 --allow 'tcp-accept=127.0.0.0/8:*' http_hello.wasm
//! curl http://127.0.0.1:8080/
//! ```

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use wasock::handler::ConnectionHandler;
use wasock::net::TcpStream;

/// Largest request head read.
const MAX_HEAD: usize = 16 * 1024;

struct Hello;

fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed mid-request",
            ));
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

impl ConnectionHandler for Hello {
    fn handle(mut stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
        let head = read_head(&mut stream)?;
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let (status, body) = match path.as_str() {
            "/" | "/slow" => {
                if path == "/slow" {
                    std::thread::sleep(Duration::from_millis(200));
                }
                // A fresh instance has fresh random keys: an id per instance.
                let id = RandomState::new().hash_one(0u8);
                (
                    "200 OK",
                    format!("hello from wasock instance {id:016x} to {peer}\n"),
                )
            }
            _ => ("404 Not Found", "not found\n".to_string()),
        };
        write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )?;
        stream.flush()?;
        if std::env::var_os("HTTP_HELLO_LOG").is_some() {
            // An access log line, written piece by piece (as `eprintln!`
            // writes): `wasock serve` keeps each line whole.
            eprintln!("http-hello: {peer} {path} {status}");
        }
        Ok(())
    }
}

wasock::export_connection_handler!(Hello);
