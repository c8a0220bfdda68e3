//! Async `TcpListener` and `TcpStream`.

use std::cell::{Cell, RefCell};
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::ops::Deref;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use super::lookup::{ToSocketAddrs, each_addr};
use crate::Socket;
use crate::addr::{family_of, from_std};
use crate::bindings::wasock::sockets::types::{ErrorCode, Readiness, SocketType};
use crate::error::io as to_io;
use crate::net::{self as blocking, AsSocket};
use crate::rt::reactor::{self, Registration, retry};

/// An async TCP listener.
///
/// ```no_run
/// wasock::rt::block_on(async {
///     let listener = wasock::rt::net::TcpListener::bind("127.0.0.1:0").await?;
///     let (stream, peer) = listener.accept().await?;
///     Ok::<(), std::io::Error>(())
/// });
/// ```
#[derive(Debug)]
pub struct TcpListener {
    // The registration first: it must drop before the socket.
    /// [`TcpListener::poll_accept`]'s place in the reactor.
    accept_reg: RefCell<Registration>,
    inner: blocking::TcpListener,
}

impl TcpListener {
    /// Bind to the first address that works and listen (`SO_REUSEADDR`
    /// set, the system's backlog).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let l = wasock::rt::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(&addr, |a| async move {
            TcpListener::from_std(blocking::TcpListener::bind(a)?)
        })
        .await
    }

    /// Make a blocking listener async (it is switched to non-blocking
    /// mode): the way to a listener with its own backlog, `ipv6-only` or
    /// other options set before `listen`, as tokio's `TcpSocket` is.
    ///
    /// ```no_run
    /// use wasock::{Socket, SocketOption};
    /// use wasock::raw::wasock::sockets::types::{AddressFamily, SocketType};
    /// # wasock::rt::block_on(async {
    /// let sock = Socket::open(AddressFamily::Ipv6, SocketType::Stream)?;
    /// sock.set_option(SocketOption::Ipv6Only(true))?;
    /// sock.bind(wasock::addr::from_std("[::]:0".parse().unwrap()))?;
    /// sock.listen(16)?;
    /// let blocking = wasock::net::TcpListener::from_socket(sock);
    /// let listener = wasock::rt::net::TcpListener::from_std(blocking)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(listener: blocking::TcpListener) -> io::Result<TcpListener> {
        super::own_socket(listener.is_shared())?;
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            accept_reg: RefCell::default(),
            inner: listener,
        })
    }

    /// Take the next connection, letting other tasks run until there is one.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let l = wasock::rt::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let (stream, peer) = l.accept().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = retry(self.inner.as_socket(), Readiness::READABLE, || {
            self.inner.accept()
        })
        .await?;
        Ok((TcpStream::from_std(stream)?, peer))
    }

    /// Accept, as a poll function (for hand-written futures and streams),
    /// as tokio's: one task at a time may wait through it (the listener
    /// keeps one place in the reactor for it; [`TcpListener::incoming`]
    /// streams have their own).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let l = wasock::rt::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let (s, peer) = std::future::poll_fn(|cx| l.poll_accept(cx)).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        poll_accept_with(self, &mut self.accept_reg.borrow_mut(), cx)
    }

    /// The connections, one after another, as a `futures` `Stream`.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let l = wasock::rt::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let mut incoming = l.incoming();
    /// let (first, _) = incoming.accept().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            reg: Registration::default(),
            listener: self,
        }
    }

    /// The bound address.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let l = wasock::rt::net::TcpListener::bind("127.0.0.1:0").await?;
    /// println!("{}", l.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The blocking listener underneath (non-blocking mode), for options.
    /// Leave it non-blocking and without timeouts: a blocking call on it
    /// would stop every task of the runtime, not only this one. A
    /// `try_clone` of it shares the socket as it is, non-blocking.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let l = wasock::rt::net::TcpListener::bind("127.0.0.1:0").await?;
    /// l.as_std().set_ttl(64)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn as_std(&self) -> &blocking::TcpListener {
        &self.inner
    }
}

/// The connections of [`TcpListener::incoming`]: a `futures_core::Stream`
/// that never ends. An accept that fails (out of sockets) yields its error
/// at once, and again at the next poll: back off (sleep) before asking
/// again, so that other tasks can run.
#[derive(Debug)]
pub struct Incoming<'a> {
    reg: Registration,
    listener: &'a TcpListener,
}

impl Incoming<'_> {
    /// The next connection and its peer. (Named so as not to hide the
    /// `Stream`'s `next` from `futures::StreamExt`, which yields
    /// `Option<io::Result<TcpStream>>`.)
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let l = wasock::rt::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let mut incoming = l.incoming();
    /// let (s, peer) = incoming.accept().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_next_conn(cx)).await
    }

    fn poll_next_conn(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        poll_accept_with(self.listener, &mut self.reg, cx)
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        reactor::forget(self.inner.as_socket());
    }
}

/// Accept on `listener`, waiting through `reg` when no connection is
/// queued.
fn poll_accept_with(
    listener: &TcpListener,
    reg: &mut Registration,
    cx: &mut Context<'_>,
) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
    loop {
        match listener.inner.accept() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                ready!(reg.poll_ready(listener.inner.as_socket(), Readiness::READABLE, cx))?;
            }
            Err(e) => return Poll::Ready(Err(e)),
            Ok((s, peer)) => return Poll::Ready(TcpStream::from_std(s).map(|s| (s, peer))),
        }
    }
}

impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_next_conn(cx).map(|r| Some(r.map(|(s, _)| s)))
    }
}

/// An async TCP connection. Reads and writes take `&self`, so one task may
/// read while another writes; [`TcpStream::into_split`] gives owned halves.
///
/// ```no_run
/// wasock::rt::block_on(async {
///     let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
///     s.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     s.read_exact(&mut buf).await?;
///     Ok::<(), std::io::Error>(())
/// });
/// ```
#[derive(Debug)]
pub struct TcpStream {
    // Registrations first: they must drop before the socket.
    read_reg: Registration,
    write_reg: Registration,
    inner: Rc<Conn>,
}

/// Wait once for `interest` on `sock` (until it fires).
async fn wait(sock: &Socket, interest: Readiness) -> io::Result<()> {
    let mut reg = Registration::default();
    std::future::poll_fn(|cx| reg.poll_ready(sock, interest, cx)).await
}

impl TcpStream {
    /// Connect to the first address that accepts, letting other tasks run
    /// while the handshake (and any name lookup) goes on.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |a| async move {
            let sock = to_io(Socket::open(family_of(&a), SocketType::Stream))?;
            to_io(sock.set_nonblocking(true))?;
            match sock.connect(from_std(a)) {
                Ok(()) => {}
                Err(ErrorCode::InProgress | ErrorCode::WouldBlock) => loop {
                    wait(&sock, Readiness::WRITABLE).await?;
                    if let Some(e) = to_io(sock.take_error())? {
                        return to_io(Err(e));
                    }
                    if sock.remote_address().is_ok() {
                        break;
                    }
                },
                Err(e) => return to_io(Err(e)),
            }
            Ok(TcpStream::wrap(blocking::TcpStream::from_socket(sock)))
        })
        .await
    }

    /// Make a blocking stream async (it is switched to non-blocking mode).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let blocking = wasock::net::TcpStream::connect("127.0.0.1:7000")?;
    /// let s = wasock::rt::net::TcpStream::from_std(blocking)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(stream: blocking::TcpStream) -> io::Result<TcpStream> {
        super::own_socket(stream.is_shared())?;
        stream.set_nonblocking(true)?;
        Ok(TcpStream::wrap(stream))
    }

    fn wrap(stream: blocking::TcpStream) -> TcpStream {
        TcpStream {
            read_reg: Registration::default(),
            write_reg: Registration::default(),
            inner: Rc::new(Conn {
                stream,
                drained: Cell::new(false),
            }),
        }
    }

    fn sock(&self) -> &Socket {
        self.inner.as_socket()
    }

    /// Read what is there (waiting for something); 0 is the end of the
    /// stream.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let mut buf = [0; 1024];
    /// let n = s.read(&mut buf).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut reg = Registration::default();
        std::future::poll_fn(|cx| poll_read(&self.inner, &mut reg, cx, buf)).await
    }

    /// Fill `buf` completely, or fail with `UnexpectedEof`; its length, as
    /// tokio's.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let mut header = [0; 4];
    /// s.read_exact(&mut header).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len();
        while !buf.is_empty() {
            match self.read(buf).await? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "failed to fill whole buffer",
                    ));
                }
                n => buf = &mut buf[n..],
            }
        }
        Ok(len)
    }

    /// Read without consuming.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let mut buf = [0; 16];
    /// let n = s.peek(&mut buf).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        retry(self.sock(), Readiness::READABLE, || self.inner.peek(buf)).await
    }

    /// Write what fits (waiting for room); how much was taken.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let n = s.write(b"hello").await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        retry(self.sock(), Readiness::WRITABLE, || {
            (&self.inner.stream).write(buf)
        })
        .await
    }

    /// Write all of `buf`.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// s.write_all(b"hello").await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Read what is there without waiting: `WouldBlock` when nothing is
    /// (as tokio's `try_read`, for loops driven by [`readable`](Self::readable)).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let mut buf = [0; 1024];
    /// s.readable().await?;
    /// match s.try_read(&mut buf) {
    ///     Ok(n) => println!("{n} bytes"),
    ///     Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_read(&self.inner, buf)
    }

    /// Write what fits without waiting: `WouldBlock` when nothing does (as
    /// tokio's `try_write`).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// s.writable().await?;
    /// let n = s.try_write(b"hello")?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.inner.stream).write(buf)
    }

    /// Wait until a read would not block.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// s.readable().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        wait(self.sock(), Readiness::READABLE).await
    }

    /// Wait until a write would not block.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// s.writable().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        wait(self.sock(), Readiness::WRITABLE).await
    }

    /// Shut down writing: the peer reads the end of the stream once it has
    /// what was written before (tokio's `AsyncWriteExt::shutdown`, which
    /// this name would otherwise hide). Reading or both directions:
    /// `as_std().shutdown(how)`, which does not wait either.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// s.write_all(b"last words").await?;
    /// s.shutdown().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn shutdown(&self) -> io::Result<()> {
        self.inner.shutdown(Shutdown::Write)
    }

    /// The peer's address.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// println!("{}", s.peer_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// println!("{}", s.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Set `TCP_NODELAY`.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// s.set_nodelay(true)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_nodelay(on)
    }

    /// The blocking stream underneath (non-blocking mode), for options.
    /// Leave it non-blocking and without timeouts: a blocking call on it
    /// would stop every task of the runtime, not only this one. A
    /// `try_clone` of it shares the socket as it is, non-blocking.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// s.as_std().set_ttl(64)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn as_std(&self) -> &blocking::TcpStream {
        &self.inner
    }

    /// Split into a read half and a write half that can move to different
    /// tasks. Dropping the write half shuts down writing.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let (mut rd, mut wr) = s.into_split();
    /// wasock::rt::spawn(async move { wr.write_all(b"hi").await });
    /// let mut buf = [0; 2];
    /// rd.read(&mut buf).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let TcpStream { inner, .. } = self;
        (
            OwnedReadHalf {
                reg: Registration::default(),
                inner: inner.clone(),
            },
            OwnedWriteHalf {
                reg: Registration::default(),
                inner,
            },
        )
    }
}

fn poll_read(
    conn: &Conn,
    reg: &mut Registration,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    loop {
        if conn.drained.get() {
            ready!(reg.poll_ready(conn.stream.as_socket(), Readiness::READABLE, cx))?;
            conn.drained.set(false);
        }
        match try_read(conn, buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            r => return Poll::Ready(r),
        }
    }
}

/// One read that does not wait (`WouldBlock` when nothing is there),
/// noting whether it most likely emptied the connection.
fn try_read(conn: &Conn, buf: &mut [u8]) -> io::Result<usize> {
    let r = (&conn.stream).read(buf);
    conn.drained.set(match &r {
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        Ok(n) => 0 < *n && *n < buf.len().min(SURELY_UNCAPPED),
    });
    r
}

/// Reads of fewer bytes than this that still come back short were not cut
/// by the host's limit on one receive (1 MiB by default; an embedder may
/// set it lower, rarely this low).
const SURELY_UNCAPPED: usize = 64 * 1024;

/// A connection shared by a stream's halves, and whether its last read
/// most likely emptied it.
///
/// A read that came back short (some bytes, fewer than the room given and
/// than [`SURELY_UNCAPPED`]) or with `would-block` most likely means the
/// system had no more: it hands over what it has, up to the room given.
/// The next read then waits for readiness first instead of asking the host
/// for nothing, which saves a host call and a system call per message in
/// a request-and-response loop. A wrong guess costs one reactor turn,
/// never a hang: the host's poll set reports a socket that is already
/// readable when it is armed. The end of the stream (a read of 0) is not a
/// guess: later reads ask the host at once.
#[derive(Debug)]
struct Conn {
    stream: blocking::TcpStream,
    drained: Cell<bool>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        reactor::forget(self.stream.as_socket());
    }
}

impl Deref for Conn {
    type Target = blocking::TcpStream;
    fn deref(&self) -> &blocking::TcpStream {
        &self.stream
    }
}

fn poll_write(
    inner: &blocking::TcpStream,
    reg: &mut Registration,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    poll_send(inner, reg, cx, |mut s| s.write(buf))
}

/// Make `send`, waiting for room while it would block.
fn poll_send(
    inner: &blocking::TcpStream,
    reg: &mut Registration,
    cx: &mut Context<'_>,
    send: impl Fn(&blocking::TcpStream) -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    loop {
        match send(inner) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                ready!(reg.poll_ready(inner.as_socket(), Readiness::WRITABLE, cx))?;
            }
            r => return Poll::Ready(r),
        }
    }
}

/// The read half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    reg: Registration,
    inner: Rc<Conn>,
}

impl OwnedReadHalf {
    /// Read what is there (waiting for something); 0 is the end.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let (mut rd, mut wr) = s.into_split();
    /// let mut buf = [0; 1024];
    /// let n = rd.read(&mut buf).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| poll_read(&self.inner, &mut self.reg, cx, buf)).await
    }

    /// Read what is there without waiting (see [`TcpStream::try_read`]).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let (rd, _wr) = s.into_split();
    /// let mut buf = [0; 1024];
    /// let got = rd.try_read(&mut buf);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_read(&self.inner, buf)
    }

    /// The peer's address.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let (mut rd, mut wr) = s.into_split();
    /// println!("{}", rd.peer_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}

/// The write half of [`TcpStream::into_split`]; dropping it shuts down
/// writing (the peer reads the end of the stream).
#[derive(Debug)]
pub struct OwnedWriteHalf {
    reg: Registration,
    inner: Rc<Conn>,
}

impl OwnedWriteHalf {
    /// Shut down writing, as tokio's `AsyncWriteExt::shutdown` (dropping
    /// the half does so too).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let (_rd, mut wr) = s.into_split();
    /// wr.shutdown().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.inner.shutdown(Shutdown::Write)
    }

    /// Write what fits (waiting for room).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let (mut rd, mut wr) = s.into_split();
    /// let n = wr.write(b"hello").await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| poll_write(&self.inner, &mut self.reg, cx, buf)).await
    }

    /// Write what fits without waiting (see [`TcpStream::try_write`]).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let (_rd, wr) = s.into_split();
    /// let n = wr.try_write(b"hello")?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.inner.stream).write(buf)
    }

    /// Write all of `buf`.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::net::TcpStream::connect("127.0.0.1:7000").await?;
    /// let (mut rd, mut wr) = s.into_split();
    /// wr.write_all(b"hello").await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        let _ = self.inner.shutdown(Shutdown::Write);
    }
}

macro_rules! async_io_traits {
    ($ty:ty, read: $rd:ident, write: $wr:ident) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let this = self.get_mut();
                poll_read(&this.inner, &mut this.$rd, cx, buf)
            }
        }

        #[cfg(feature = "tokio")]
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let this = self.get_mut();
                let n = ready!(poll_read(&this.inner, &mut this.$rd, cx, buf.initialize_unfilled()))?;
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }
        async_io_traits!(@write $ty, $wr);
    };
    (@write $ty:ty, none) => {};
    (@write $ty:ty, $wr:ident) => {
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let this = self.get_mut();
                poll_write(&this.inner, &mut this.$wr, cx, buf)
            }
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                // Together (see the blocking stream's `write_vectored`).
                let this = self.get_mut();
                poll_send(&this.inner, &mut this.$wr, cx, |mut s| s.write_vectored(bufs))
            }
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.inner.shutdown(Shutdown::Write))
            }
        }

        // `is_write_vectored` stays false: hyper and tokio's helpers then
        // copy the buffers into one themselves, as the gathering would.
        #[cfg(feature = "tokio")]
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let this = self.get_mut();
                poll_write(&this.inner, &mut this.$wr, cx, buf)
            }
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                // Together (see the blocking stream's `write_vectored`).
                let this = self.get_mut();
                poll_send(&this.inner, &mut this.$wr, cx, |mut s| s.write_vectored(bufs))
            }
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.inner.shutdown(Shutdown::Write))
            }
        }
    };
}

async_io_traits!(TcpStream, read: read_reg, write: write_reg);
async_io_traits!(OwnedReadHalf, read: reg, write: none);
async_io_traits!(@write OwnedWriteHalf, reg);
