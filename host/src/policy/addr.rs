//! Address and name normalisation: the one place that decides what an
//! address or a name "really" is before any rule is matched.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `addr` is no destination for a connect or a send, whatever the
/// policy says: the unspecified address in any spelling (Linux would take
/// `0.0.0.0` and `::ffff:0.0.0.0` for this machine) or port 0. The host
/// fails such a call with `address-not-available` before the policy is
/// asked.
///
/// ```
/// use wasock_host::policy::no_destination;
///
/// assert!(no_destination("[::ffff:0.0.0.0]:80".parse().unwrap()).is_some());
/// assert!(no_destination("127.0.0.1:80".parse().unwrap()).is_none());
/// ```
pub fn no_destination(addr: std::net::SocketAddr) -> Option<&'static str> {
    if canonical_ip(addr.ip()).is_unspecified() {
        Some("the unspecified address")
    } else if addr.port() == 0 {
        Some("port 0")
    } else {
        None
    }
}

/// The address a rule is matched against: IPv4-mapped (`::ffff:a.b.c.d`) and
/// IPv4-compatible (`::a.b.c.d`, other than `::` and `::1`) IPv6 addresses
/// become the IPv4 address they carry, so that no IPv6 spelling of an IPv4
/// address escapes an IPv4 rule.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
    }
}

/// The IPv4 address inside an IPv4-mapped or IPv4-compatible IPv6 address.
fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let seg = v6.segments();
    let compatible = seg[..6].iter().all(|&s| s == 0);
    if compatible && v6 != Ipv6Addr::UNSPECIFIED && v6 != Ipv6Addr::LOCALHOST {
        let [a, b] = seg[6].to_be_bytes();
        let [c, d] = seg[7].to_be_bytes();
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    None
}

/// Whether `name` is a numeric spelling of an IPv4 address in any of the
/// forms `inet_aton()` and URL parsers accept: decimal (`2130706433`), hex
/// (`0x7f000001`), octal (`0177.0.0.1`), short forms (`127.1`) and mixtures,
/// or anything whose last label is such a number (the WHATWG "ends in a
/// number" rule). Such strings are never names: a resolver would turn them
/// into an address without any lookup.
pub fn is_numeric_ipv4_spelling(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    match name.rsplit('.').next() {
        Some(last) => is_numeric_label(last),
        None => false,
    }
}

fn is_numeric_label(label: &str) -> bool {
    if label.is_empty() {
        return false;
    }
    if let Some(hex) = label
        .strip_prefix("0x")
        .or_else(|| label.strip_prefix("0X"))
    {
        return hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    label.chars().all(|c| c.is_ascii_digit())
}

/// Why a string is not a valid host name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than 253 characters.
    TooLong,
    /// A label is empty, longer than 63 characters, or starts or ends with
    /// `-` (RFC 1123).
    BadLabel,
    /// A character other than letters, digits, `-`, `_` and `.`.
    BadCharacter(char),
    /// The name is a numeric IPv4 spelling (see [`is_numeric_ipv4_spelling`])
    /// other than an address in dotted-quad form.
    NumericAddress,
    /// The name is an IPv4 address in dotted-quad form (with a trailing
    /// dot, as a name may have): an address, where a name was expected.
    IpAddress,
    /// The name has non-ASCII characters that IDNA (UTS #46) cannot turn
    /// into an ASCII name, such as a disallowed code point or a label that
    /// breaks the bidirectional rules.
    NotIdna,
}

impl std::error::Error for NameError {}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Empty => f.write_str("the name is empty"),
            NameError::TooLong => f.write_str("the name is longer than 253 characters"),
            NameError::BadLabel => f.write_str(
                "a label is empty, longer than 63 characters, or starts or ends with `-`",
            ),
            NameError::BadCharacter(c) => write!(
                f,
                "`{c}` is not allowed in a host name (letters, digits, `-`, `_` and `.` are)"
            ),
            NameError::NumericAddress => f.write_str(
                "a numeric IPv4 spelling is not a name; an address is written as four \
                 numbers from 0 to 255 separated by dots",
            ),
            NameError::IpAddress => f.write_str(
                "it is an IP address, not a name (an address is written without a trailing dot)",
            ),
            NameError::NotIdna => f.write_str(
                "the name has characters IDNA cannot convert to an ASCII name; \
                 write it in its `xn--` form",
            ),
        }
    }
}

/// The IP address a name lookup of `text` is answered with, without a
/// grant or a resolver, if `text` is one: an IPv4 or IPv6 address, the
/// latter optionally in one pair of brackets (`[::1]`).
///
/// ```
/// use wasock_host::policy::ip_literal;
///
/// assert_eq!(ip_literal("[::1]"), Some("::1".parse().unwrap()));
/// assert_eq!(ip_literal("127.0.0.1"), Some("127.0.0.1".parse().unwrap()));
/// assert_eq!(ip_literal("[::1"), None);
/// assert_eq!(ip_literal("example.com"), None);
/// ```
pub fn ip_literal(text: &str) -> Option<IpAddr> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    inner.parse().ok()
}

/// Normalise a host name: a Unicode name to its ASCII (`xn--`) form by IDNA
/// (UTS #46, as WASI's `resolve-addresses` asks), then lower case, without a
/// trailing dot, checked for length and characters, and refused if it is a
/// numeric IPv4 spelling. A grant and a lookup of the same name in either
/// spelling therefore meet in one form.
///
/// ```
/// use wasock_host::policy::normalize_name;
/// assert_eq!(normalize_name("Bücher.Example.").unwrap(), "xn--bcher-kva.example");
/// assert_eq!(normalize_name("xn--bcher-kva.example").unwrap(), "xn--bcher-kva.example");
/// assert!(normalize_name("a\u{FFFD}.example").is_err());
/// ```
pub fn normalize_name(name: &str) -> Result<String, NameError> {
    let ascii;
    let name = if name.is_ascii() {
        name
    } else {
        ascii = idna::domain_to_ascii_cow(name.as_bytes(), idna::AsciiDenyList::STD3)
            .map_err(|_| NameError::NotIdna)?;
        &ascii
    };
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    if trimmed.len() > 253 {
        return Err(NameError::TooLong);
    }
    if let Some(c) = trimmed
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(NameError::BadCharacter(c));
    }
    if trimmed.split('.').any(|label| {
        label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-')
    }) {
        return Err(NameError::BadLabel);
    }
    if trimmed.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(NameError::IpAddress);
    }
    if is_numeric_ipv4_spelling(trimmed) {
        return Err(NameError::NumericAddress);
    }
    Ok(trimmed.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn mapped_and_compatible_addresses_become_ipv4() {
        assert_eq!(canonical_ip(ip("::ffff:10.1.2.3")), ip("10.1.2.3"));
        assert_eq!(canonical_ip(ip("::10.1.2.3")), ip("10.1.2.3"));
        assert_eq!(canonical_ip(ip("::ffff:0.0.0.0")), ip("0.0.0.0"));
        assert_eq!(canonical_ip(ip("::")), ip("::"));
        assert_eq!(canonical_ip(ip("::1")), ip("::1"));
        assert_eq!(canonical_ip(ip("2001:db8::1")), ip("2001:db8::1"));
        assert_eq!(canonical_ip(ip("127.0.0.1")), ip("127.0.0.1"));
    }

    #[test]
    fn numeric_spellings_are_recognised() {
        for s in [
            "2130706433",
            "0x7f000001",
            "0X7F000001",
            "0177.0.0.1",
            "127.1",
            "127.0.1",
            "0x7f.1",
            "1.2.3.4",
            "1.2.3.4.",
            "a.0x1",
            "foo.123",
        ] {
            assert!(is_numeric_ipv4_spelling(s), "{s}");
        }
        for s in ["example.com", "0x7g.com", "1.2.3.a", "localhost", "123a"] {
            assert!(!is_numeric_ipv4_spelling(s), "{s}");
        }
    }

    #[test]
    fn names_are_normalised_or_refused() {
        assert_eq!(
            normalize_name("API.Example.COM.").as_deref(),
            Ok("api.example.com")
        );
        assert_eq!(normalize_name(""), Err(NameError::Empty));
        assert_eq!(normalize_name("a..b"), Err(NameError::BadLabel));
        assert_eq!(normalize_name("a b"), Err(NameError::BadCharacter(' ')));
        assert_eq!(normalize_name("2130706433"), Err(NameError::NumericAddress));
        // Unicode names take their IDNA form, so both spellings meet.
        assert_eq!(
            normalize_name("BÜCHER.example").as_deref(),
            Ok("xn--bcher-kva.example")
        );
        assert_eq!(
            normalize_name("例え.テスト").as_deref(),
            Ok("xn--r8jz45g.xn--zckzah")
        );
        // Full-width dots and letters are mapped, not refused.
        assert_eq!(
            normalize_name("ｅｘａｍｐｌｅ．ｃｏｍ").as_deref(),
            Ok("example.com")
        );
        // Disallowed code points and Unicode spaces are refused.
        assert_eq!(normalize_name("a\u{FFFD}.example"), Err(NameError::NotIdna));
        assert_eq!(
            normalize_name("a\u{3000}b.example"),
            Err(NameError::NotIdna)
        );
        assert_eq!(normalize_name(&"a".repeat(64)), Err(NameError::BadLabel));
        assert_eq!(
            normalize_name(&["a"; 128].join(".")),
            Err(NameError::TooLong)
        );
    }
}
