//! Addresses as both WASI versions take them: the checks their
//! documentation asks for before an address reaches the socket layer, and
//! the conversions between WASI's address types (the same shapes in 0.2
//! and 0.3, generated twice) and `std::net`.

use std::net::{IpAddr, SocketAddr};

use crate::net::{ErrorCode, Family};

/// Whether `ip` names one host: not multicast, not the IPv4 broadcast.
fn is_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_multicast() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_multicast(),
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), which WASI refuses:
/// its sockets are IPv6-only.
fn is_v4_mapped(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

/// The checks every address a WASI socket is given passes first: its
/// family is the socket's, and it is not IPv4-mapped (`invalid-argument`).
fn check(family: Family, addr: SocketAddr) -> Result<(), ErrorCode> {
    if Family::of(&addr) != family || is_v4_mapped(addr.ip()) {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(())
}

/// A local address for a bind: of the socket's family, unicast, not
/// IPv4-mapped; otherwise `invalid-argument`.
pub(crate) fn local(family: Family, addr: SocketAddr) -> Result<SocketAddr, ErrorCode> {
    check(family, addr)?;
    if !is_unicast(addr.ip()) {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(addr)
}

/// A remote address for a connect or a send: of the socket's family, not
/// IPv4-mapped, a unicast host, not the unspecified address, not port 0;
/// otherwise `invalid-argument`.
pub(crate) fn remote(family: Family, addr: SocketAddr) -> Result<SocketAddr, ErrorCode> {
    check(family, addr)?;
    if !is_unicast(addr.ip()) || addr.ip().is_unspecified() || addr.port() == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(addr)
}

/// A local address for a datagram bind: of the socket's family, not
/// IPv4-mapped (a multicast group may be bound, to receive what is sent to
/// it: the policy decides); otherwise `invalid-argument`.
pub(crate) fn local_datagram(family: Family, addr: SocketAddr) -> Result<SocketAddr, ErrorCode> {
    check(family, addr)?;
    Ok(addr)
}

/// A destination for a datagram: of the socket's family, not IPv4-mapped,
/// not the unspecified address, not port 0 (a multicast group or the
/// broadcast address may be sent to, as the policy allows); otherwise
/// `invalid-argument`.
pub(crate) fn remote_datagram(family: Family, addr: SocketAddr) -> Result<SocketAddr, ErrorCode> {
    check(family, addr)?;
    if addr.ip().is_unspecified() || addr.port() == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(addr)
}

/// Define `family_to_net`, `family_from_net`, `ip_from_std`,
/// `addr_to_std` and `addr_from_std` for the WASI address types in scope
/// where it is invoked (`IpAddressFamily`, `IpAddress`, `IpSocketAddress`,
/// `Ipv4SocketAddress`, `Ipv6SocketAddress`).
macro_rules! address_conversions {
    () => {
        pub(crate) fn family_to_net(f: IpAddressFamily) -> $crate::net::Family {
            match f {
                IpAddressFamily::Ipv4 => $crate::net::Family::Ipv4,
                IpAddressFamily::Ipv6 => $crate::net::Family::Ipv6,
            }
        }

        pub(crate) fn family_from_net(f: $crate::net::Family) -> IpAddressFamily {
            match f {
                $crate::net::Family::Ipv4 => IpAddressFamily::Ipv4,
                $crate::net::Family::Ipv6 => IpAddressFamily::Ipv6,
            }
        }

        pub(crate) fn ip_from_std(ip: std::net::IpAddr) -> IpAddress {
            match ip {
                std::net::IpAddr::V4(v4) => {
                    let [a, b, c, d] = v4.octets();
                    IpAddress::Ipv4((a, b, c, d))
                }
                std::net::IpAddr::V6(v6) => {
                    let [a, b, c, d, e, f, g, h] = v6.segments();
                    IpAddress::Ipv6((a, b, c, d, e, f, g, h))
                }
            }
        }

        pub(crate) fn addr_to_std(addr: IpSocketAddress) -> std::net::SocketAddr {
            use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
            match addr {
                IpSocketAddress::Ipv4(a) => {
                    let (w, x, y, z) = a.address;
                    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(w, x, y, z), a.port))
                }
                IpSocketAddress::Ipv6(a) => {
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

        pub(crate) fn addr_from_std(addr: std::net::SocketAddr) -> IpSocketAddress {
            match addr {
                std::net::SocketAddr::V4(a) => {
                    let [w, x, y, z] = a.ip().octets();
                    IpSocketAddress::Ipv4(Ipv4SocketAddress {
                        port: a.port(),
                        address: (w, x, y, z),
                    })
                }
                std::net::SocketAddr::V6(a) => {
                    let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
                    IpSocketAddress::Ipv6(Ipv6SocketAddress {
                        port: a.port(),
                        flow_info: a.flowinfo(),
                        address: (s0, s1, s2, s3, s4, s5, s6, s7),
                        scope_id: a.scope_id(),
                    })
                }
            }
        }
    };
}

pub(crate) use address_conversions;
