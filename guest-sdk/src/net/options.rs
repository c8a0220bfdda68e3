//! Socket options for every socket type, and access to the raw socket.

use std::io;
use std::time::Duration;

use crate::bindings::wasock::sockets::socket::Socket;
use crate::bindings::wasock::sockets::types::{OptionName, SocketOption};
use crate::error::io;

/// Types that wrap a wasock [`Socket`]: [`TcpStream`](super::TcpStream),
/// [`TcpListener`](super::TcpListener), [`UdpSocket`](super::UdpSocket).
pub trait AsSocket {
    /// The raw socket, for options and [`poll`](crate::poll).
    fn as_socket(&self) -> &Socket;
}

impl AsSocket for Socket {
    fn as_socket(&self) -> &Socket {
        self
    }
}

/// `Name { addr: .., peer: .., handle: .. }`, as std's `Debug` shows a
/// socket; an address the socket does not have is left out.
pub(super) fn debug_socket(
    f: &mut std::fmt::Formatter<'_>,
    name: &str,
    sock: &Socket,
    with_peer: bool,
) -> std::fmt::Result {
    let mut d = f.debug_struct(name);
    if let Ok(a) = sock.local_address() {
        d.field("addr", &crate::addr::to_std(a));
    }
    if with_peer && let Ok(a) = sock.remote_address() {
        d.field("peer", &crate::addr::to_std(a));
    }
    d.field("handle", &sock.handle()).finish()
}

/// Set any option on any socket (`setsockopt`).
///
/// ```no_run
/// use wasock::SocketOption;
/// use wasock::net::{TcpStream, set_option};
/// let s = TcpStream::connect("127.0.0.1:8080")?;
/// set_option(&s, SocketOption::KeepAlive(true))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_option(socket: &impl AsSocket, value: SocketOption) -> io::Result<()> {
    io(socket.as_socket().set_option(value))
}

/// Read any option back (`getsockopt`).
///
/// ```no_run
/// use wasock::raw::wasock::sockets::types::OptionName;
/// let s = wasock::net::TcpStream::connect("127.0.0.1:7000")?;
/// let keepalive = wasock::net::get_option(&s, OptionName::KeepAlive)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn get_option(socket: &impl AsSocket, name: OptionName) -> io::Result<SocketOption> {
    io(socket.as_socket().get_option(name))
}

pub(crate) fn get_bool(s: &Socket, name: OptionName) -> io::Result<bool> {
    match io(s.get_option(name))? {
        SocketOption::ReuseAddress(b)
        | SocketOption::KeepAlive(b)
        | SocketOption::NoDelay(b)
        | SocketOption::Ipv6Only(b)
        | SocketOption::Broadcast(b)
        | SocketOption::MulticastLoop(b) => Ok(b),
        _ => Err(io::Error::other(
            "the host answered with a different option",
        )),
    }
}

pub(crate) fn get_u8(s: &Socket, name: OptionName) -> io::Result<u8> {
    match io(s.get_option(name))? {
        SocketOption::UnicastHopLimit(h) | SocketOption::MulticastHopLimit(h) => Ok(h),
        _ => Err(io::Error::other(
            "the host answered with a different option",
        )),
    }
}

pub(crate) fn to_nanos(d: Option<Duration>) -> io::Result<Option<u64>> {
    match d {
        Some(d) if d.is_zero() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        )),
        Some(d) => Ok(Some(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))),
        None => Ok(None),
    }
}

pub(crate) fn get_timeout(s: &Socket, name: OptionName) -> io::Result<Option<Duration>> {
    match io(s.get_option(name))? {
        SocketOption::ReceiveTimeout(t) | SocketOption::SendTimeout(t) => {
            Ok(t.map(Duration::from_nanos))
        }
        _ => Err(io::Error::other(
            "the host answered with a different option",
        )),
    }
}

pub(crate) fn ttl_u32(ttl: u32) -> io::Result<u8> {
    u8::try_from(ttl)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "TTL must be 1 to 255"))
}

/// Methods every socket type has, in std's shape.
macro_rules! common_socket_methods {
    ($ty:ty, $make:literal) => {
        impl $ty {
            /// The local address (`getsockname`).
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\nprintln!(\"{}\", s.local_addr()?);\n# Ok::<(), std::io::Error>(())\n```")]
            pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
                Ok($crate::addr::to_std($crate::error::io(
                    self.sock.local_address(),
                )?))
            }

            /// Switch non-blocking mode (`FIONBIO`): calls that would wait
            /// return `WouldBlock` instead.
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\ns.set_nonblocking(true)?;\n# Ok::<(), std::io::Error>(())\n```")]
            pub fn set_nonblocking(&self, nonblocking: bool) -> std::io::Result<()> {
                $crate::error::io(self.sock.set_nonblocking(nonblocking))
            }

            /// Take and clear the pending error (`SO_ERROR`).
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\nif let Some(e) = s.take_error()? { eprintln!(\"{e}\"); }\n# Ok::<(), std::io::Error>(())\n```")]
            pub fn take_error(&self) -> std::io::Result<Option<std::io::Error>> {
                Ok($crate::error::io(self.sock.take_error())?.map(std::io::Error::from))
            }

            /// Set the unicast hop limit (`IP_TTL` / `IPV6_UNICAST_HOPS`),
            /// 1 to 255.
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\ns.set_ttl(16)?;\n# Ok::<(), std::io::Error>(())\n```")]
            pub fn set_ttl(&self, ttl: u32) -> std::io::Result<()> {
                let ttl = $crate::net::options::ttl_u32(ttl)?;
                $crate::error::io(
                    self.sock
                        .set_option($crate::SocketOption::UnicastHopLimit(ttl)),
                )
            }

            /// The unicast hop limit.
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\nassert!(s.ttl()? >= 1);\n# Ok::<(), std::io::Error>(())\n```")]
            pub fn ttl(&self) -> std::io::Result<u32> {
                $crate::net::options::get_u8(
                    &self.sock,
                    $crate::raw::wasock::sockets::types::OptionName::UnicastHopLimit,
                )
                .map(u32::from)
            }

            /// Bytes a receive would return now (`FIONREAD`).
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\nlet queued = s.bytes_available()?;\n# Ok::<(), std::io::Error>(())\n```")]
            pub fn bytes_available(&self) -> std::io::Result<usize> {
                let n = $crate::error::io(self.sock.bytes_available())?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }

            /// A second handle to the same socket, as std's `try_clone`
            /// (`dup`): reads, writes, options, non-blocking mode and
            /// `shutdown` through either act on the one socket, which
            /// closes when the last handle is dropped. The usual use: a
            /// `BufReader` over one handle while the program writes
            /// through the other.
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\nlet other = s.try_clone()?;\nassert_eq!(other.local_addr()?, s.local_addr()?);\n# Ok::<(), std::io::Error>(())\n```")]
            ///
            /// # Errors
            ///
            /// None today: the handle is shared in the guest, with no call
            /// to the host. The `Result` is std's signature.
            pub fn try_clone(&self) -> std::io::Result<Self> {
                Ok(Self {
                    sock: std::sync::Arc::clone(&self.sock),
                })
            }

            /// Whether a handle made by [`try_clone`](Self::try_clone)
            /// shares the socket.
            pub(crate) fn is_shared(&self) -> bool {
                std::sync::Arc::strong_count(&self.sock) > 1
            }

            /// The raw socket, given up. While a handle made by
            /// [`try_clone`](Self::try_clone) is alive the socket is not
            /// this handle's alone to give, and `self` comes back as the
            /// error.
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\nlet raw: wasock::Socket = s.into_socket().expect(\"no clone is alive\");\n# Ok::<(), std::io::Error>(())\n```")]
            pub fn into_socket(self) -> Result<$crate::Socket, Self> {
                std::sync::Arc::try_unwrap(self.sock).map_err(|sock| Self { sock })
            }
        }

        impl $crate::net::AsSocket for $ty {
            fn as_socket(&self) -> &$crate::Socket {
                &self.sock
            }
        }
    };
}

pub(crate) use common_socket_methods;

/// Timeout setters and getters, in std's shape.
macro_rules! timeout_methods {
    ($ty:ty, $make:literal) => {
        impl $ty {
            /// Set the receive timeout (`SO_RCVTIMEO`); `None` blocks for
            /// ever. A zero duration is an error, as in std.
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\ns.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;\n# Ok::<(), std::io::Error>(())\n```")]
            pub fn set_read_timeout(&self, t: Option<std::time::Duration>) -> std::io::Result<()> {
                let t = $crate::net::options::to_nanos(t)?;
                $crate::error::io(
                    self.sock
                        .set_option($crate::SocketOption::ReceiveTimeout(t)),
                )
            }

            /// The receive timeout.
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\nlet t = s.read_timeout()?;\n# Ok::<(), std::io::Error>(())\n```")]
            pub fn read_timeout(&self) -> std::io::Result<Option<std::time::Duration>> {
                $crate::net::options::get_timeout(
                    &self.sock,
                    $crate::raw::wasock::sockets::types::OptionName::ReceiveTimeout,
                )
            }

            /// Set the send timeout (`SO_SNDTIMEO`).
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\ns.set_write_timeout(Some(std::time::Duration::from_secs(5)))?;\n# Ok::<(), std::io::Error>(())\n```")]
            pub fn set_write_timeout(&self, t: Option<std::time::Duration>) -> std::io::Result<()> {
                let t = $crate::net::options::to_nanos(t)?;
                $crate::error::io(self.sock.set_option($crate::SocketOption::SendTimeout(t)))
            }

            /// The send timeout.
            #[doc = concat!("\n```no_run\nlet s = ", $make, ";\nlet t = s.write_timeout()?;\n# Ok::<(), std::io::Error>(())\n```")]
            pub fn write_timeout(&self) -> std::io::Result<Option<std::time::Duration>> {
                $crate::net::options::get_timeout(
                    &self.sock,
                    $crate::raw::wasock::sockets::types::OptionName::SendTimeout,
                )
            }
        }
    };
}

pub(crate) use timeout_methods;
