//! What the WASI 0.3 guests (`p3_*`, `fuzz_p3`) share: addresses between
//! `std::net` and `wasi:sockets@0.3`'s types, and error codes by their WIT
//! names (the bindings' codes have no `PartialEq`).

use std::fmt::Debug;
use std::net::{IpAddr, SocketAddr};

use wasip3::sockets::types::{
    IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};

/// The WIT name of an error code from its `Debug` form
/// (`ErrorCode::InvalidState` is `invalid-state`; `Other(..)` is `other`).
pub fn code(e: impl Debug) -> String {
    let debug = format!("{e:?}");
    let name = debug.rsplit("::").next().unwrap_or(&debug);
    let name = name.split('(').next().unwrap_or(name);
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The family of `v6`'s sockets.
pub fn family(v6: bool) -> IpAddressFamily {
    if v6 {
        IpAddressFamily::Ipv6
    } else {
        IpAddressFamily::Ipv4
    }
}

/// The family of `addr`.
pub fn family_of(addr: &SocketAddr) -> IpAddressFamily {
    family(addr.is_ipv6())
}

/// `addr` as WASI's socket address (flow information and scope 0).
pub fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [w, x, y, z] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (w, x, y, z),
            })
        }
        SocketAddr::V6(a) => {
            let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: 0,
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: 0,
            })
        }
    }
}

/// WASI's IP address as `std`'s.
pub fn std_ip(a: IpAddress) -> IpAddr {
    match a {
        IpAddress::Ipv4((w, x, y, z)) => IpAddr::from([w, x, y, z]),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => IpAddr::from([a, b, c, d, e, f, g, h]),
    }
}

/// WASI's socket address as `std`'s (without flow information or scope).
pub fn from_wasi(a: IpSocketAddress) -> SocketAddr {
    match a {
        IpSocketAddress::Ipv4(a) => SocketAddr::new(std_ip(IpAddress::Ipv4(a.address)), a.port),
        IpSocketAddress::Ipv6(a) => SocketAddr::new(std_ip(IpAddress::Ipv6(a.address)), a.port),
    }
}
