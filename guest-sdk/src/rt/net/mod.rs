//! Async TCP and UDP, in the shape of `std::net` with `async` operations
//! (and of tokio's: `into_split`, `peek`, `readable`).
//!
//! Each socket is non-blocking underneath: an operation that would block
//! parks its task on the reactor until the socket is ready, and lets the
//! other tasks run.

mod lookup;
mod tcp;
mod udp;

pub use lookup::{ToSocketAddrs, lookup_host};
pub use tcp::{Incoming, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
pub use udp::UdpSocket;
