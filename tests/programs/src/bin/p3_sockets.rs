//! A WASI 0.3 command that imports `wasi:sockets@0.3`: it opens a TCP
//! socket and says whether it could.
// The component's entry point is its `wasi:cli/run@0.3` export, not `main`.
#![cfg_attr(target_arch = "wasm32", no_main)]

use wasip3::sockets::types::{IpAddressFamily, TcpSocket};

struct Open;
wasip3::cli::command::export!(Open);

impl wasip3::exports::cli::run::Guest for Open {
    async fn run() -> Result<(), ()> {
        TcpSocket::create(IpAddressFamily::Ipv4)
            .map(drop)
            .map_err(drop)
    }
}

/// Built natively (as the workspace's tests and lints build every member),
/// there is nothing to run: this is a `wasm32-wasip2` guest.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
