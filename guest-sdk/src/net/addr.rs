//! Turning what a caller gives into socket addresses, resolving names with
//! wasock's name lookup.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::vec;

use crate::addr::ip_to_std;
use crate::bindings::wasock::sockets::name_lookup::resolve_addresses;
use crate::bindings::wasock::sockets::types::AddressFamily;
use crate::error::io;

/// Resolve a host name (or an IP literal) to its addresses, through the
/// host's resolver and policy (a `resolve` grant is needed for names).
///
/// # Errors
///
/// `PermissionDenied` (no `resolve` grant for the name), `InvalidInput` (an
/// empty or malformed name, or a numeric IPv4 spelling other than four
/// numbers with dots), `NotFound` (no such name, or none of the family
/// asked for), and `Other` for the resolver's failures (the wasock code,
/// `temporary-resolver-failure` or `permanent-resolver-failure`, is in the
/// error: [`crate::error_code`]).
///
/// ```no_run
/// let addrs = wasock::net::lookup_host("localhost")?;
/// assert!(!addrs.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn lookup_host(host: &str) -> io::Result<Vec<IpAddr>> {
    let ips = io(resolve_addresses(host, None))?;
    Ok(ips.into_iter().map(ip_to_std).collect())
}

/// Like [`lookup_host`], with the answer restricted to one family.
///
/// ```no_run
/// let v6 = wasock::net::lookup_host_family("localhost", wasock::net::AddressFamily::Ipv6)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn lookup_host_family(host: &str, family: AddressFamily) -> io::Result<Vec<IpAddr>> {
    let ips = io(resolve_addresses(host, Some(family)))?;
    Ok(ips.into_iter().map(ip_to_std).collect())
}

/// Values that can be turned into socket addresses, as
/// `std::net::ToSocketAddrs`, with names resolved by wasock.
///
/// ```no_run
/// use wasock::net::ToSocketAddrs;
/// let addrs: Vec<_> = ("localhost", 80).to_socket_addrs()?.collect();
/// let literal: Vec<_> = "[::1]:80".to_socket_addrs()?.collect();
/// assert_eq!(literal, vec!["[::1]:80".parse().unwrap()]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait ToSocketAddrs {
    /// The addresses produced.
    type Iter: Iterator<Item = SocketAddr>;

    /// Convert, resolving a name if there is one.
    fn to_socket_addrs(&self) -> io::Result<Self::Iter>;
}

impl ToSocketAddrs for SocketAddr {
    type Iter = std::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(Some(*self).into_iter())
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    type Iter = std::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::V4(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    type Iter = std::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::V6(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    type Iter = std::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::new(self.0, self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    type Iter = std::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::new(IpAddr::V4(self.0), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    type Iter = std::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::new(IpAddr::V6(self.0), self.1).to_socket_addrs()
    }
}

fn resolve(host: &str, port: u16) -> io::Result<vec::IntoIter<SocketAddr>> {
    let addrs: Vec<SocketAddr> = lookup_host(host)?
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect();
    Ok(addrs.into_iter())
}

impl ToSocketAddrs for (&str, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        if let Ok(ip) = self.0.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, self.1)].into_iter());
        }
        resolve(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (self.0.as_str(), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for str {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(vec![addr].into_iter());
        }
        let (host, port) = self.rsplit_once(':').ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{self}` has no port: expected HOST:PORT"),
            )
        })?;
        let port: u16 = port.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{port}` is not a port number"),
            )
        })?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        (host, port).to_socket_addrs()
    }
}

impl ToSocketAddrs for String {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        self.as_str().to_socket_addrs()
    }
}

impl<'a> ToSocketAddrs for &'a [SocketAddr] {
    type Iter = std::iter::Copied<std::slice::Iter<'a, SocketAddr>>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(self.iter().copied())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    type Iter = T::Iter;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (**self).to_socket_addrs()
    }
}

/// Try `f` on each address in turn; the first success wins, otherwise the
/// last error (as std does).
pub(crate) fn each_addr<A: ToSocketAddrs + ?Sized, T>(
    addr: &A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(no_addresses))
}

/// The error for a name or list that gave no address to try (as std's).
pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any addresses",
    )
}
