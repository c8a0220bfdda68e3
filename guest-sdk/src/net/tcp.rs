//! `TcpListener` and `TcpStream`.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::addr::{ToSocketAddrs, each_addr};
use super::options::{common_socket_methods, debug_socket, get_bool, timeout_methods};
use super::recv::recv_into;
use crate::addr::{family_of, from_std, to_std};
use crate::bindings::wasock::sockets::socket::Socket;
use crate::bindings::wasock::sockets::types::{
    ErrorCode, OptionName, RecvFlags, SendFlags, ShutdownHow, SocketOption, SocketType,
};
use crate::error::{io, taken};

/// A TCP listener, as `std::net::TcpListener`.
///
/// ```no_run
/// use wasock::net::TcpListener;
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let (stream, peer) = listener.accept()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    sock: Arc<Socket>,
}

common_socket_methods!(
    TcpListener,
    "wasock::net::TcpListener::bind(\"127.0.0.1:0\")?"
);

impl TcpListener {
    /// Bind to the first address that works and listen, with
    /// `SO_REUSEADDR` set (as std does on Unix) and the system's default
    /// backlog.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` when the host's policy grants no `tcp-bind` for
    /// the address (the host's log says which rule would), `AddrInUse`,
    /// `AddrNotAvailable` (not an address of this machine), and a name's
    /// lookup errors ([`lookup_host`](super::lookup_host)); the wasock code
    /// is in the error ([`crate::error_code`]).
    ///
    /// ```no_run
    /// let listener = wasock::net::TcpListener::bind("127.0.0.1:8080")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(&addr, |a| {
            let sock = io(Socket::open(family_of(&a), SocketType::Stream))?;
            io(sock.set_option(SocketOption::ReuseAddress(true)))?;
            io(sock.bind(from_std(a)))?;
            io(sock.listen(0))?;
            Ok(TcpListener {
                sock: Arc::new(sock),
            })
        })
    }

    /// Wrap a raw socket that is already listening.
    pub fn from_socket(sock: Socket) -> TcpListener {
        TcpListener {
            sock: Arc::new(sock),
        }
    }

    /// Take the next connection (`accept`).
    ///
    /// ```no_run
    /// let listener = wasock::net::TcpListener::bind("127.0.0.1:0")?;
    /// let (stream, peer) = listener.accept()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (sock, peer) = io(self.sock.accept())?;
        Ok((
            TcpStream {
                sock: Arc::new(sock),
            },
            to_std(peer),
        ))
    }

    /// An endless iterator of accepted connections.
    ///
    /// ```no_run
    /// let listener = wasock::net::TcpListener::bind("127.0.0.1:0")?;
    /// for stream in listener.incoming().take(3) {
    ///     let stream = stream?;
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_socket(f, "TcpListener", &self.sock, false)
    }
}

/// The iterator of [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A TCP connection, as `std::net::TcpStream`. As with std's, two parts
/// of a program can share one through [`try_clone`](TcpStream::try_clone)
/// (a `BufReader` over a clone, writes through the original) or by
/// reference: `&TcpStream` implements `Read` and `Write`. The async
/// runtime's streams split into halves instead.
///
/// ```no_run
/// use std::io::{Read, Write};
/// use wasock::net::TcpStream;
/// let mut s = TcpStream::connect("127.0.0.1:7000")?;
/// s.write_all(b"hello")?;
/// let mut buf = [0; 5];
/// s.read_exact(&mut buf)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    sock: Arc<Socket>,
}

common_socket_methods!(
    TcpStream,
    "wasock::net::TcpStream::connect(\"127.0.0.1:7000\")?"
);
timeout_methods!(
    TcpStream,
    "wasock::net::TcpStream::connect(\"127.0.0.1:7000\")?"
);

impl TcpStream {
    /// Connect to the first address that accepts.
    ///
    /// # Errors
    ///
    /// The last address's error: `PermissionDenied` when the host's policy
    /// grants no `tcp-connect` for it, `ConnectionRefused`, `TimedOut`,
    /// `HostUnreachable`/`NetworkUnreachable`, and a name's lookup errors
    /// ([`lookup_host`](super::lookup_host)); the wasock code is in the
    /// error ([`crate::error_code`]).
    ///
    /// ```no_run
    /// let s = wasock::net::TcpStream::connect(("localhost", 7000))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |a| {
            let sock = io(Socket::open(family_of(&a), SocketType::Stream))?;
            io(sock.connect(from_std(a)))?;
            Ok(TcpStream {
                sock: Arc::new(sock),
            })
        })
    }

    /// Connect, giving up after `timeout`.
    ///
    /// ```no_run
    /// let s = wasock::net::TcpStream::connect_timeout(&"127.0.0.1:7000".parse().unwrap(), std::time::Duration::from_secs(3))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let sock = io(Socket::open(family_of(addr), SocketType::Stream))?;
        let stream = TcpStream {
            sock: Arc::new(sock),
        };
        stream.set_write_timeout(Some(timeout))?;
        io(stream.sock.connect(from_std(*addr)))?;
        stream.set_write_timeout(None)?;
        Ok(stream)
    }

    /// Wrap a raw connected stream socket.
    pub fn from_socket(sock: Socket) -> TcpStream {
        TcpStream {
            sock: Arc::new(sock),
        }
    }

    /// The peer's address (`getpeername`).
    ///
    /// ```no_run
    /// let s = wasock::net::TcpStream::connect("127.0.0.1:7000")?;
    /// println!("{}", s.peer_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(to_std(io(self.sock.remote_address())?))
    }

    /// Shut down reading, writing or both.
    ///
    /// ```no_run
    /// let s = wasock::net::TcpStream::connect("127.0.0.1:7000")?;
    /// s.shutdown(std::net::Shutdown::Write)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => ShutdownHow::Receive,
            Shutdown::Write => ShutdownHow::Send,
            Shutdown::Both => ShutdownHow::Both,
        };
        io(self.sock.shutdown(how))
    }

    /// Read without consuming (`MSG_PEEK`).
    ///
    /// ```no_run
    /// let s = wasock::net::TcpStream::connect("127.0.0.1:7000")?;
    /// let mut buf = [0; 16];
    /// let n = s.peek(&mut buf)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf, RecvFlags::PEEK)
    }

    /// Set `TCP_NODELAY`.
    ///
    /// ```no_run
    /// let s = wasock::net::TcpStream::connect("127.0.0.1:7000")?;
    /// s.set_nodelay(true)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        io(self.sock.set_option(SocketOption::NoDelay(nodelay)))
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```no_run
    /// let s = wasock::net::TcpStream::connect("127.0.0.1:7000")?;
    /// let on = s.nodelay()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        get_bool(&self.sock, OptionName::NoDelay)
    }

    fn recv(&self, buf: &mut [u8], flags: RecvFlags) -> io::Result<usize> {
        match recv_into(&self.sock, buf, flags) {
            // After `shutdown(Read)`, the end of the stream, as std's read
            // gives it on Linux and macOS (the host says `shut-down`, as
            // Winsock does).
            Err(ErrorCode::ShutDown) => Ok(0),
            r => io(r),
        }
    }

    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let n = io(self.sock.send(buf, SendFlags::empty()))?;
        Ok(taken(n, buf.len()))
    }

    /// One send of `bufs` gathered, as `writev` makes one system call: a
    /// reply whose head and body are separate buffers leaves in one
    /// segment, where a second small one would wait under Nagle's
    /// algorithm for the peer's delayed acknowledgement. Up to
    /// [`MAX_GATHER`] bytes are gathered (a partial write beyond).
    fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut full = bufs.iter().filter(|b| !b.is_empty());
        match (full.next(), full.next()) {
            (None, _) => return self.send(&[]),
            // Alone, or enough for a send by itself: as it is, uncopied.
            (Some(first), next) if next.is_none() || first.len() >= MAX_GATHER => {
                return self.send(first);
            }
            _ => {}
        }
        let total = bufs
            .iter()
            .fold(0usize, |n, b| n.saturating_add(b.len()))
            .min(MAX_GATHER);
        let mut gathered = Vec::with_capacity(total);
        for b in bufs {
            let room = total - gathered.len();
            gathered.extend_from_slice(&b[..b.len().min(room)]);
        }
        self.send(&gathered)
    }
}

/// The most a vectored write gathers into one send: 64 KiB, the send that
/// a loopback segment holds.
const MAX_GATHER: usize = 64 * 1024;

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_socket(f, "TcpStream", &self.sock, true)
    }
}

/// `read_exact` asks the host for everything at once (`MSG_WAITALL`): one
/// call, and one wake-up when it has all arrived, instead of one per
/// segment.
impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf, RecvFlags::empty())
    }
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        (&*self).read_exact(buf)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf, RecvFlags::empty())
    }
    fn read_exact(&mut self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            // A non-blocking socket ignores wait-all and returns what is
            // there, or `would-block`, as std's read_exact would see.
            match self.recv(buf, RecvFlags::WAIT_ALL) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "failed to fill whole buffer",
                    ));
                }
                Ok(n) => buf = &mut buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// `write_vectored` sends the buffers together, in one call, as std's
/// does with `writev`.
impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
