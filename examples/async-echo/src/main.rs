//! A TCP echo server on wasock's async runtime: a task per connection,
//! every idle turn one wait on the host's poll set for all of them.
//!
//! Usage: `async-echo [ADDR]` (default `127.0.0.1:0`). The first line on
//! stdout is `listening on ADDR`; it serves until killed. A client that
//! floods or never sends holds only its own task.

use wasock::rt::{self, net::TcpListener};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    rt::block_on(async {
        let listener = match TcpListener::bind(addr.as_str()).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("async-echo: cannot listen on {addr}: {e}");
                std::process::exit(1);
            }
        };
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(c) => c,
                // Out of sockets (the instance's limit): the others go on.
                Err(e) => {
                    eprintln!("async-echo: accept failed: {e}");
                    rt::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            rt::spawn(async move {
                let _ = stream.set_nodelay(true);
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    })
}
