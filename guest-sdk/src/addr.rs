//! Conversions between `std::net` addresses and the interface's, for code
//! that uses [`raw`](crate::raw) directly.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::bindings::wasock::sockets::types::{
    AddressFamily, IpAddress, Ipv4SocketAddress, Ipv6SocketAddress, SocketAddress,
};

/// A `std` socket address as the interface's.
pub fn from_std(addr: SocketAddr) -> SocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [w, x, y, z] = a.ip().octets();
            SocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (w, x, y, z),
            })
        }
        SocketAddr::V6(a) => {
            let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
            SocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: a.scope_id(),
            })
        }
    }
}

/// An interface socket address as `std`'s.
pub fn to_std(addr: SocketAddress) -> SocketAddr {
    match addr {
        SocketAddress::Ipv4(a) => {
            let (w, x, y, z) = a.address;
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(w, x, y, z), a.port))
        }
        SocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7),
                a.port,
                a.flow_info,
                a.scope_id,
            ))
        }
    }
}

/// An interface IP address as `std`'s.
pub fn ip_to_std(ip: IpAddress) -> IpAddr {
    match ip {
        IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
        }
    }
}

/// A `std` IP address as the interface's.
pub fn ip_from_std(ip: IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

pub(crate) fn family_of(addr: &SocketAddr) -> AddressFamily {
    match addr {
        SocketAddr::V4(_) => AddressFamily::Ipv4,
        SocketAddr::V6(_) => AddressFamily::Ipv6,
    }
}
