//! A UDP echo server written for WASI 0.3 (`wasi:sockets@0.3`): each
//! datagram goes back to its sender, with the async `receive` and `send`.
//!
//! Usage: `p3-udp-echo [ADDR]` (default `127.0.0.1:0`). The first line on
//! stdout is `listening on ADDR`; then it echoes datagrams until killed.
#![cfg_attr(target_arch = "wasm32", no_main)]

#[cfg(target_arch = "wasm32")]
mod server {
    use p3_echo::{address_argument, describe, family, from_wasi, to_wasi};
    use wasip3::sockets::types::UdpSocket;

    struct UdpEcho;
    wasip3::cli::command::export!(UdpEcho);

    impl wasip3::exports::cli::run::Guest for UdpEcho {
        async fn run() -> Result<(), ()> {
            let addr = address_argument().map_err(|e| eprintln!("p3-udp-echo: {e}"))?;
            let socket = UdpSocket::create(family(&addr))
                .and_then(|s| s.bind(to_wasi(addr)).map(|()| s))
                .map_err(|e| eprintln!("p3-udp-echo: cannot bind {addr}: {}", describe(&e)))?;
            let local = socket
                .get_local_address()
                .map(from_wasi)
                .map_err(|e| eprintln!("p3-udp-echo: {}", describe(&e)))?;
            println!("listening on {local}");
            println!("talk to it with: nc -u {} {}", local.ip(), local.port());
            loop {
                match socket.receive().await {
                    Ok((data, from)) => {
                        if let Err(e) = socket.send(data, Some(from)).await {
                            eprintln!(
                                "p3-udp-echo: reply to {} failed: {}",
                                from_wasi(from),
                                describe(&e)
                            );
                        }
                    }
                    Err(e) => eprintln!("p3-udp-echo: receive failed: {}", describe(&e)),
                }
            }
        }
    }
}

/// Built natively, there is nothing to run: this is a `wasm32-wasip2` guest.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
