//! Addresses: which ones exist in memnet, how a socket of each family
//! spells them, and which bindings cover which destinations.
//!
//! Inside the network every address is kept *canonical*: an IPv4-mapped
//! IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address it carries, and an
//! IPv6 endpoint has no flow label or scope. A socket sees addresses
//! *presented* in its own family: an IPv6 socket sees IPv4 peers as mapped
//! addresses, which is how dual-stack sockets reach IPv4 ones.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::ops::RangeInclusive;

use wasock::provider::{AddressFamily, ErrorCode, SocketAddress};

/// The ports a socket gets when it asks for port 0 (IANA's dynamic range).
pub const EPHEMERAL: RangeInclusive<u16> = 49152..=65535;

/// The largest datagram payload over IPv4 (65535 minus the IPv4 and UDP
/// headers).
pub const MAX_DATAGRAM_V4: usize = 65507;

/// The largest datagram payload over IPv6 (65535 minus the UDP header; the
/// IPv6 header is not counted in its payload length).
pub const MAX_DATAGRAM_V6: usize = 65527;

/// The IP address of an IPv4-mapped IPv6 address, or the address itself.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        IpAddr::V4(_) => ip,
    }
}

/// An endpoint as the network keeps it: canonical address, no flow label,
/// no scope.
pub fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(canonical_ip(addr.ip()), addr.port())
}

/// A canonical endpoint as a socket of `family` sees it.
pub fn present(family: AddressFamily, ep: SocketAddr) -> SocketAddr {
    match (family, ep) {
        (AddressFamily::Ipv6, SocketAddr::V4(a)) => {
            SocketAddr::V6(SocketAddrV6::new(a.ip().to_ipv6_mapped(), a.port(), 0, 0))
        }
        _ => ep,
    }
}

/// An address an application passed, checked against its socket's family.
#[derive(Debug, Clone, Copy)]
pub struct Given {
    /// The canonical endpoint.
    pub ep: SocketAddr,
    /// Whether an IPv6 socket named an IPv4 endpoint by its mapped address.
    pub mapped: bool,
}

/// Check that `addr` is of the socket's `family` (`address-family-not-
/// supported` if not) and make it canonical.
pub fn given(family: AddressFamily, addr: SocketAddress) -> Result<Given, ErrorCode> {
    let std = wasock::addr::to_std(addr);
    match (family, std) {
        (AddressFamily::Ipv4, SocketAddr::V4(_)) => Ok(Given {
            ep: std,
            mapped: false,
        }),
        (AddressFamily::Ipv6, SocketAddr::V6(a)) => Ok(Given {
            ep: canonical(std),
            mapped: a.ip().to_ipv4_mapped().is_some(),
        }),
        _ => Err(ErrorCode::AddressFamilyNotSupported),
    }
}

/// Whether `ip` (canonical) is one of this network's own unicast addresses:
/// all of 127.0.0.0/8 and `::1`.
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// Whether `ip` (canonical) is a multicast group address.
pub fn is_multicast(ip: IpAddr) -> bool {
    ip.is_multicast()
}

/// Whether `ip` (canonical) is a broadcast address of this network: the
/// limited broadcast `255.255.255.255` and the loopback net's
/// `127.255.255.255`, as Linux's `lo` has it.
pub fn is_broadcast(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4 == Ipv4Addr::BROADCAST || v4 == Ipv4Addr::new(127, 255, 255, 255))
}

/// The loopback address of `ip`'s family: where a packet to `ip` comes
/// from when its socket is bound to the unspecified address.
pub fn loopback_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

/// What a socket is bound to: an address (canonical; possibly unspecified)
/// and a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The canonical local address; unspecified for "every address of the
    /// family".
    pub ip: IpAddr,
    /// The port.
    pub port: u16,
    /// For the IPv6 unspecified address: the socket also takes IPv4
    /// traffic (it is not `ipv6-only`).
    pub dual: bool,
}

impl Binding {
    /// Whether this is a wildcard (unspecified address) binding.
    pub fn wildcard(&self) -> bool {
        self.ip.is_unspecified()
    }

    /// Which families a wildcard binding takes: (IPv4, IPv6).
    fn families(&self) -> (bool, bool) {
        match self.ip {
            IpAddr::V4(_) => (true, false),
            IpAddr::V6(_) => (self.dual, true),
        }
    }

    /// Whether traffic to `ip` (canonical) on this binding's port reaches
    /// it.
    pub fn covers(&self, ip: IpAddr) -> bool {
        if self.wildcard() {
            let (v4, v6) = self.families();
            if ip.is_ipv4() { v4 } else { v6 }
        } else {
            self.ip == ip
        }
    }

    /// Whether two bindings (of the same port) claim a common address.
    pub fn overlaps(&self, other: &Binding) -> bool {
        match (self.wildcard(), other.wildcard()) {
            (false, false) => self.ip == other.ip,
            (true, false) => self.covers(other.ip),
            (false, true) => other.covers(self.ip),
            (true, true) => {
                let (a4, a6) = self.families();
                let (b4, b6) = other.families();
                (a4 && b4) || (a6 && b6)
            }
        }
    }

    /// The source address of traffic from this binding to `dest`
    /// (canonical), or `network-unreachable` when the bound address cannot
    /// reach it (a socket bound to IPv4 sending to IPv6, say).
    pub fn source_for(&self, dest: IpAddr) -> Result<IpAddr, ErrorCode> {
        let same_family = self.ip.is_ipv4() == dest.is_ipv4();
        if self.wildcard() {
            if self.covers(loopback_of(dest)) {
                Ok(loopback_of(dest))
            } else {
                Err(ErrorCode::NetworkUnreachable)
            }
        } else if !same_family {
            Err(ErrorCode::NetworkUnreachable)
        } else if is_multicast(self.ip) || is_broadcast(self.ip) {
            // Bound to a group to receive it: sends come from loopback.
            Ok(loopback_of(dest))
        } else {
            Ok(self.ip)
        }
    }

    /// The binding as a canonical endpoint.
    pub fn endpoint(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ip: &str, dual: bool) -> Binding {
        Binding {
            ip: ip.parse().unwrap(),
            port: 1,
            dual,
        }
    }

    #[test]
    fn coverage() {
        let v6dual = b("::", true);
        assert!(v6dual.covers("127.0.0.1".parse().unwrap()));
        assert!(!b("::", false).covers("127.0.0.1".parse().unwrap()));
        assert!(b("0.0.0.0", false).overlaps(&v6dual));
        assert!(!b("0.0.0.0", false).overlaps(&b("::", false)));
        assert!(!b("127.0.0.1", false).overlaps(&b("127.0.0.2", false)));
    }
}
