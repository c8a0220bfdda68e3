//! The policy's decisions, including one test per known hole in other
//! runtimes' network permissions.

use super::*;

fn policy(allow: &[&str], deny: &[&str]) -> Policy {
    let mut b = Policy::builder();
    for r in allow {
        b = b.allow(r).unwrap();
    }
    for r in deny {
        b = b.deny(r).unwrap();
    }
    b.build()
}

fn allowed(p: &Policy, op: Operation, addr: &str) -> bool {
    p.check_address(op, addr.parse().unwrap(), &[]).is_allowed()
}

#[test]
fn deny_by_default() {
    let p = Policy::deny_all();
    for op in Operation::ALL.into_iter().filter(|o| o.takes_address()) {
        assert!(!allowed(&p, op, "127.0.0.1:80"));
    }
    assert!(!p.check_name("localhost").is_allowed());
}

#[test]
fn grants_apply_to_their_operation_only() {
    let p = policy(&["tcp-connect=127.0.0.1:80"], &[]);
    assert!(allowed(&p, Operation::TcpConnect, "127.0.0.1:80"));
    assert!(!allowed(&p, Operation::TcpBind, "127.0.0.1:80"));
    assert!(!allowed(&p, Operation::UdpSend, "127.0.0.1:80"));
    assert!(!allowed(&p, Operation::TcpConnect, "127.0.0.1:81"));
    assert!(!allowed(&p, Operation::TcpConnect, "127.0.0.2:80"));
}

#[test]
fn hole_deny_beats_allow() {
    let p = policy(&["tcp-connect=*"], &["tcp-connect=10.0.0.0/8:*"]);
    assert!(allowed(&p, Operation::TcpConnect, "192.168.1.1:80"));
    let d = p.check_address(Operation::TcpConnect, "10.9.9.9:80".parse().unwrap(), &[]);
    assert!(!d.is_allowed());
    assert!(matches!(d.reason, Reason::Refused(_)));
    // Order does not matter: a refusal added before the grant wins too.
    let p = policy(&[], &["tcp-connect=10.0.0.1:80"]);
    let p = Policy::builder()
        .rule(Rule::clone(&p.rules()[0]))
        .allow("tcp-connect=10.0.0.1:80")
        .unwrap()
        .build();
    assert!(!allowed(&p, Operation::TcpConnect, "10.0.0.1:80"));
}

#[test]
fn hole_ipv4_mapped_and_compatible_vs_grants() {
    let p = policy(&["tcp-connect=127.0.0.1:80"], &[]);
    assert!(allowed(&p, Operation::TcpConnect, "[::ffff:127.0.0.1]:80"));
    assert!(allowed(&p, Operation::TcpConnect, "[::127.0.0.1]:80"));
    assert!(!allowed(&p, Operation::TcpConnect, "[::ffff:127.0.0.2]:80"));
    // A grant written in mapped form is the IPv4 grant.
    let p = policy(&["tcp-connect=[::ffff:10.0.0.1]:80"], &[]);
    assert!(allowed(&p, Operation::TcpConnect, "10.0.0.1:80"));
}

#[test]
fn hole_ipv4_mapped_and_compatible_vs_denies() {
    let p = policy(&["tcp-connect=*"], &["tcp-connect=169.254.169.254:*"]);
    for spelling in [
        "169.254.169.254:80",
        "[::ffff:169.254.169.254]:80",
        "[::169.254.169.254]:80",
        "[::ffff:a9fe:a9fe]:80",
    ] {
        assert!(!allowed(&p, Operation::TcpConnect, spelling), "{spelling}");
    }
    let p = policy(&["tcp-connect=*"], &["tcp-connect=[::ffff:0:0]/96:*"]);
    assert!(!allowed(&p, Operation::TcpConnect, "1.2.3.4:80"));
}

#[test]
fn hole_unspecified_needs_a_rule_that_names_it() {
    let p = policy(&["tcp-bind=127.0.0.1:*", "udp-bind=*"], &[]);
    assert!(allowed(&p, Operation::TcpBind, "127.0.0.1:8080"));
    assert!(!allowed(&p, Operation::TcpBind, "0.0.0.0:8080"));
    assert!(!allowed(&p, Operation::TcpBind, "[::]:8080"));
    assert!(!allowed(&p, Operation::UdpBind, "0.0.0.0:53"));
    assert!(!allowed(&p, Operation::UdpBind, "[::ffff:0.0.0.0]:53"));
    let p = policy(&["tcp-bind=0.0.0.0/0:*"], &[]);
    assert!(!allowed(&p, Operation::TcpBind, "0.0.0.0:1"));
    assert!(allowed(&p, Operation::TcpBind, "10.0.0.1:1"));
    let p = policy(&["tcp-bind=0.0.0.0:*", "tcp-bind=[::]:8080"], &[]);
    assert!(allowed(&p, Operation::TcpBind, "0.0.0.0:1"));
    assert!(allowed(&p, Operation::TcpBind, "[::]:8080"));
    assert!(!allowed(&p, Operation::TcpBind, "[::]:8081"));
    // A refusal of everything refuses the unspecified address too.
    let p = policy(&["tcp-bind=0.0.0.0:*"], &["tcp-bind=*"]);
    assert!(!allowed(&p, Operation::TcpBind, "0.0.0.0:1"));
    let d =
        Policy::deny_all().check_address(Operation::TcpBind, "0.0.0.0:80".parse().unwrap(), &[]);
    assert!(d.to_string().contains("names it"), "{d}");
    assert!(d.to_string().contains("--allow tcp-bind=0.0.0.0:80"), "{d}");
}

#[test]
fn hole_port_zero_only_by_ports_that_include_it() {
    let p = policy(
        &["tcp-bind=127.0.0.1:8080", "udp-bind=127.0.0.1:1-100"],
        &[],
    );
    assert!(!allowed(&p, Operation::TcpBind, "127.0.0.1:0"));
    assert!(!allowed(&p, Operation::UdpBind, "127.0.0.1:0"));
    let p = policy(&["tcp-bind=127.0.0.1:*", "udp-bind=127.0.0.1:0-10"], &[]);
    assert!(allowed(&p, Operation::TcpBind, "127.0.0.1:0"));
    assert!(allowed(&p, Operation::UdpBind, "127.0.0.1:0"));
}

#[test]
fn ports_at_the_edges() {
    let p = policy(
        &["tcp-connect=127.0.0.1:65535", "udp-send=127.0.0.1:0"],
        &[],
    );
    assert!(allowed(&p, Operation::TcpConnect, "127.0.0.1:65535"));
    assert!(!allowed(&p, Operation::TcpConnect, "127.0.0.1:65534"));
    assert!(allowed(&p, Operation::UdpSend, "127.0.0.1:0"));
    assert!(Rule::parse(Effect::Allow, "tcp-connect=127.0.0.1:65536").is_err());
    assert!(Rule::parse(Effect::Allow, "tcp-connect=127.0.0.1:0-65536").is_err());
}

#[test]
fn hole_ipv6_scope_ids() {
    let p = policy(
        &["tcp-connect=[fe80::1%2]:80", "udp-send=[fe80::2]:53"],
        &[],
    );
    assert!(allowed(&p, Operation::TcpConnect, "[fe80::1%2]:80"));
    assert!(!allowed(&p, Operation::TcpConnect, "[fe80::1%3]:80"));
    assert!(!allowed(&p, Operation::TcpConnect, "[fe80::1]:80"));
    // A grant without a scope covers only the unscoped address.
    assert!(allowed(&p, Operation::UdpSend, "[fe80::2]:53"));
    assert!(!allowed(&p, Operation::UdpSend, "[fe80::2%1]:53"));
    // `%*` covers every interface; a refusal without a scope covers all.
    let p = policy(
        &["tcp-connect=[fe80::1%*]:80"],
        &["tcp-connect=[fe80::1]:80"],
    );
    assert!(!allowed(&p, Operation::TcpConnect, "[fe80::1%7]:80"));
    let p = policy(&["tcp-connect=[fe80::1%*]:80"], &[]);
    assert!(allowed(&p, Operation::TcpConnect, "[fe80::1%7]:80"));
}

#[test]
fn hole_suffix_wildcards_need_a_label_boundary() {
    let p = policy(&["resolve=*.example.com"], &[]);
    assert!(p.check_name("api.example.com").is_allowed());
    assert!(p.check_name("a.b.example.com").is_allowed());
    assert!(!p.check_name("example.com").is_allowed());
    assert!(!p.check_name("evilexample.com").is_allowed());
    assert!(!p.check_name("example.com.evil.net").is_allowed());
}

#[test]
fn hole_numeric_ipv4_spellings_are_not_names() {
    for spelling in [
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "0x7f.0.0.1",
    ] {
        assert_eq!(
            normalize_name(spelling),
            Err(NameError::NumericAddress),
            "{spelling}"
        );
        assert!(Rule::parse(Effect::Allow, &format!("tcp-connect={spelling}:80")).is_err());
        assert!(Rule::parse(Effect::Allow, &format!("resolve={spelling}")).is_err());
    }
}

#[test]
fn name_grants_match_through_resolved_names_and_denies_check_the_address() {
    let p = policy(
        &["tcp-connect=api.example.com:443"],
        &["tcp-connect=10.0.0.0/8:*"],
    );
    let names = vec!["api.example.com".to_string()];
    let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
    assert!(
        p.check_address(Operation::TcpConnect, addr("192.0.2.1:443"), &names)
            .is_allowed()
    );
    assert!(
        !p.check_address(Operation::TcpConnect, addr("192.0.2.1:443"), &[])
            .is_allowed()
    );
    assert!(
        !p.check_address(Operation::TcpConnect, addr("192.0.2.1:80"), &names)
            .is_allowed()
    );
    // The name resolved to a refused address: refused.
    let d = p.check_address(Operation::TcpConnect, addr("10.1.1.1:443"), &names);
    assert!(matches!(d.reason, Reason::Refused(_)), "{d}");
    // A refusal by name applies whatever the address.
    let p = policy(&["tcp-connect=*"], &["tcp-connect=*.evil.net:*"]);
    let names = vec!["x.evil.net".to_string()];
    assert!(
        !p.check_address(Operation::TcpConnect, addr("192.0.2.1:80"), &names)
            .is_allowed()
    );
}

#[test]
fn explanations_name_the_deciding_rule_and_the_remedy() {
    let p = policy(&["tcp-bind=127.0.0.1:*"], &["tcp-bind=127.0.0.1:22"]);
    let d = p.check_address(Operation::TcpBind, "127.0.0.1:8080".parse().unwrap(), &[]);
    assert!(
        d.to_string()
            .starts_with("allowed tcp-bind 127.0.0.1:8080 by "),
        "{d}"
    );
    let d = p.check_address(Operation::TcpBind, "127.0.0.1:22".parse().unwrap(), &[]);
    assert!(d.to_string().starts_with("denied"), "{d}");
    assert!(d.to_string().contains("tcp-bind=127.0.0.1:22"), "{d}");
    let d = p.check_address(Operation::TcpBind, "[::1]:9".parse().unwrap(), &[]);
    assert_eq!(
        d.remedy().unwrap(),
        "to permit it, run with --allow tcp-bind=[::1]:9"
    );
    let d = p.check_address(
        Operation::TcpBind,
        "[::ffff:10.0.0.1]:9".parse().unwrap(),
        &[],
    );
    assert_eq!(
        d.remedy().unwrap(),
        "to permit it, run with --allow tcp-bind=10.0.0.1:9"
    );
}

#[test]
fn the_remedy_for_a_datagram_to_an_ephemeral_port_offers_any_port() {
    let p = policy(&[], &[]);
    // Most likely an answer to a client: the next one has another port.
    let d = p.check_address(Operation::UdpSend, "127.0.0.1:45630".parse().unwrap(), &[]);
    assert_eq!(
        d.remedy().unwrap(),
        "to permit it, run with --allow udp-send=127.0.0.1:45630 \
         (or udp-send=127.0.0.1:* to answer clients, whose ports are ephemeral)"
    );
    // A service's port: only the exact grant.
    let d = p.check_address(Operation::UdpSend, "[2001:db8::1]:53".parse().unwrap(), &[]);
    assert_eq!(
        d.remedy().unwrap(),
        "to permit it, run with --allow udp-send=[2001:db8::1]:53"
    );
}

#[test]
fn the_remedy_for_a_refused_peer_names_its_address_with_any_port() {
    let p = policy(&[], &[]);
    for op in [Operation::TcpAccept, Operation::UdpRecv] {
        let d = p.check_address(op, "192.0.2.7:50123".parse().unwrap(), &[]);
        assert_eq!(
            d.remedy().unwrap(),
            format!("to permit it, run with --allow {op}=192.0.2.7:*")
        );
    }
    let d = p.check_address(
        Operation::TcpAccept,
        "[2001:db8::7]:50123".parse().unwrap(),
        &[],
    );
    assert_eq!(
        d.remedy().unwrap(),
        "to permit it, run with --allow tcp-accept=[2001:db8::7]:*"
    );
    // The guest's own destinations keep their port.
    let d = p.check_address(Operation::TcpConnect, "192.0.2.7:443".parse().unwrap(), &[]);
    assert_eq!(
        d.remedy().unwrap(),
        "to permit it, run with --allow tcp-connect=192.0.2.7:443"
    );
}

#[test]
fn a_rule_without_its_equals_sign_is_pointed_at_where_it_belongs() {
    let e = Rule::parse(Effect::Allow, "tcp-bind:127.0.0.1:80").unwrap_err();
    assert_eq!(e.column, 9, "{e}");
    let e = Rule::parse(Effect::Allow, "tcp-bind").unwrap_err();
    assert_eq!(e.column, 9, "{e}");
}

#[test]
fn a_denial_advises_granting_where_the_policy_is_kept() {
    let mut p = policy(&[], &[]);
    assert_eq!(p.set_by(), &SetBy::Code);
    let target = "10.0.0.1:7".parse().unwrap();
    let d = p.check_address(Operation::UdpSend, target, &[]);
    assert!(
        d.shown_by(p.set_by())
            .to_string()
            .ends_with("; to permit it, add the grant udp-send=10.0.0.1:7 to the policy"),
        "{}",
        d.shown_by(p.set_by())
    );
    p.set_set_by(SetBy::Scenario {
        host: "a".into(),
        path: "s.toml".into(),
    });
    assert_eq!(
        d.remedy_by(p.set_by()).unwrap(),
        "to permit it, add \"udp-send=10.0.0.1:7\" to host \"a\"'s allow list in s.toml"
    );
    p.set_set_by(SetBy::Annotations("wasock.dev/".into()));
    assert_eq!(
        d.remedy_by(p.set_by()).unwrap(),
        "to permit it, add udp-send=10.0.0.1:7 to the wasock.dev/allow annotation"
    );
    // The plain form speaks of flags, as `wasock policy explain` does.
    assert!(
        d.to_string()
            .ends_with("run with --allow udp-send=10.0.0.1:7")
    );
    assert_eq!(Policy::deny_all().set_by(), &SetBy::Code);
}
