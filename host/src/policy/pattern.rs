//! Host and port patterns: their syntax and what they match.
//!
//! ```text
//! target  = "*"                       any host, any port
//!         | host ":" ports
//! host    = "*" | ipv4 | ipv4 "/" len | "[" ipv6 [ "%" scope ] "]"
//!         | "[" ipv6 "]" "/" len | "[" ipv6 "/" len "]"
//!         | name | "*." name
//! ports   = "*" | port | port "-" port      (0 to 65535)
//! scope   = interface index | "*"
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::addr::{canonical_ip, normalize_name};

/// Which IPv6 scopes (interface indexes) an IPv6 address pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeMatch {
    /// No scope written: matches only scope 0 (global addresses, or a
    /// link-local address without an interface).
    Unscoped,
    /// `%N`: matches only interface index N.
    Index(u32),
    /// `%*`: matches any scope.
    Any,
}

/// The host part of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// `*`: any host. In a grant it does not cover the unspecified address
    /// (`0.0.0.0`, `::`), which only a rule naming it grants.
    Any,
    /// One address (IPv4-mapped and -compatible IPv6 addresses are stored
    /// as IPv4).
    Ip {
        /// The address, canonical.
        addr: IpAddr,
        /// The IPv6 scope it matches.
        scope: ScopeMatch,
    },
    /// A network in CIDR notation (stored with host bits cleared).
    Cidr {
        /// The network address, canonical.
        network: IpAddr,
        /// The prefix length.
        prefix: u8,
    },
    /// An exact host name (lower case, no trailing dot).
    Name(String),
    /// `*.suffix`: every name that ends in `.suffix`, at any depth; not the
    /// bare `suffix` itself.
    Suffix(String),
}

impl HostPattern {
    /// Whether the pattern matches `addr` (canonical) with the given IPv6
    /// scope, or one of `names` (normalised names the host resolved to
    /// `addr`). `grant` selects the narrow reading used for grants: the
    /// unspecified address matches only a pattern that names it exactly.
    pub fn matches_addr(&self, addr: IpAddr, scope_id: u32, names: &[String], grant: bool) -> bool {
        let unspecified = addr.is_unspecified();
        match self {
            HostPattern::Any => !(grant && unspecified),
            HostPattern::Ip { addr: a, scope } => {
                *a == addr
                    && match (addr, scope) {
                        (IpAddr::V4(_), _) => true,
                        (IpAddr::V6(_), ScopeMatch::Any) => true,
                        // A deny names an address on every interface.
                        (IpAddr::V6(_), ScopeMatch::Unscoped) => !grant || scope_id == 0,
                        (IpAddr::V6(_), ScopeMatch::Index(i)) => *i == scope_id,
                    }
            }
            HostPattern::Cidr { network, prefix } => {
                let full = match network {
                    IpAddr::V4(_) => 32,
                    IpAddr::V6(_) => 128,
                };
                if grant && unspecified && *prefix != full {
                    return false;
                }
                cidr_contains(*network, *prefix, addr)
            }
            HostPattern::Name(n) => names.iter().any(|name| name == n),
            HostPattern::Suffix(s) => names.iter().any(|name| name_has_suffix(name, s)),
        }
    }

    /// Whether the pattern matches the host name `name` (normalised), as
    /// for `resolve`.
    pub fn matches_name(&self, name: &str) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Name(n) => n == name,
            HostPattern::Suffix(s) => name_has_suffix(name, s),
            HostPattern::Ip { .. } | HostPattern::Cidr { .. } => false,
        }
    }

    /// Whether the pattern refers to hosts by name.
    pub fn is_name(&self) -> bool {
        matches!(self, HostPattern::Name(_) | HostPattern::Suffix(_))
    }
}

fn name_has_suffix(name: &str, suffix: &str) -> bool {
    name.len() > suffix.len() + 1
        && name.ends_with(suffix)
        && name.as_bytes()[name.len() - suffix.len() - 1] == b'.'
}

fn cidr_contains(network: IpAddr, prefix: u8, addr: IpAddr) -> bool {
    match (network, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = mask32(prefix);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = mask128(prefix);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

fn mask32(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

fn mask128(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Any => f.write_str("*"),
            HostPattern::Ip {
                addr: IpAddr::V4(a),
                ..
            } => write!(f, "{a}"),
            HostPattern::Ip {
                addr: IpAddr::V6(a),
                scope,
            } => match scope {
                ScopeMatch::Unscoped => write!(f, "[{a}]"),
                ScopeMatch::Index(i) => write!(f, "[{a}%{i}]"),
                ScopeMatch::Any => write!(f, "[{a}%*]"),
            },
            HostPattern::Cidr {
                network: IpAddr::V4(n),
                prefix,
            } => write!(f, "{n}/{prefix}"),
            HostPattern::Cidr {
                network: IpAddr::V6(n),
                prefix,
            } => write!(f, "[{n}]/{prefix}"),
            HostPattern::Name(n) => f.write_str(n),
            HostPattern::Suffix(s) => write!(f, "*.{s}"),
        }
    }
}

/// An inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// The lowest port matched.
    pub lo: u16,
    /// The highest port matched.
    pub hi: u16,
}

impl PortRange {
    /// Every port, 0 (ephemeral) included.
    pub const ANY: PortRange = PortRange { lo: 0, hi: 65535 };

    /// Whether `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == PortRange::ANY {
            f.write_str("*")
        } else if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

/// A syntax error inside a pattern: the byte offset where it was found and
/// what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError {
    pub offset: usize,
    pub message: String,
}

impl PatternError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        PatternError {
            offset,
            message: message.into(),
        }
    }
}

/// Parse an address target `host:ports` (or `*`).
pub(crate) fn parse_address_target(s: &str) -> Result<(HostPattern, PortRange), PatternError> {
    if s == "*" {
        return Ok((HostPattern::Any, PortRange::ANY));
    }
    let (host, rest, rest_offset) = if s.starts_with('[') {
        let close = s
            .find(']')
            .ok_or_else(|| PatternError::new(s.len(), "expected `]` closing the IPv6 address"))?;
        // `[net]/len` keeps the prefix outside the brackets.
        let mut end = close + 1;
        if s[end..].starts_with('/') {
            end += s[end..].find(':').unwrap_or(s.len() - end);
        }
        (&s[..end], &s[end..], end)
    } else {
        match s.rfind(':') {
            Some(i) if s[..i].contains(':') => {
                return Err(PatternError::new(
                    0,
                    "expected an IPv6 address in brackets, e.g. `[::1]:80`",
                ));
            }
            Some(i) => (&s[..i], &s[i..], i),
            None => (s, "", s.len()),
        }
    };
    let Some(ports) = rest.strip_prefix(':') else {
        return Err(PatternError::new(
            rest_offset,
            "expected `:` and a port, a range `a-b` or `*` (e.g. `127.0.0.1:8080`)",
        ));
    };
    let host = parse_host(host)?;
    let ports =
        parse_ports(ports).map_err(|e| PatternError::new(rest_offset + 1 + e.offset, e.message))?;
    Ok((host, ports))
}

/// Parse a host pattern (no port).
pub(crate) fn parse_host(s: &str) -> Result<HostPattern, PatternError> {
    if s.is_empty() {
        return Err(PatternError::new(
            0,
            "expected a host: an IP address, a CIDR, a name, `*.suffix` or `*`",
        ));
    }
    if s == "*" {
        return Ok(HostPattern::Any);
    }
    if let Some(suffix) = s.strip_prefix("*.") {
        let name = normalize_name(suffix).map_err(|e| PatternError::new(2, e.to_string()))?;
        return Ok(HostPattern::Suffix(name));
    }
    if let Some(inner) = s.strip_prefix('[') {
        return parse_bracketed_v6(inner, s);
    }
    if s.contains('*') {
        return Err(PatternError::new(
            s.find('*').unwrap_or(0),
            "`*` is allowed only alone or as a leading `*.` label",
        ));
    }
    if let Some((net, len)) = s.split_once('/') {
        let network: Ipv4Addr = net.parse().map_err(|_| {
            PatternError::new(0, "expected an IPv4 network before `/`, e.g. `10.0.0.0/8`")
        })?;
        let prefix = parse_prefix(len, 32).map_err(|m| PatternError::new(net.len() + 1, m))?;
        return cidr(IpAddr::V4(network), prefix).map_err(|m| PatternError::new(0, m));
    }
    if let Ok(v4) = s.parse::<Ipv4Addr>() {
        return Ok(HostPattern::Ip {
            addr: IpAddr::V4(v4),
            scope: ScopeMatch::Unscoped,
        });
    }
    normalize_name(s)
        .map(HostPattern::Name)
        .map_err(|e| PatternError::new(0, e.to_string()))
}

fn parse_bracketed_v6(inner: &str, whole: &str) -> Result<HostPattern, PatternError> {
    // Forms: `[addr]`, `[addr%scope]`, `[net/len]`, `[net]/len`.
    let close = inner
        .find(']')
        .ok_or_else(|| PatternError::new(whole.len(), "expected `]`"))?;
    let (body, after) = (&inner[..close], &inner[close + 1..]);
    let (body, outer_len) = match after {
        "" => (body, None),
        a => match a.strip_prefix('/') {
            Some(len) => (body, Some(len)),
            None => {
                return Err(PatternError::new(
                    close + 2,
                    "expected `:` after the bracketed address",
                ));
            }
        },
    };
    let (addr_text, inner_len) = match body.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (body, None),
    };
    let (addr_text, scope_text) = match addr_text.split_once('%') {
        Some((a, s)) => (a, Some(s)),
        None => (addr_text, None),
    };
    let v6: Ipv6Addr = addr_text
        .parse()
        .map_err(|_| PatternError::new(1, "expected an IPv6 address inside the brackets"))?;
    let len = match (inner_len, outer_len) {
        (Some(_), Some(_)) => {
            return Err(PatternError::new(
                close + 2,
                "the prefix length is given twice",
            ));
        }
        (l, None) | (None, l) => l,
    };
    if let Some(len) = len {
        if scope_text.is_some() {
            return Err(PatternError::new(1, "a network cannot have a scope"));
        }
        let prefix = parse_prefix(len, 128).map_err(|m| PatternError::new(1, m))?;
        return cidr(IpAddr::V6(v6), prefix).map_err(|m| PatternError::new(1, m));
    }
    let scope = match scope_text {
        None => ScopeMatch::Unscoped,
        Some("*") => ScopeMatch::Any,
        Some(s) => ScopeMatch::Index(s.parse().map_err(|_| {
            PatternError::new(
                1 + addr_text.len() + 1,
                "expected a numeric interface index or `*` after `%`",
            )
        })?),
    };
    Ok(HostPattern::Ip {
        addr: canonical_ip(IpAddr::V6(v6)),
        scope,
    })
}

fn parse_prefix(len: &str, max: u8) -> Result<u8, String> {
    match len.parse::<u8>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(format!("expected a prefix length from 0 to {max}")),
    }
}

/// A CIDR pattern, canonical: host bits cleared, and a network inside
/// `::ffff:0:0/96` stored as the IPv4 network it covers.
/// The network `network/prefix`, refused when `network` has bits set past
/// the prefix: `10.1.2.3/8` is more likely a typo for one address than a
/// wish to grant all of `10.0.0.0/8`, so the user is asked which.
fn cidr(network: IpAddr, prefix: u8) -> Result<HostPattern, String> {
    let (masked, written) = match network {
        IpAddr::V4(n) => {
            let m = IpAddr::V4(Ipv4Addr::from(u32::from(n) & mask32(prefix)));
            (m, format!("{n}/{prefix}"))
        }
        IpAddr::V6(n) => {
            let m = IpAddr::V6(Ipv6Addr::from(u128::from(n) & mask128(prefix)));
            (m, format!("[{n}]/{prefix}"))
        }
    };
    if masked != network {
        let (net, one) = match (masked, network) {
            (IpAddr::V4(m), IpAddr::V4(n)) => (format!("{m}/{prefix}"), n.to_string()),
            (m, n) => (format!("[{m}]/{prefix}"), format!("[{n}]")),
        };
        return Err(format!(
            "`{written}` has bits set past its /{prefix} prefix: write `{net}` for the network, or `{one}` for the one address"
        ));
    }
    Ok(match network {
        IpAddr::V4(_) => HostPattern::Cidr { network, prefix },
        IpAddr::V6(n) => {
            let v6 = n;
            if prefix >= 96
                && let Some(v4) = v6.to_ipv4_mapped()
            {
                return Ok(HostPattern::Cidr {
                    network: IpAddr::V4(v4),
                    prefix: prefix - 96,
                });
            }
            HostPattern::Cidr {
                network: IpAddr::V6(v6),
                prefix,
            }
        }
    })
}

/// Parse a port pattern: `*`, `N` or `A-B`.
pub(crate) fn parse_ports(s: &str) -> Result<PortRange, PatternError> {
    const EXPECTED: &str = "expected a port from 0 to 65535, a range `a-b` or `*`";
    if s == "*" {
        return Ok(PortRange::ANY);
    }
    let port = |t: &str, at: usize| -> Result<u16, PatternError> {
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
            return Err(PatternError::new(at, EXPECTED));
        }
        t.parse::<u16>().map_err(|_| {
            PatternError::new(
                at,
                format!("port `{t}` is out of range: expected 0 to 65535"),
            )
        })
    };
    match s.split_once('-') {
        Some((a, b)) => {
            let lo = port(a, 0)?;
            let hi = port(b, a.len() + 1)?;
            if lo > hi {
                return Err(PatternError::new(
                    0,
                    format!("the range `{s}` is empty: its first port must not exceed its last"),
                ));
            }
            Ok(PortRange { lo, hi })
        }
        None => port(s, 0).map(|p| PortRange { lo: p, hi: p }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(s: &str) -> (HostPattern, PortRange) {
        parse_address_target(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_every_host_form() {
        assert_eq!(target("*"), (HostPattern::Any, PortRange::ANY));
        assert_eq!(target("*:80").0, HostPattern::Any);
        assert_eq!(
            target("10.0.0.0/8:*").0,
            HostPattern::Cidr {
                network: ip("10.0.0.0"),
                prefix: 8
            }
        );
        assert_eq!(
            target("[2001:db8::/32]:1-2").0,
            HostPattern::Cidr {
                network: ip("2001:db8::"),
                prefix: 32
            }
        );
        assert_eq!(
            target("[2001:db8::]/32:1-2").0,
            target("[2001:db8::/32]:1-2").0
        );
        assert_eq!(
            target("[fe80::1%3]:80").0,
            HostPattern::Ip {
                addr: ip("fe80::1"),
                scope: ScopeMatch::Index(3)
            }
        );
        assert_eq!(
            target("[::ffff:127.0.0.1]:80").0,
            HostPattern::Ip {
                addr: ip("127.0.0.1"),
                scope: ScopeMatch::Unscoped
            }
        );
        assert_eq!(
            target("[::ffff:10.0.0.0]/104:80").0,
            HostPattern::Cidr {
                network: ip("10.0.0.0"),
                prefix: 8
            }
        );
        assert_eq!(
            target("API.example.com:443").0,
            HostPattern::Name("api.example.com".into())
        );
        assert_eq!(
            target("*.example.com:443").0,
            HostPattern::Suffix("example.com".into())
        );
    }

    #[test]
    fn parses_ports() {
        assert_eq!(target("1.2.3.4:0").1, PortRange { lo: 0, hi: 0 });
        assert_eq!(
            target("1.2.3.4:65535").1,
            PortRange {
                lo: 65535,
                hi: 65535
            }
        );
        assert_eq!(target("1.2.3.4:10-20").1, PortRange { lo: 10, hi: 20 });
        for bad in [
            "1.2.3.4:65536",
            "1.2.3.4:-1",
            "1.2.3.4:20-10",
            "1.2.3.4:",
            "1.2.3.4:x",
        ] {
            assert!(parse_address_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_malformed_hosts() {
        for bad in [
            "1.2.3.4",
            "::1:80",
            "[::1:80",
            "[::1]80",
            "[fe80::1%eth0]:80",
            "2130706433:80",
            "0x7f.1:80",
            "127.1:80",
            "a*b.com:80",
            "10.0.0.0/33:80",
            "[::/129]:80",
            ":80",
            "-bad.test:80",
            "bad-.test:80",
        ] {
            assert!(parse_address_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_network_with_host_bits_asks_which_was_meant() {
        let e = parse_address_target("10.1.2.3/8:80").unwrap_err();
        assert_eq!(
            e.message,
            "`10.1.2.3/8` has bits set past its /8 prefix: write `10.0.0.0/8` for the network, or `10.1.2.3` for the one address"
        );
        let e = parse_address_target("[2001:db8::1]/64:80").unwrap_err();
        assert!(
            e.message.ends_with(
                "write `[2001:db8::]/64` for the network, or `[2001:db8::1]` for the one address"
            ),
            "{}",
            e.message
        );
        assert!(parse_address_target("[::ffff:127.0.0.0]/104:80").is_ok());
    }

    #[test]
    fn suffix_needs_a_label_boundary() {
        let p = HostPattern::Suffix("example.com".into());
        assert!(p.matches_name("a.example.com"));
        assert!(p.matches_name("a.b.example.com"));
        assert!(!p.matches_name("example.com"));
        assert!(!p.matches_name("evilexample.com"));
        assert!(!p.matches_name("example.com.evil.net"));
    }
}
