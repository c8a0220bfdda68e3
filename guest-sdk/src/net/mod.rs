//! TCP and UDP in `std::net`'s shape, over wasock sockets.
//!
//! Differences from `std::net`, each deliberate: names are resolved with
//! wasock's name lookup (so the host's `resolve` grants apply); there is no
//! `try_clone` (a socket handle cannot be duplicated); and the underlying
//! [`Socket`](crate::Socket) is reachable through [`AsSocket`] for options
//! and [`poll`](crate::poll).

mod addr;
mod options;
mod recv;
mod tcp;
mod udp;

pub use addr::{ToSocketAddrs, lookup_host, lookup_host_family};
pub use options::{AsSocket, get_option, set_option};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::{RecvMeta, UdpSocket};

pub use crate::bindings::wasock::sockets::types::AddressFamily;
