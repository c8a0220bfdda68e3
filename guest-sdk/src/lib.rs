//! wasock: sockets for WebAssembly guests, in the shape of `std::net`.
//!
//! Guests built for `wasm32-wasip2` with this crate use the wasock socket
//! interface (`wit/` in the wasock repository), which a wasock host serves
//! with real sockets after checking every address against its policy.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use wasock::net::TcpListener;
//!
//! fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     println!("listening on {}", listener.local_addr()?);
//!     for stream in listener.incoming() {
//!         let mut stream = stream?;
//!         let mut buf = [0; 4096];
//!         loop {
//!             let n = stream.read(&mut buf)?;
//!             if n == 0 {
//!                 break;
//!             }
//!             stream.write_all(&buf[..n])?;
//!         }
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Errors are `std::io::Error`s with a deliberately chosen
//! [`io::ErrorKind`](std::io::ErrorKind); [`error_code`] recovers the wasock
//! [`ErrorCode`] (see [`error`] for the table).
//!
//! Receives land in the caller's buffer: on `wasm32-wasip2` this crate
//! defines the component's `cabi_realloc` (std's is a weak symbol, which it
//! replaces), and while a `read` or `recv` is in the host it hands the host
//! the caller's buffer for the returned bytes. Every other allocation goes
//! to the global allocator as std's would. A second strong `cabi_realloc`
//! in the same program is a link error.

pub mod addr;
pub mod error;
pub mod handler;
pub mod net;
pub mod poll;
#[cfg(feature = "provider")]
pub mod provider;
pub mod rt;

/// The raw bindings of the wasock interfaces, as wit-bindgen generates them,
/// for what the std-shaped types do not cover.
#[allow(missing_docs)]
pub mod raw {
    wit_bindgen::generate!({
        path: "../wit",
        world: "wasock:sockets/imports",
        additional_derives: [PartialEq],
        additional_derives_ignore: ["poll-entry", "poll-change"],
    });
}

pub(crate) use raw as bindings;

pub use error::{Error, ErrorCode, error_code};
pub use raw::wasock::sockets::socket::Socket;
pub use raw::wasock::sockets::types::{Readiness, SocketOption};
