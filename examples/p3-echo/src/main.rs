//! A TCP echo server written for WASI 0.3 (`wasi:sockets@0.3` through the
//! `wasip3` crate): every connection is served by a task of its own, all on
//! one instance, with WASI 0.3's async functions and streams instead of
//! `poll`.
//!
//! Usage: `p3-echo [ADDR]` (default `127.0.0.1:0`). The first line on
//! stdout is `listening on ADDR` with the address actually bound, the
//! second says how to connect; then it echoes every byte each client sends
//! until the client closes, and serves until killed.
// The component's entry point is its `wasi:cli/run@0.3` export, not `main`.
#![cfg_attr(target_arch = "wasm32", no_main)]

#[cfg(target_arch = "wasm32")]
mod server {
    use p3_echo::{address_argument, describe, family, from_wasi, to_wasi};
    use wasip3::sockets::types::TcpSocket;
    use wasip3::wit_bindgen::StreamResult;
    use wasip3::wit_stream;

    /// Bytes one read asks for.
    const CHUNK: usize = 16 * 1024;

    struct Echo;
    wasip3::cli::command::export!(Echo);

    impl wasip3::exports::cli::run::Guest for Echo {
        async fn run() -> Result<(), ()> {
            let addr = address_argument().map_err(|e| eprintln!("p3-echo: {e}"))?;
            let listener = TcpSocket::create(family(&addr))
                .and_then(|l| l.bind(to_wasi(addr)).map(|()| l))
                .map_err(|e| eprintln!("p3-echo: cannot bind {addr}: {}", describe(&e)))?;
            let mut incoming = listener
                .listen()
                .map_err(|e| eprintln!("p3-echo: cannot listen on {addr}: {}", describe(&e)))?;
            let local = listener
                .get_local_address()
                .map(from_wasi)
                .map_err(|e| eprintln!("p3-echo: {}", describe(&e)))?;
            println!("listening on {local}");
            println!("connect with: nc {} {}", local.ip(), local.port());
            while let Some(conn) = incoming.next().await {
                wasip3::spawn_local(echo(conn));
            }
            eprintln!("p3-echo: the listener's stream of connections ended");
            Err(())
        }
    }

    /// Send back what `conn` receives, until the client ends its side.
    async fn echo(conn: TcpSocket) {
        let (mut from_client, received) = conn.receive();
        let (mut to_client, out) = wit_stream::new();
        let sent = conn.send(out);
        let mut buf = Vec::with_capacity(CHUNK);
        loop {
            let (status, data) = from_client.read(buf).await;
            if let StreamResult::Dropped = status
                && data.is_empty()
            {
                break;
            }
            // What the client does not take yet waits in the write: reading
            // pauses until it does (the stream's backpressure).
            let left = to_client.write_all(data).await;
            if !left.is_empty() {
                break;
            }
            buf = Vec::with_capacity(CHUNK);
        }
        // Closing our side sends the FIN once everything went.
        drop(to_client);
        if let Err(e) = received.await {
            eprintln!("p3-echo: a connection ended with {}", describe(&e));
        }
        let _ = sent.await;
    }
}

/// Built natively (as the workspace's tests and lints build every member),
/// there is nothing to run: this is a `wasm32-wasip2` guest.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
