//! Async `UdpSocket`.

use std::io;
use std::net::SocketAddr;

use super::lookup::{ToSocketAddrs, each_addr};
use crate::bindings::wasock::sockets::types::Readiness;
use crate::net::{self as blocking, AsSocket, RecvMeta};
use crate::rt::reactor::{self, retry};

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

impl Drop for UdpSocket {
    fn drop(&mut self) {
        reactor::forget(self.inner.as_socket());
    }
}

impl UdpSocket {
    /// Bind to the first address that works.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let u = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| async move {
            UdpSocket::from_std(blocking::UdpSocket::bind(a)?)
        })
        .await
    }

    /// Make a blocking socket async (it is switched to non-blocking mode).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let b = wasock::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let u = wasock::rt::net::UdpSocket::from_std(b)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(inner: blocking::UdpSocket) -> io::Result<UdpSocket> {
        super::own_socket(inner.is_shared())?;
        inner.set_nonblocking(true)?;
        Ok(UdpSocket { inner })
    }

    /// Set the default peer (resolving a name without blocking others).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let u = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// u.connect("127.0.0.1:7").await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(&addr, |a| async move { self.inner.connect(a) }).await
    }

    /// Send one datagram to the default peer.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let u = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// u.connect("127.0.0.1:7").await?;
    /// u.send(b"ping").await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        retry(self.inner.as_socket(), Readiness::WRITABLE, || {
            self.inner.send(buf)
        })
        .await
    }

    /// Receive one datagram from the default peer (truncated to `buf`).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let u = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// u.connect("127.0.0.1:7").await?;
    /// let mut buf = [0; 1500];
    /// let n = u.recv(&mut buf).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        retry(self.inner.as_socket(), Readiness::READABLE, || {
            self.inner.recv(buf)
        })
        .await
    }

    /// Look at the next datagram from the default peer without taking it.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let u = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// u.connect("127.0.0.1:7").await?;
    /// let mut buf = [0; 1500];
    /// let n = u.peek(&mut buf).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        retry(self.inner.as_socket(), Readiness::READABLE, || {
            self.inner.peek(buf)
        })
        .await
    }

    /// Send one datagram to `addr` (its first address, if a name has
    /// several, as std's and tokio's `send_to` do).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let u = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// u.send_to(b"ping", "127.0.0.1:7").await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let a = addr
            .to_socket_addrs()
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to")
            })?;
        retry(self.inner.as_socket(), Readiness::WRITABLE, || {
            self.inner.send_to(buf, a)
        })
        .await
    }

    /// Receive one datagram and its sender (truncated to `buf`).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let u = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// let mut buf = [0; 1500];
    /// let (n, from) = u.recv_from(&mut buf).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        retry(self.inner.as_socket(), Readiness::READABLE, || {
            self.inner.recv_from(buf)
        })
        .await
    }

    /// Receive one datagram, its sender, and whether it was truncated.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let u = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// let mut buf = [0; 512];
    /// let m = u.recv_msg(&mut buf).await?;
    /// if m.truncated { eprintln!("{} sent more", m.from); }
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn recv_msg(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        retry(self.inner.as_socket(), Readiness::READABLE, || {
            self.inner.recv_msg(buf)
        })
        .await
    }

    /// Look at the next datagram and its sender without taking it.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let u = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// let mut buf = [0; 1500];
    /// let (n, from) = u.peek_from(&mut buf).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        retry(self.inner.as_socket(), Readiness::READABLE, || {
            self.inner.peek_from(buf)
        })
        .await
    }

    /// The bound address.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let u = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// println!("{}", u.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The blocking socket underneath (non-blocking mode), for options.
    /// Leave it non-blocking and without timeouts: a blocking call on it
    /// would stop every task of the runtime, not only this one. A
    /// `try_clone` of it shares the socket as it is, non-blocking.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let u = wasock::rt::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// u.as_std().set_broadcast(true)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn as_std(&self) -> &blocking::UdpSocket {
        &self.inner
    }
}
