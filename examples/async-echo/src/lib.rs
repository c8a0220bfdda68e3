//! The echo as an async connection handler for `wasock serve`: each
//! connection gets a fresh instance, which echoes on the SDK's async
//! runtime until the client closes, or until the server shuts down: when
//! `wasock serve` begins to drain (SIGINT, SIGTERM), the echo finishes
//! the write in hand and closes, rather than hold an idle client until the
//! drain timeout.
//!
//! ```sh
//! wasock serve --listen 127.0.0.1:7000 --allow 'tcp-accept=127.0.0.0/8:*' async_echo_handler.wasm
//! ```

use std::io;
use std::net::SocketAddr;

use wasock::handler::{AsyncConnectionHandler, draining};
use wasock::rt::{self, net::TcpStream};

/// Echoes every byte back until the client closes or the server drains.
pub struct Echo;

impl AsyncConnectionHandler for Echo {
    async fn handle(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let read = rt::or(async { Some(stream.read(&mut buf).await) }, async {
                draining().await;
                None
            });
            let n = match read.await {
                // The server is draining: close (the peer reads its end).
                None => return Ok(()),
                Some(n) => n?,
            };
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
        }
    }
}

wasock::export_async_connection_handler!(Echo);
