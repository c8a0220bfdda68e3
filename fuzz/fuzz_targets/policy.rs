//! Fuzz the policy: rules and policy files of any bytes must parse or be
//! refused with a position inside them, never panic; decisions on any
//! address must keep the invariants (refusals win, mapped = IPv4).

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;

#[path = "../../host/src/policy/mod.rs"]
#[allow(dead_code, missing_docs, unused_imports)]
mod policy;

use policy::{Effect, Operation, Policy, Rule, normalize_name, parse_policy_file};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_policy_file("fuzz.toml", text);
    let _ = normalize_name(text);

    // Lines are rules (`+` grants, `-` refuses); the last 6 bytes an address.
    let mut policy = Policy::deny_all();
    for line in text.lines() {
        let (effect, rule) = match line.split_at_checked(1) {
            Some(("+", r)) => (Effect::Allow, r),
            Some(("-", r)) => (Effect::Deny, r),
            _ => continue,
        };
        match Rule::parse(effect, rule) {
            Ok(r) => policy.push(r),
            Err(e) => assert!(e.column >= 1 && e.column <= rule.chars().count() + 1),
        }
    }
    if data.len() < 6 {
        return;
    }
    let tail = &data[data.len() - 6..];
    let v4 = Ipv4Addr::new(tail[0], tail[1], tail[2], tail[3]);
    let port = u16::from_be_bytes([tail[4], tail[5]]);
    let names = vec!["api.test".to_string()];
    for op in Operation::ALL.into_iter().filter(|o| o.takes_address()) {
        let plain = policy.check_address(op, SocketAddr::new(IpAddr::V4(v4), port), &names);
        let mapped = policy.check_address(op, SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), port), &names);
        assert_eq!(plain.is_allowed(), mapped.is_allowed(), "{plain} / {mapped}");
        let _ = plain.to_string();
        let v6 = Ipv6Addr::from(u128::from(u32::from(v4)) << 64 | u128::from(port));
        let _ = policy.check_address(op, SocketAddr::new(IpAddr::V6(v6), port), &names);
    }
    let _ = policy.check_name(text);
});
