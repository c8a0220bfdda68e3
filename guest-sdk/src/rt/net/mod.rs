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

/// Refuse a blocking socket that a [`try_clone`](crate::net::TcpStream::try_clone)
/// handle shares: the reactor keeps an async socket's readiness under the
/// socket's handle and forgets it when the async socket is dropped, so two
/// async sockets over one handle would lose each other's wake-ups.
fn own_socket(shared: bool) -> std::io::Result<()> {
    if shared {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "this socket is shared with a handle made by try_clone, and an async socket needs \
             its socket to itself: drop the other handles before from_std",
        ));
    }
    Ok(())
}
