//! The native provider: guest sockets are real operating-system sockets,
//! non-blocking, driven by tokio's reactor; options go through socket2.
//!
//! Supported on Linux (it relies on `MSG_TRUNC` reporting a datagram's real
//! length, `POLLRDHUP` and `FIONREAD` on datagram sockets).

mod drain;
mod errno;
mod options;
mod resolve;
mod socket;
mod sys;
#[cfg(test)]
mod tests;
mod waiters;

use std::net::IpAddr;

pub use errno::from_io;
pub use socket::NativeSocket;

use super::{BoxFuture, ErrorCode, Family, NetSocket, Provider, SocketType};

/// Real sockets and the system resolver.
///
/// Must be used from within a tokio runtime: sockets register with its
/// reactor.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeProvider;

impl Provider for NativeProvider {
    fn open(
        &self,
        family: Family,
        socket_type: SocketType,
    ) -> Result<Box<dyn NetSocket>, ErrorCode> {
        Ok(Box::new(NativeSocket::open(family, socket_type)?))
    }

    fn resolve(&self, name: &str) -> BoxFuture<Result<Vec<IpAddr>, ErrorCode>> {
        let name = name.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || resolve::getaddrinfo(&name))
                .await
                .unwrap_or(Err(ErrorCode::Unknown))
        })
    }
}
