//! What both WASI 0.3 echo servers share: the address they are given, in
//! `wasi:sockets@0.3`'s terms and back.

use std::net::SocketAddr;

use wasip3::sockets::types::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};

/// The address from the first argument (default `127.0.0.1:0`), or a
/// message saying what is wrong with it.
pub fn address_argument() -> Result<SocketAddr, String> {
    let arg = wasip3::cli::environment::get_arguments()
        .into_iter()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    arg.parse()
        .map_err(|e| format!("{arg:?} is not an address like 127.0.0.1:7000 or [::1]:7000: {e}"))
}

/// The family of `addr`, as WASI names it.
pub fn family(addr: &SocketAddr) -> IpAddressFamily {
    match addr {
        SocketAddr::V4(_) => IpAddressFamily::Ipv4,
        SocketAddr::V6(_) => IpAddressFamily::Ipv6,
    }
}

/// `addr` as WASI's socket address.
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
                flow_info: a.flowinfo(),
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: a.scope_id(),
            })
        }
    }
}

/// WASI's socket address as `std`'s.
pub fn from_wasi(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (w, x, y, z) = a.address;
            SocketAddr::from(([w, x, y, z], a.port))
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::from(([s0, s1, s2, s3, s4, s5, s6, s7], a.port))
        }
    }
}

/// `code` in words, with its WIT name (the generated `Display` prints the
/// Rust variant, `ErrorCode::AccessDenied`, which a user cannot look up).
pub fn describe(code: &ErrorCode) -> String {
    let (words, name) = match code {
        ErrorCode::AccessDenied => (
            "access denied by the host's policy or the system",
            "access-denied",
        ),
        ErrorCode::NotSupported => ("not supported", "not-supported"),
        ErrorCode::InvalidArgument => ("invalid argument", "invalid-argument"),
        ErrorCode::OutOfMemory => ("out of memory", "out-of-memory"),
        ErrorCode::Timeout => ("timed out", "timeout"),
        ErrorCode::InvalidState => ("not possible in the socket's state", "invalid-state"),
        ErrorCode::AddressNotBindable => ("address not bindable", "address-not-bindable"),
        ErrorCode::AddressInUse => ("address in use", "address-in-use"),
        ErrorCode::RemoteUnreachable => ("remote unreachable", "remote-unreachable"),
        ErrorCode::ConnectionRefused => ("connection refused", "connection-refused"),
        ErrorCode::ConnectionBroken => ("connection broken", "connection-broken"),
        ErrorCode::ConnectionReset => ("connection reset", "connection-reset"),
        ErrorCode::ConnectionAborted => ("connection aborted", "connection-aborted"),
        ErrorCode::DatagramTooLarge => ("datagram too large", "datagram-too-large"),
        ErrorCode::Other(Some(what)) => return format!("{what} (other)"),
        ErrorCode::Other(None) => ("an error without a name", "other"),
    };
    format!("{words} ({name})")
}
