//! Property tests of the matcher: invariants that must hold for every
//! policy and every address, not just the examples in `tests.rs`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;

use super::*;

fn ops() -> impl Strategy<Value = Operation> {
    prop::sample::select(Operation::ALL.to_vec())
}

fn address_ops() -> impl Strategy<Value = Operation> {
    prop::sample::select(
        Operation::ALL
            .into_iter()
            .filter(|o| o.takes_address())
            .collect::<Vec<_>>(),
    )
}

/// IPv4 addresses from a small pool, so that rules and addresses collide.
fn v4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        Just(Ipv4Addr::new(127, 0, 0, 1)),
        Just(Ipv4Addr::UNSPECIFIED),
        (0u8..4, 0u8..4).prop_map(|(c, d)| Ipv4Addr::new(10, 0, c, d)),
        any::<u32>().prop_map(Ipv4Addr::from),
    ]
}

fn host_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        v4().prop_map(|a| a.to_string()),
        (v4(), 0u8..=32).prop_map(|(a, l)| {
            let network = u32::from(a) & u32::MAX.checked_shl(32 - u32::from(l)).unwrap_or(0);
            format!("{}/{l}", Ipv4Addr::from(network))
        }),
        Just("[::1]".to_string()),
        Just("[::]".to_string()),
        v4().prop_map(|a| format!("[::ffff:{a}]")),
        (32u8..=128).prop_map(|l| format!("[2001:db8::]/{l}")),
        prop::sample::select(vec!["api.test", "x.example.test", "evil.test"])
            .prop_map(String::from),
        prop::sample::select(vec!["*.example.test", "*.test"]).prop_map(String::from),
    ]
}

fn ports_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        (0u16..100).prop_map(|p| p.to_string()),
        (0u16..100, 0u16..100).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
    ]
}

fn rule_text() -> impl Strategy<Value = String> {
    (ops(), host_text(), ports_text()).prop_filter_map("valid rules only", |(op, host, ports)| {
        let text = if op.takes_address() {
            format!("{op}={host}:{ports}")
        } else {
            format!("{op}={host}")
        };
        Rule::parse(Effect::Allow, &text).ok().map(|_| text)
    })
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop::collection::vec(rule_text(), 0..6),
        prop::collection::vec(rule_text(), 0..3),
    )
        .prop_map(|(allow, deny)| {
            let mut b = Policy::builder();
            for r in &allow {
                b = b.allow(r).unwrap();
            }
            for r in &deny {
                b = b.deny(r).unwrap();
            }
            b.build()
        })
}

fn names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop::sample::select(vec![
            "api.test",
            "x.example.test",
            "evil.test",
            "example.test",
        ])
        .prop_map(String::from),
        0..2,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_never_panics_and_errors_point_inside_the_rule(s in "\\PC{0,40}") {
        if let Err(e) = Rule::parse(Effect::Allow, &s) {
            prop_assert!(e.column >= 1 && e.column <= s.chars().count() + 1);
            prop_assert_eq!(e.rule, s);
        }
    }

    #[test]
    fn a_mapped_address_is_decided_as_its_ipv4_address(p in policy(), op in address_ops(), a in v4(), port in 0u16..100, n in names()) {
        let plain = p.check_address(op, SocketAddr::new(IpAddr::V4(a), port), &n).is_allowed();
        let mapped = p.check_address(op, SocketAddr::new(IpAddr::V6(a.to_ipv6_mapped()), port), &n).is_allowed();
        prop_assert_eq!(plain, mapped);
    }

    #[test]
    fn a_matching_refusal_always_wins(p in policy(), op in address_ops(), a in v4(), port in 0u16..100, n in names()) {
        let refused = Policy::builder()
            .rule(Rule::parse(Effect::Deny, &format!("{op}={a}:{port}")).unwrap())
            .build();
        let mut all = refused.clone();
        for r in p.rules() { all.push(Rule::clone(r)); }
        prop_assert!(!all.check_address(op, SocketAddr::new(IpAddr::V4(a), port), &n).is_allowed());
    }

    #[test]
    fn grants_only_widen_and_refusals_only_narrow(p in policy(), extra in rule_text(), op in address_ops(), a in v4(), port in 0u16..100, n in names()) {
        let addr = SocketAddr::new(IpAddr::V4(a), port);
        let before = p.check_address(op, addr, &n).is_allowed();
        let mut granted = p.clone();
        granted.push(Rule::parse(Effect::Allow, &extra).unwrap());
        let mut refused = p.clone();
        refused.push(Rule::parse(Effect::Deny, &extra).unwrap());
        prop_assert!(!before || granted.check_address(op, addr, &n).is_allowed());
        prop_assert!(before || !refused.check_address(op, addr, &n).is_allowed());
    }

    #[test]
    fn the_unspecified_address_is_granted_only_by_a_rule_naming_it(p in policy(), op in address_ops(), port in 0u16..100) {
        for ip in [IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::V6(Ipv6Addr::UNSPECIFIED)] {
            let d = p.check_address(op, SocketAddr::new(ip, port), &[]);
            if let Reason::Granted(rule) = &d.reason {
                let named = matches!(rule.host, HostPattern::Ip { addr, .. } if addr.is_unspecified())
                    || matches!(rule.host, HostPattern::Cidr { network, prefix } if network.is_unspecified() && (prefix == 32 || prefix == 128));
                prop_assert!(named, "{} granted by {}", d, rule);
            }
        }
    }

    #[test]
    fn every_decision_names_its_rule_and_explains_itself(p in policy(), op in address_ops(), a in v4(), port in 0u16..100) {
        let d = p.check_address(op, SocketAddr::new(IpAddr::V4(a), port), &[]);
        let text = d.to_string();
        let verdict = if d.is_allowed() { "allowed " } else { "denied " };
        prop_assert!(text.starts_with(verdict));
        match d.rule() {
            Some(rule) => prop_assert!(text.contains(&rule.text)),
            None => prop_assert!(text.contains("--allow")),
        }
    }

    #[test]
    fn patterns_print_as_they_parse(text in rule_text()) {
        let rule = Rule::parse(Effect::Allow, &text).unwrap();
        let printed = if rule.operation.takes_address() {
            format!("{}={}:{}", rule.operation, rule.host, rule.ports)
        } else {
            format!("{}={}", rule.operation, rule.host)
        };
        let again = Rule::parse(Effect::Allow, &printed).unwrap();
        prop_assert_eq!((again.operation, again.host, again.ports), (rule.operation, rule.host, rule.ports));
    }
}
