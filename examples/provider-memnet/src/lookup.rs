//! Name lookup: the one name memnet knows is `localhost` (and names under
//! it, RFC 6761); IP literals resolve to themselves.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wasock::provider::{AddressFamily, ErrorCode, IpAddress};

/// `resolve-addresses`: `localhost` is `127.0.0.1` then `::1`; an IP
/// literal (IPv6 with or without brackets) is itself; any other valid name
/// is `name-not-found`; an empty or malformed name, or a numeric IPv4
/// spelling that is not dotted-quad (`2130706433`, `127.1`), is
/// `invalid-argument`. `family` keeps the addresses of one family; none
/// left is `name-not-found`.
pub fn resolve(name: &str, family: Option<AddressFamily>) -> Result<Vec<IpAddress>, ErrorCode> {
    let literal = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    let found: Vec<IpAddr> = if let Ok(ip) = literal.parse::<IpAddr>() {
        vec![ip]
    } else {
        let name = check_name(name)?;
        if name == "localhost" || name.ends_with(".localhost") {
            vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]
        } else {
            return Err(ErrorCode::NameNotFound);
        }
    };
    let kept: Vec<IpAddress> = found
        .into_iter()
        .filter(|ip| match family {
            None => true,
            Some(AddressFamily::Ipv4) => ip.is_ipv4(),
            Some(AddressFamily::Ipv6) => ip.is_ipv6(),
        })
        .map(wasock::addr::ip_from_std)
        .collect();
    if kept.is_empty() {
        Err(ErrorCode::NameNotFound)
    } else {
        Ok(kept)
    }
}

/// A host name checked and lower-cased, without its trailing dot:
/// `invalid-argument` when empty, longer than 253 characters, with an empty
/// label or one over 63 characters, with a character other than letters,
/// digits, `-`, `_` and `.`, or when its last label is a number (a numeric
/// IPv4 spelling, which a resolver would turn into an address).
fn check_name(name: &str) -> Result<String, ErrorCode> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let valid_labels = name.split('.').all(|l| !l.is_empty() && l.len() <= 63);
    if name.is_empty() || name.len() > 253 || !valid_chars || !valid_labels {
        return Err(ErrorCode::InvalidArgument);
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    let hex = last
        .strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .map(|h| h.chars().all(|c| c.is_ascii_hexdigit()));
    if hex == Some(true) || last.chars().all(|c| c.is_ascii_digit()) {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(name.to_ascii_lowercase())
}
