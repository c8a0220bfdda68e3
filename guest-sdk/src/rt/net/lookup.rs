//! Name lookup that lets other tasks run while the resolver works.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

use crate::addr::ip_to_std;
use crate::bindings::wasock::sockets::name_lookup::Lookup;
use crate::bindings::wasock::sockets::types::ErrorCode;
use crate::error::io as to_io;
use crate::rt::sleep;

/// Resolve `host` (`"name:port"`, `"[v6]:port"`, `("name", port)`, or
/// anything else that is [`ToSocketAddrs`], as tokio's `lookup_host`
/// takes) to socket addresses. IP literals need no lookup; a name is
/// resolved by the host (under its `resolve` grants) while other tasks run.
///
/// ```no_run
/// wasock::rt::block_on(async {
///     for addr in wasock::rt::net::lookup_host("localhost:80").await? {
///         println!("{addr}");
///     }
///     Ok::<(), std::io::Error>(())
/// });
/// ```
pub async fn lookup_host<A: ToSocketAddrs>(host: A) -> io::Result<Vec<SocketAddr>> {
    host.to_socket_addrs().await
}

/// `"host:port"`'s addresses.
async fn host_port(host: &str) -> io::Result<Vec<SocketAddr>> {
    if let Ok(addr) = host.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let (name, port) = split_host_port(host)?;
    with_port(resolve(name).await?, port)
}

fn with_port(ips: Vec<IpAddr>, port: u16) -> io::Result<Vec<SocketAddr>> {
    Ok(ips
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}

fn split_host_port(s: &str) -> io::Result<(&str, u16)> {
    let invalid = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{s}` is not HOST:PORT (e.g. example.com:443 or [::1]:80)"),
        )
    };
    let (host, port) = s.rsplit_once(':').ok_or_else(invalid)?;
    let port: u16 = port.parse().map_err(|_| invalid())?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Ok((host, port))
}

/// How long a lookup waits for a free place among the host's (16 under
/// way, 64 alive) before it fails as the host said.
const PLACE_PATIENCE: Duration = Duration::from_secs(10);

/// The addresses of `name`, asking the host without blocking the other
/// tasks: the lookup runs on the host while this task checks back, at
/// first often, then less (1 ms doubling to 50 ms). When the instance
/// already has as many lookups as the host allows, it waits its turn (up
/// to [`PLACE_PATIENCE`]) as tokio's lookups queue for a thread.
pub(crate) async fn resolve(name: &str) -> io::Result<Vec<IpAddr>> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let mut wait = Duration::from_millis(1);
    let mut waited = Duration::ZERO;
    let lookup = loop {
        match Lookup::start(name, None) {
            Err(ErrorCode::TemporaryResolverFailure) if waited < PLACE_PATIENCE => {
                sleep(wait).await;
                waited += wait;
                wait = (wait * 2).min(Duration::from_millis(50));
            }
            started => break to_io(started)?,
        }
    };
    let mut wait = Duration::from_millis(1);
    loop {
        if let Some(answer) = lookup.answer() {
            return Ok(to_io(answer)?.into_iter().map(ip_to_std).collect());
        }
        sleep(wait).await;
        wait = (wait * 2).min(Duration::from_millis(50));
    }
}

/// Something that names socket addresses, possibly by a host name: the
/// forms std's and tokio's `ToSocketAddrs` take (`SocketAddr`, its V4 and
/// V6 forms, `(IpAddr, u16)` and its V4 and V6 forms, `&str` and `String`
/// as `"host:port"`, `(&str, u16)`, `(String, u16)`, `&[SocketAddr]`).
pub trait ToSocketAddrs {
    /// The addresses, resolving a name without blocking other tasks.
    #[allow(async_fn_in_trait)]
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>>;
}

impl ToSocketAddrs for SocketAddr {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![*self])
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::new(self.0, self.1)])
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::V4(*self)])
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::V6(*self)])
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::from(*self)])
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::from(*self)])
    }
}

impl ToSocketAddrs for [SocketAddr] {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(self.to_vec())
    }
}

impl ToSocketAddrs for (&str, u16) {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        with_port(resolve(self.0).await?, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        with_port(resolve(&self.0).await?, self.1)
    }
}

impl ToSocketAddrs for str {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        host_port(self).await
    }
}

impl ToSocketAddrs for String {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        host_port(self).await
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    async fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        (**self).to_socket_addrs().await
    }
}

/// Try `f` on each address of `addr` in turn; the first success wins,
/// otherwise the last error.
pub(crate) async fn each_addr<A: ToSocketAddrs + ?Sized, T, F: Future<Output = io::Result<T>>>(
    addr: &A,
    mut f: impl FnMut(SocketAddr) -> F,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs().await? {
        match f(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(crate::net::no_addresses))
}
