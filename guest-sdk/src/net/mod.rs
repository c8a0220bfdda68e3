//! TCP and UDP in `std::net`'s shape, over wasock sockets.
//!
//! Differences from `std::net`, each deliberate:
//!
//! - names are resolved with wasock's name lookup, so the host's `resolve`
//!   grants apply;
//! - `try_clone` shares the socket in the guest rather than asking the
//!   host for a second handle: the clones act as `dup`'d descriptors do,
//!   but `into_socket` gives the raw socket only to the last of them, and
//!   an async socket's `from_std` ([`crate::rt::net`]) refuses one a clone
//!   shares;
//! - a read or write that runs out its timeout fails with
//!   [`TimedOut`](std::io::ErrorKind::TimedOut), as std's does on Windows
//!   (on Linux std's gives `WouldBlock`, which here means only a
//!   non-blocking socket with nothing to do);
//! - `UdpSocket::send_to` on a connected socket fails (POSIX's `EISCONN`)
//!   where Linux would send to the address given;
//! - the std-shaped IPv4 multicast calls take only the unspecified
//!   interface address: wasock names interfaces by index
//!   ([`UdpSocket::join_multicast`]);
//! - the underlying [`Socket`](crate::Socket) is reachable through
//!   [`AsSocket`] for options and [`poll`](crate::poll).
//!
//! - errors carry wasock's code, not an OS error number:
//!   `raw_os_error()` is `None`, and the message names the code
//!   (`connection refused (connection-refused)`; [`error_code`](crate::error_code)
//!   gives it);
//! - a write after the peer reset the connection, and its pending error,
//!   are `ConnectionReset` (Linux says `EPIPE`, `BrokenPipe`, unless this
//!   side shut its sending down);
//! - a read into an empty buffer returns `Ok(0)` at once (std's waits for
//!   data or the timeout);
//! - `UdpSocket::send` on an unconnected socket is `NotConnected`
//!   (`destination-address-required`; std's is uncategorised);
//! - a name that looks numeric but is not an address (`127.1`) is refused
//!   rather than read the way `inet_aton` does ([`lookup_host`]).
//!
//! Reading after `shutdown(Read)` gives `Ok(0)`, the end of the stream, as
//! std's read does on Linux and macOS. `std::net`'s address types are
//! re-exported here, so that `use wasock::net::*;` stands in for `use
//! std::net::*;`:
//!
//! ```
//! use wasock::net::{Shutdown, SocketAddr, TcpListener};
//!
//! fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
//!     TcpListener::bind(addr)
//! }
//! let _ = (listen, Shutdown::Both);
//! ```

mod addr;
mod options;
mod recv;
mod tcp;
mod udp;

pub(crate) use addr::no_addresses;
pub use addr::{ToSocketAddrs, lookup_host, lookup_host_family};
pub use options::{AsSocket, get_option, set_option};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::{RecvMeta, UdpSocket};

pub use crate::bindings::wasock::sockets::types::AddressFamily;
pub use std::net::{
    AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6,
};
