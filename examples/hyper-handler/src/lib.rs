//! hyper's HTTP/1.1 server as a connection handler for `wasock serve`: one
//! instance per connection, hyper over the SDK's async stream (tokio's
//! `AsyncRead`/`AsyncWrite` through the SDK's `tokio` feature), keep-alive
//! across requests.
//!
//! When the server drains (SIGINT, SIGTERM), the handler calls hyper's
//! `graceful_shutdown`: an idle kept connection closes at once, and a
//! request in progress is answered (with `connection: close`) before it
//! closes, instead of every kept connection holding the server until its
//! drain timeout.
//!
//! - `GET /`: `hello from hyper`;
//! - `POST /echo`: the request body back;
//! - anything else: `404`.
//!
//! ```text
//! wasock serve --listen 127.0.0.1:8080 --allow 'tcp-accept=127.0.0.0/8:*' hyper_handler.wasm
//! curl http://127.0.0.1:8080/ http://127.0.0.1:8080/
//! ```

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use wasock::handler::{AsyncConnectionHandler, draining};
use wasock::rt::{self, net::TcpStream};

/// A response with `status` and `body`.
fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => reply(StatusCode::OK, "hello from hyper\n"),
        (&Method::POST, "/echo") => match req.into_body().collect().await {
            Ok(body) => reply(StatusCode::OK, body.to_bytes()),
            Err(e) => reply(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}\n"),
            ),
        },
        _ => reply(StatusCode::NOT_FOUND, "not found\n"),
    })
}

/// Serves one connection with hyper until the client closes it, or, once
/// the server drains, until the request in hand is answered.
pub struct Hyper;

impl AsyncConnectionHandler for Hyper {
    async fn handle(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
        // As HTTP servers do: a response written in parts (a head, then a
        // streamed body) must not wait for the client's delayed ACK.
        stream.set_nodelay(true)?;
        let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(route));
        let mut conn = pin!(conn);
        let served = rt::or(async { Some(conn.as_mut().await) }, async {
            draining().await;
            None
        })
        .await;
        let result = match served {
            Some(result) => result,
            None => {
                // Close when idle; finish a request under way first.
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        match result {
            // A client that closed in the middle of a request: nothing to
            // answer, and no failure of the server's.
            Err(e) if e.is_incomplete_message() => Ok(()),
            // The service's or a body's own error (a backend's, in a
            // proxy): the server's failure, whatever code lies under it,
            // so passed on as text, not as a code saying the client left.
            Err(e) if e.is_user() => Err(io::Error::other(e.to_string())),
            // A reset or an abort underneath keeps its code through the
            // SDK's adapter, and `wasock serve` counts it as the client's
            // leaving, not as a failed connection.
            Err(e) => Err(io::Error::other(e)),
            Ok(()) => Ok(()),
        }
    }
}

wasock::export_async_connection_handler!(Hyper);
