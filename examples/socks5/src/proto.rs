//! The SOCKS5 wire format (RFC 1928) this proxy speaks: no I/O, so it can
//! be tested natively.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use wasock::ErrorCode;

/// The protocol version, first byte of every message.
pub const VERSION: u8 = 5;
/// The method "no authentication required".
pub const NO_AUTH: u8 = 0x00;
/// The method reply "no acceptable methods".
pub const NO_ACCEPTABLE: u8 = 0xFF;
/// The command CONNECT, the only one served.
pub const CONNECT: u8 = 1;
/// Address type: IPv4, four bytes.
pub const ATYP_V4: u8 = 1;
/// Address type: a domain name, a length byte and that many bytes.
pub const ATYP_NAME: u8 = 3;
/// Address type: IPv6, sixteen bytes.
pub const ATYP_V6: u8 = 4;

/// The reply codes of RFC 1928, section 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reply {
    /// Succeeded.
    Succeeded = 0,
    /// General SOCKS server failure.
    GeneralFailure = 1,
    /// Connection not allowed by ruleset: the host's policy refused it.
    NotAllowed = 2,
    /// Network unreachable.
    NetworkUnreachable = 3,
    /// Host unreachable (also: the name was not found).
    HostUnreachable = 4,
    /// Connection refused.
    ConnectionRefused = 5,
    /// TTL expired: the connect timed out.
    TtlExpired = 6,
    /// Command not supported (BIND, UDP ASSOCIATE, anything but CONNECT).
    CommandNotSupported = 7,
    /// Address type not supported.
    AddressTypeNotSupported = 8,
}

impl Reply {
    /// What a failed connect's error code means to a SOCKS client.
    pub fn for_connect(code: Option<ErrorCode>) -> Reply {
        use ErrorCode as C;
        match code {
            Some(C::AccessDenied) => Reply::NotAllowed,
            Some(C::ConnectionRefused) => Reply::ConnectionRefused,
            Some(C::NetworkUnreachable | C::NetworkDown) => Reply::NetworkUnreachable,
            Some(C::HostUnreachable) => Reply::HostUnreachable,
            Some(C::TimedOut) => Reply::TtlExpired,
            Some(C::AddressFamilyNotSupported) => Reply::AddressTypeNotSupported,
            Some(C::NameNotFound | C::TemporaryResolverFailure | C::PermanentResolverFailure) => {
                Reply::HostUnreachable
            }
            _ => Reply::GeneralFailure,
        }
    }

    /// What a failed name lookup's error code means: refused by policy, or
    /// a host that cannot be reached (not found, resolver failure, a name
    /// the host will not look up).
    pub fn for_lookup(code: Option<ErrorCode>) -> Reply {
        match code {
            Some(ErrorCode::AccessDenied) => Reply::NotAllowed,
            _ => Reply::HostUnreachable,
        }
    }

    /// RFC 1928's words for it.
    pub fn describe(self) -> &'static str {
        match self {
            Reply::Succeeded => "succeeded",
            Reply::GeneralFailure => "general SOCKS server failure",
            Reply::NotAllowed => "connection not allowed by ruleset",
            Reply::NetworkUnreachable => "network unreachable",
            Reply::HostUnreachable => "host unreachable",
            Reply::ConnectionRefused => "connection refused",
            Reply::TtlExpired => "TTL expired",
            Reply::CommandNotSupported => "command not supported",
            Reply::AddressTypeNotSupported => "address type not supported",
        }
    }

    /// The reply message: `VER REP RSV ATYP BND.ADDR BND.PORT`, with the
    /// bound address (`0.0.0.0:0` when there is none to tell).
    pub fn encode(self, bound: Option<SocketAddr>) -> Vec<u8> {
        let bound = bound.unwrap_or_else(|| SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0));
        let mut out = vec![VERSION, self as u8, 0];
        match bound.ip() {
            IpAddr::V4(ip) => {
                out.push(ATYP_V4);
                out.extend_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                out.push(ATYP_V6);
                out.extend_from_slice(&ip.octets());
            }
        }
        out.extend_from_slice(&bound.port().to_be_bytes());
        out
    }
}

/// Where a request asks to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// An IPv4 or IPv6 address and port.
    Addr(SocketAddr),
    /// A domain name (resolved by the proxy) and port.
    Name(String, u16),
}

impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dest::Addr(a) => write!(f, "{a}"),
            Dest::Name(n, p) => write!(f, "{n}:{p}"),
        }
    }
}

/// How many bytes follow a request's four-byte header for address type
/// `atyp`, given the first of them (a name's length byte); `None` for an
/// address type this proxy does not know.
pub fn addr_len(atyp: u8, first: u8) -> Option<usize> {
    match atyp {
        ATYP_V4 => Some(4 + 2),
        ATYP_V6 => Some(16 + 2),
        ATYP_NAME => Some(1 + usize::from(first) + 2),
        _ => None,
    }
}

/// Why a request's address cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadAddr {
    /// An address type other than 1, 3 and 4.
    UnknownType,
    /// A name that is empty or not UTF-8 text.
    BadName,
}

/// The destination in `rest`, the `addr_len` bytes after the header.
pub fn parse_dest(atyp: u8, rest: &[u8]) -> Result<Dest, BadAddr> {
    let port_at = rest.len().checked_sub(2).ok_or(BadAddr::UnknownType)?;
    let port = u16::from_be_bytes([rest[port_at], rest[port_at + 1]]);
    let addr = &rest[..port_at];
    match atyp {
        ATYP_V4 => {
            let octets: [u8; 4] = addr.try_into().map_err(|_| BadAddr::UnknownType)?;
            Ok(Dest::Addr(SocketAddr::new(
                Ipv4Addr::from(octets).into(),
                port,
            )))
        }
        ATYP_V6 => {
            let octets: [u8; 16] = addr.try_into().map_err(|_| BadAddr::UnknownType)?;
            Ok(Dest::Addr(SocketAddr::new(
                Ipv6Addr::from(octets).into(),
                port,
            )))
        }
        ATYP_NAME => {
            let name = addr.get(1..).ok_or(BadAddr::BadName)?;
            let name = std::str::from_utf8(name).map_err(|_| BadAddr::BadName)?;
            if name.is_empty() {
                return Err(BadAddr::BadName);
            }
            // An address literal sent as a name (`--socks5-hostname` with
            // `http://[::1]/`) needs no lookup.
            let literal = name
                .strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .unwrap_or(name);
            Ok(match literal.parse::<IpAddr>() {
                Ok(ip) => Dest::Addr(SocketAddr::new(ip, port)),
                Err(_) => Dest::Name(name.to_string(), port),
            })
        }
        _ => Err(BadAddr::UnknownType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_carry_the_bound_address() {
        let v4 = Reply::Succeeded.encode(Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(v4, [5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]);
        let v6 = Reply::Succeeded.encode(Some("[::1]:1".parse().unwrap()));
        assert_eq!(v6.len(), 4 + 16 + 2);
        assert_eq!(&v6[..4], [5, 0, 0, 4]);
        assert_eq!(v6[19], 1);
        assert_eq!(&v6[20..], [0, 1]);
        assert_eq!(
            Reply::CommandNotSupported.encode(None),
            [5, 7, 0, 1, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn each_address_type_parses() {
        assert_eq!(addr_len(ATYP_V4, 0), Some(6));
        assert_eq!(addr_len(ATYP_V6, 0), Some(18));
        assert_eq!(addr_len(ATYP_NAME, 8), Some(11));
        assert_eq!(addr_len(2, 0), None);
        assert_eq!(
            parse_dest(ATYP_V4, &[10, 0, 0, 1, 0, 80]),
            Ok(Dest::Addr("10.0.0.1:80".parse().unwrap()))
        );
        let mut v6 = Ipv6Addr::LOCALHOST.octets().to_vec();
        v6.extend_from_slice(&[1, 0]);
        assert_eq!(
            parse_dest(ATYP_V6, &v6),
            Ok(Dest::Addr("[::1]:256".parse().unwrap()))
        );
        let name = [&[8u8][..], b"app.test", &[0, 80]].concat();
        assert_eq!(
            parse_dest(ATYP_NAME, &name),
            Ok(Dest::Name("app.test".into(), 80))
        );
        let literal = [&[5u8][..], b"[::1]", &[0, 80]].concat();
        assert_eq!(
            parse_dest(ATYP_NAME, &literal),
            Ok(Dest::Addr("[::1]:80".parse().unwrap()))
        );
        assert_eq!(parse_dest(ATYP_NAME, &[0, 0, 80]), Err(BadAddr::BadName));
        assert_eq!(
            parse_dest(ATYP_NAME, &[2, 0xff, 0xfe, 0, 80]),
            Err(BadAddr::BadName)
        );
        assert_eq!(parse_dest(9, &[0, 80]), Err(BadAddr::UnknownType));
    }

    #[test]
    fn errors_map_to_rfc_replies() {
        use ErrorCode as C;
        assert_eq!(Reply::for_connect(Some(C::AccessDenied)), Reply::NotAllowed);
        assert_eq!(
            Reply::for_connect(Some(C::ConnectionRefused)),
            Reply::ConnectionRefused
        );
        assert_eq!(
            Reply::for_connect(Some(C::NetworkUnreachable)),
            Reply::NetworkUnreachable
        );
        assert_eq!(
            Reply::for_connect(Some(C::HostUnreachable)),
            Reply::HostUnreachable
        );
        assert_eq!(Reply::for_connect(Some(C::TimedOut)), Reply::TtlExpired);
        assert_eq!(Reply::for_connect(None), Reply::GeneralFailure);
        assert_eq!(Reply::for_lookup(Some(C::AccessDenied)), Reply::NotAllowed);
        assert_eq!(
            Reply::for_lookup(Some(C::NameNotFound)),
            Reply::HostUnreachable
        );
    }
}
