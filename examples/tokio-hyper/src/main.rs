//! An HTTP/1.1 server on hyper and tokio, built for `wasm32-wasip2`: no
//! wasock SDK, the stack a Rust web service uses, over standard
//! `wasi:sockets`, which the host serves with the same policy and limits
//! as its own interface.
//!
//! Usage: `tokio-hyper [ADDR]` (default `127.0.0.1:0`). The first line on
//! stdout is `listening on ADDR`; it serves until killed, each connection
//! a task of tokio's current-thread runtime, with keep-alive:
//! `GET /` answers `hello from hyper`, `POST /echo` answers with the
//! request's body, anything else is 404.
//!
//! Build with tokio's networking for WASI switched on:
//! `RUSTFLAGS="--cfg tokio_unstable" cargo build --release --target wasm32-wasip2 -p tokio-hyper`
//! (with `examples/tokio-echo`'s `fcntl` shim, linked here as there).
//! hyper's defaults stand: it writes a response's head and body with one
//! `writev`, which wasi-libc sends a buffer at a time; wasock turns Nagle's
//! algorithm off on standard guests' connections, so the body does not
//! wait for the client's delayed acknowledgement.

#[cfg(all(target_os = "wasi", target_env = "p2"))]
#[path = "../../tokio-echo/src/fcntl_shim.rs"]
mod fcntl_shim;

use std::convert::Infallible;
use std::io::Write as _;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A response of `status` with `body`.
fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => respond(StatusCode::OK, "hello from hyper\n"),
        (&Method::POST, "/echo") => match req.into_body().collect().await {
            Ok(body) => respond(StatusCode::OK, body.to_bytes()),
            Err(e) => respond(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}\n"),
            ),
        },
        _ => respond(StatusCode::NOT_FOUND, "not found\n"),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        tokio::spawn(async move {
            let served = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
            if let Err(e) = served {
                eprintln!("connection from {peer}: {e}");
            }
        });
    }
}
