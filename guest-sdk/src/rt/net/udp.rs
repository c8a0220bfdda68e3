//! Async `UdpSocket`.

use std::io;
use std::net::SocketAddr;

use super::lookup::{ToSocketAddrs, each_addr};
use crate::bindings::wasock::sockets::types::Readiness;
use crate::net::{self as blocking, AsSocket, RecvMeta};
use crate::rt::reactor::retry;

/// An async UDP socket.
///
/// ```no_run
/// wasock::rt::block_on(async {
///     let s = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
///     s.send_to(b"ping", "127.0.0.1:7").await?;
///     let mut buf = [0; 1500];
///     let (n, from) = s.recv_from(&mut buf).await?;
///     Ok::<(), std::io::Error>(())
/// });
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    inner: blocking::UdpSocket,
}

impl UdpSocket {
    /// Bind to the first address that works.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| async move {
            UdpSocket::from_std(blocking::UdpSocket::bind(a)?)
        })
        .await
    }

    /// Make a blocking socket async (it is switched to non-blocking mode).
    pub fn from_std(inner: blocking::UdpSocket) -> io::Result<UdpSocket> {
        inner.set_nonblocking(true)?;
        Ok(UdpSocket { inner })
    }

    /// Set the default peer (resolving a name without blocking others).
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(&addr, |a| async move { self.inner.connect(a) }).await
    }

    /// Send one datagram to the default peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        retry(self.inner.as_socket(), Readiness::WRITABLE, || {
            self.inner.send(buf)
        })
        .await
    }

    /// Receive one datagram from the default peer (truncated to `buf`).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        retry(self.inner.as_socket(), Readiness::READABLE, || {
            self.inner.recv(buf)
        })
        .await
    }

    /// Look at the next datagram from the default peer without taking it.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        retry(self.inner.as_socket(), Readiness::READABLE, || {
            self.inner.peek(buf)
        })
        .await
    }

    /// Send one datagram to `addr`.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        each_addr(&addr, |a| async move {
            retry(self.inner.as_socket(), Readiness::WRITABLE, || {
                self.inner.send_to(buf, a)
            })
            .await
        })
        .await
    }

    /// Receive one datagram and its sender (truncated to `buf`).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        retry(self.inner.as_socket(), Readiness::READABLE, || {
            self.inner.recv_from(buf)
        })
        .await
    }

    /// Receive one datagram, its sender, and whether it was truncated.
    pub async fn recv_msg(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        retry(self.inner.as_socket(), Readiness::READABLE, || {
            self.inner.recv_msg(buf)
        })
        .await
    }

    /// Look at the next datagram and its sender without taking it.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        retry(self.inner.as_socket(), Readiness::READABLE, || {
            self.inner.peek_from(buf)
        })
        .await
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The blocking socket underneath (non-blocking mode), for options.
    pub fn as_std(&self) -> &blocking::UdpSocket {
        &self.inner
    }
}
