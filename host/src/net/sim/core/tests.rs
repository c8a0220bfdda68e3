//! Tests of the world, addressing and datagrams.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::*;

pub(super) fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

pub(super) fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip address")
}

/// Hosts "a" (10.0.0.1, fd00::1) and "b" (10.0.0.2, fd00::2).
pub(super) fn two_hosts(seed: u64, cfg: LinkConfig) -> (Network, HostId, HostId) {
    let mut net = Network::new(seed, LinkConfig::default());
    let a = net.add_host("a", &[ip("10.0.0.1"), ip("fd00::1")]).unwrap();
    let b = net.add_host("b", &[ip("10.0.0.2"), ip("fd00::2")]).unwrap();
    net.set_link(a, b, cfg);
    (net, a, b)
}

/// Run every pending event.
pub(super) fn settle(net: &mut Network) {
    while let Some(t) = net.next_deadline() {
        net.advance_to(t);
    }
}

/// The events so far, taken, as `AT HOST TEXT` lines.
fn event_texts(net: &mut Network) -> Vec<String> {
    net.take_events()
        .into_iter()
        .map(|e| format!("{:?} {} {}", e.at, e.host, e.text))
        .collect()
}

fn udp(net: &mut Network, h: HostId, addr: &str) -> SockId {
    let s = net.open(h, Family::Ipv4, SocketType::Datagram).unwrap();
    net.bind(s, sa(addr)).unwrap();
    s
}

#[test]
fn hosts_and_names() {
    let (mut net, a, b) = two_hosts(1, LinkConfig::default());
    assert_eq!(net.host_name(a), "a");
    assert_eq!(net.host_name(HostId(99)), "");
    assert_eq!(net.add_host("A", &[]), Err(ErrorCode::InvalidArgument));
    assert_eq!(
        net.add_host("c", &[ip("10.0.0.1")]),
        Err(ErrorCode::InvalidArgument)
    );
    assert_eq!(
        net.add_host("c", &[ip("127.0.0.1")]),
        Err(ErrorCode::InvalidArgument)
    );
    assert_eq!(
        net.resolve("B").unwrap(),
        vec![ip("10.0.0.2"), ip("fd00::2")]
    );
    net.add_name("Example.COM", &[ip("10.0.0.2")]);
    assert_eq!(net.resolve("example.com").unwrap(), vec![ip("10.0.0.2")]);
    assert_eq!(net.resolve("nope"), Err(ErrorCode::NameNotFound));
    let _ = b;
}

#[test]
fn localhost_resolves_to_loopback_unless_declared() {
    let (mut net, _, _) = two_hosts(1, LinkConfig::default());
    let lo = vec![ip("127.0.0.1"), ip("::1")];
    assert_eq!(net.resolve("localhost"), Ok(lo.clone()));
    assert_eq!(net.resolve("LocalHost"), Ok(lo.clone()));
    // Also with a host of that name: each host's own loopback wins.
    net.add_host("localhost", &[ip("10.0.0.9")]).unwrap();
    assert_eq!(net.resolve("LOCALHOST"), Ok(lo));
    assert_eq!(
        net.resolve("localhost.localdomain"),
        Err(ErrorCode::NameNotFound)
    );
    // The name table may declare it otherwise.
    net.add_name("LOCALHOST", &[ip("::1")]);
    assert_eq!(net.resolve("localhost"), Ok(vec![ip("::1")]));
}

#[test]
fn durations_round_up_to_whole_seconds() {
    let (mut net, a, _) = two_hosts(1, LinkConfig::default());
    let s = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    let ms = Duration::from_millis;
    let secs = Duration::from_secs;
    net.set_option(s, SockOption::KeepAliveIdle(ms(1500)))
        .unwrap();
    assert_eq!(
        net.get_option(s, OptionName::KeepAliveIdle),
        Ok(SockOption::KeepAliveIdle(secs(2)))
    );
    net.set_option(s, SockOption::KeepAliveInterval(Duration::from_nanos(1)))
        .unwrap();
    assert_eq!(
        net.get_option(s, OptionName::KeepAliveInterval),
        Ok(SockOption::KeepAliveInterval(secs(1)))
    );
    net.set_option(s, SockOption::KeepAliveInterval(secs(75)))
        .unwrap();
    assert_eq!(
        net.get_option(s, OptionName::KeepAliveInterval),
        Ok(SockOption::KeepAliveInterval(secs(75)))
    );
    net.set_option(s, SockOption::Linger(Some(ms(2001))))
        .unwrap();
    assert_eq!(
        net.get_option(s, OptionName::Linger),
        Ok(SockOption::Linger(Some(secs(3))))
    );
    net.set_option(s, SockOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    assert_eq!(
        net.get_option(s, OptionName::Linger),
        Ok(SockOption::Linger(Some(Duration::ZERO)))
    );
    // Ranges apply to the rounded value; a rejected value changes nothing.
    net.set_option(s, SockOption::KeepAliveIdle(ms(32_766_500)))
        .unwrap();
    assert_eq!(
        net.get_option(s, OptionName::KeepAliveIdle),
        Ok(SockOption::KeepAliveIdle(secs(32767)))
    );
    for bad in [
        SockOption::KeepAliveIdle(ms(32_767_001)),
        SockOption::KeepAliveIdle(Duration::ZERO),
        SockOption::KeepAliveInterval(Duration::MAX),
        SockOption::KeepAliveCount(128),
        SockOption::Linger(Some(ms(65_535_001))),
    ] {
        assert_eq!(net.set_option(s, bad), Err(ErrorCode::InvalidArgument));
    }
    assert_eq!(
        net.get_option(s, OptionName::KeepAliveIdle),
        Ok(SockOption::KeepAliveIdle(secs(32767)))
    );
    net.set_option(s, SockOption::Linger(Some(ms(65_534_500))))
        .unwrap();
    assert_eq!(
        net.get_option(s, OptionName::Linger),
        Ok(SockOption::Linger(Some(secs(65535))))
    );
}

#[test]
fn unknown_ids_never_panic() {
    let (mut net, _, _) = two_hosts(1, LinkConfig::default());
    let s = SockId(12345);
    let mut out = Vec::new();
    assert_eq!(
        net.bind(s, sa("10.0.0.1:1")),
        Err(ErrorCode::InvalidArgument)
    );
    assert_eq!(net.send(s, b"x"), Err(ErrorCode::InvalidArgument));
    assert_eq!(
        net.recv(s, &mut out, 10, false),
        Err(ErrorCode::InvalidArgument)
    );
    assert_eq!(net.connect_state(s), Err(ErrorCode::InvalidArgument));
    assert_eq!(net.accept(s), Err(ErrorCode::InvalidArgument));
    assert_eq!(net.readiness(s), Readiness::EMPTY);
    assert_eq!(net.take_error(s), Err(ErrorCode::InvalidArgument));
    assert_eq!(
        net.open(HostId(7), Family::Ipv4, SocketType::Stream),
        Err(ErrorCode::InvalidArgument)
    );
    net.close(s);
}

#[test]
fn bind_errors_and_ephemeral_ports() {
    let (mut net, a, _) = two_hosts(1, LinkConfig::default());
    let s = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    assert_eq!(
        net.bind(s, sa("[::1]:80")),
        Err(ErrorCode::AddressFamilyNotSupported)
    );
    assert_eq!(
        net.bind(s, sa("10.0.0.2:80")),
        Err(ErrorCode::AddressNotAvailable)
    );
    assert_eq!(net.local_addr(s), Err(ErrorCode::InvalidArgument));
    net.bind(s, sa("10.0.0.1:80")).unwrap();
    assert_eq!(
        net.bind(s, sa("10.0.0.1:81")),
        Err(ErrorCode::InvalidArgument)
    );
    let t = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    assert_eq!(net.bind(t, sa("0.0.0.0:80")), Err(ErrorCode::AddressInUse));
    net.bind(t, sa("127.0.0.1:81")).unwrap();
    // UDP has its own port space; IPv6 its own wildcard.
    let u = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
    net.bind(u, sa("0.0.0.0:80")).unwrap();
    let v = net.open(a, Family::Ipv6, SocketType::Stream).unwrap();
    net.bind(v, sa("[::]:80")).unwrap();
    // Ephemeral ports go upward from 49152, skipping used ones.
    let w = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    net.bind(w, sa("10.0.0.1:49152")).unwrap();
    let x = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    net.bind(x, sa("0.0.0.0:0")).unwrap();
    assert_eq!(net.local_addr(x).unwrap(), sa("0.0.0.0:49153"));
    let y = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
    net.bind(y, sa("0.0.0.0:0")).unwrap();
    assert_eq!(net.local_addr(y).unwrap().port(), EPHEMERAL_START);
    // Closing frees the port.
    net.close(s);
    net.bind(t, sa("10.0.0.1:80")).unwrap_err();
    let z = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    net.bind(z, sa("10.0.0.1:80")).unwrap();
}

#[test]
fn options_read_back() {
    let (mut net, a, _) = two_hosts(1, LinkConfig::default());
    let s = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    assert_eq!(
        net.get_option(s, OptionName::ReceiveBufferSize),
        Ok(SockOption::ReceiveBufferSize(DEFAULT_BUFFER))
    );
    assert_eq!(
        net.get_option(s, OptionName::UnicastHopLimit),
        Ok(SockOption::UnicastHopLimit(64))
    );
    assert_eq!(
        net.get_option(s, OptionName::Broadcast),
        Err(ErrorCode::ProtocolOptionNotSupported)
    );
    assert_eq!(
        net.set_option(s, SockOption::Ipv6Only(true)),
        Err(ErrorCode::AddressFamilyNotSupported)
    );
    assert_eq!(
        net.set_option(s, SockOption::SendBufferSize(0)),
        Err(ErrorCode::InvalidArgument)
    );
    net.set_option(s, SockOption::Linger(Some(Duration::from_secs(3))))
        .unwrap();
    assert_eq!(
        net.get_option(s, OptionName::Linger),
        Ok(SockOption::Linger(Some(Duration::from_secs(3))))
    );
    let u = net.open(a, Family::Ipv6, SocketType::Datagram).unwrap();
    assert_eq!(
        net.get_option(u, OptionName::MulticastHopLimit),
        Ok(SockOption::MulticastHopLimit(1))
    );
    assert_eq!(
        net.get_option(u, OptionName::MulticastLoop),
        Ok(SockOption::MulticastLoop(true))
    );
    net.set_option(u, SockOption::Ipv6Only(true)).unwrap();
    net.bind(u, sa("[::]:0")).unwrap();
    assert_eq!(
        net.set_option(u, SockOption::Ipv6Only(false)),
        Err(ErrorCode::InvalidArgument)
    );
    assert_eq!(net.join_multicast(u, ip("ff02::1"), 0), Ok(()));
    assert_eq!(
        net.join_multicast(u, ip("fd00::1"), 0),
        Err(ErrorCode::InvalidArgument)
    );
}

#[test]
fn udp_exchange_addresses_truncation_peek() {
    let (mut net, a, b) = two_hosts(1, LinkConfig::default());
    let sa_ = udp(&mut net, a, "0.0.0.0:5000");
    let sb = udp(&mut net, b, "10.0.0.2:7");
    let mut out = Vec::new();
    assert_eq!(
        net.recv_from(sb, &mut out, 100, false),
        Err(ErrorCode::WouldBlock)
    );
    assert_eq!(net.send_to(sa_, b"hello world", sa("10.0.0.2:7")), Ok(11));
    assert!(!net.readiness(sb).contains(Readiness::READABLE));
    assert_eq!(net.next_deadline(), Some(Duration::from_millis(1)));
    net.advance_to(Duration::from_millis(1));
    assert!(net.take_changed().contains(&sb));
    assert!(net.readiness(sb).contains(Readiness::READABLE));
    assert_eq!(net.bytes_available(sb), Ok(11));
    assert_eq!(
        net.recv_from(sb, &mut out, 5, true),
        Ok((sa("10.0.0.1:5000"), true))
    );
    assert_eq!(out, b"hello");
    out.clear();
    assert_eq!(
        net.recv_from(sb, &mut out, 100, false),
        Ok((sa("10.0.0.1:5000"), false))
    );
    assert_eq!(out, b"hello world");
    assert!(!net.readiness(sb).contains(Readiness::READABLE));
    // Unbound receive, missing peer, size limit, stream recv_from.
    let c = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
    assert_eq!(
        net.recv(c, &mut out, 10, false),
        Err(ErrorCode::InvalidArgument)
    );
    assert_eq!(
        net.send(c, b"x"),
        Err(ErrorCode::DestinationAddressRequired)
    );
    let big = vec![0u8; 65_508];
    assert_eq!(
        net.send_to(c, &big, sa("10.0.0.2:7")),
        Err(ErrorCode::MessageSize)
    );
    assert_eq!(net.send_to(c, &big[1..], sa("10.0.0.2:7")), Ok(65_507));
    // Connected: only the peer's datagrams, `send` works, `send_to` not.
    net.connect(c, sa("10.0.0.2:7")).unwrap();
    assert_eq!(net.local_addr(c).unwrap().ip(), ip("10.0.0.1"));
    assert_eq!(
        net.send_to(c, b"x", sa("10.0.0.2:7")),
        Err(ErrorCode::AlreadyConnected)
    );
    assert_eq!(net.send(c, b"ping"), Ok(4));
    settle(&mut net);
    net.disconnect(c).unwrap();
    assert_eq!(net.local_addr(c).unwrap().ip(), ip("0.0.0.0"));
}

#[test]
fn udp_loopback_is_immediate() {
    let (mut net, a, _) = two_hosts(1, LinkConfig::default());
    let s = udp(&mut net, a, "127.0.0.1:9");
    let c = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
    net.send_to(c, b"hi", sa("127.0.0.1:9")).unwrap();
    assert!(net.readiness(s).contains(Readiness::READABLE));
    let mut out = Vec::new();
    let (from, _) = net.recv_from(s, &mut out, 10, false).unwrap();
    assert_eq!(from.ip(), ip("127.0.0.1"));
    // Another host's loopback is not reachable.
    assert_eq!(net.next_deadline(), None);
}

#[test]
fn udp_port_unreachable_refuses_connected_sender() {
    let cfg = LinkConfig {
        latency: Duration::from_millis(10),
        ..LinkConfig::default()
    };
    let (mut net, a, _) = two_hosts(1, cfg);
    let c = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
    net.connect(c, sa("10.0.0.2:9")).unwrap();
    net.send(c, b"x").unwrap();
    let u = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
    net.send_to(u, b"x", sa("10.0.0.2:9")).unwrap();
    net.advance_to(Duration::from_millis(19));
    assert!(!net.readiness(c).contains(Readiness::ERROR));
    net.advance_to(Duration::from_millis(20));
    assert!(
        net.readiness(c)
            .contains(Readiness::ERROR | Readiness::READABLE)
    );
    assert!(!net.readiness(u).contains(Readiness::ERROR));
    let mut out = Vec::new();
    assert_eq!(
        net.recv(c, &mut out, 10, false),
        Err(ErrorCode::ConnectionRefused)
    );
    assert_eq!(net.recv(c, &mut out, 10, false), Err(ErrorCode::WouldBlock));
    settle(&mut net);
    assert_eq!(net.take_error(u), Ok(None));
}

#[test]
fn udp_partition_and_events() {
    let (mut net, a, b) = two_hosts(1, LinkConfig::default());
    net.partition(
        &[a],
        &[b],
        Duration::from_secs(1),
        Some(Duration::from_secs(2)),
    );
    let s = udp(&mut net, b, "0.0.0.0:7");
    let c = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
    net.advance_to(Duration::from_millis(1500));
    net.send_to(c, b"x", sa("10.0.0.2:7")).unwrap();
    net.advance_to(Duration::from_secs(2));
    net.send_to(c, b"y", sa("10.0.0.2:7")).unwrap();
    settle(&mut net);
    let texts = event_texts(&mut net);
    assert_eq!(
        texts,
        vec![
            "1s * partition started: a | b",
            "1.5s a udp 10.0.0.1:49152 -> 10.0.0.2:7 dropped (partition)",
            "2s * partition healed: a | b",
        ]
    );
    let mut out = Vec::new();
    net.recv(s, &mut out, 10, false).unwrap();
    assert_eq!(out, b"y");
}

#[test]
fn udp_one_way_partition_drops_one_direction() {
    let (mut net, a, b) = two_hosts(1, LinkConfig::default());
    net.partition_one_way(&[a], &[b], Duration::from_secs(1), None);
    let on_a = udp(&mut net, a, "0.0.0.0:7");
    let on_b = udp(&mut net, b, "0.0.0.0:7");
    net.advance_to(Duration::from_secs(1));
    net.send_to(on_a, b"a to b", sa("10.0.0.2:7")).unwrap();
    net.send_to(on_b, b"b to a", sa("10.0.0.1:7")).unwrap();
    settle(&mut net);
    let mut out = Vec::new();
    assert_eq!(
        net.recv(on_b, &mut out, 10, false),
        Err(ErrorCode::WouldBlock)
    );
    net.recv(on_a, &mut out, 10, false).unwrap();
    assert_eq!(out, b"b to a");
    let texts = event_texts(&mut net);
    assert_eq!(
        texts,
        vec![
            "1s * partition started: a -> b",
            "1s a udp 10.0.0.1:7 -> 10.0.0.2:7 dropped (partition)",
        ]
    );
}

/// Send 10,000 numbered datagrams over a faulty link and measure.
fn udp_run(seed: u64) -> (Vec<u32>, Vec<NetEvent>) {
    let cfg = LinkConfig {
        latency: Duration::from_millis(5),
        loss: 0.2,
        duplicate: 0.1,
        reorder: 0.3,
        ..LinkConfig::default()
    };
    let (mut net, a, b) = two_hosts(seed, cfg);
    let rx = udp(&mut net, b, "0.0.0.0:7");
    net.set_option(rx, SockOption::ReceiveBufferSize(1 << 20))
        .unwrap();
    let tx = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
    for i in 0u32..10_000 {
        net.send_to(tx, &i.to_be_bytes(), sa("10.0.0.2:7")).unwrap();
    }
    settle(&mut net);
    let mut got = Vec::new();
    let mut out = Vec::new();
    while net.recv(rx, &mut out, 100, false).is_ok() {
        let n: [u8; 4] = out.as_slice().try_into().unwrap();
        got.push(u32::from_be_bytes(n));
        out.clear();
    }
    (got, net.take_events())
}

#[test]
fn udp_fault_rates() {
    let (got, events) = udp_run(42);
    let mut seen = std::collections::BTreeSet::new();
    let mut dups = 0usize;
    let mut reordered = 0usize;
    let mut highest: Option<u32> = None;
    for n in &got {
        if !seen.insert(*n) {
            dups += 1;
            continue;
        }
        if highest.is_some_and(|h| h > *n) {
            reordered += 1;
        }
        highest = highest.max(Some(*n));
    }
    let distinct = seen.len() as f64;
    let loss = 1.0 - distinct / 10_000.0;
    let dup = dups as f64 / distinct;
    let reorder = reordered as f64 / distinct;
    assert!((loss - 0.2).abs() < 0.02, "loss {loss}");
    assert!((dup - 0.1).abs() < 0.02, "dup {dup}");
    assert!((reorder - 0.3).abs() < 0.02, "reorder {reorder}");
    let lost_events = events.iter().filter(|e| e.text.ends_with(" lost")).count();
    assert_eq!(lost_events, 10_000 - seen.len());
    assert_eq!(
        events
            .iter()
            .filter(|e| e.text.ends_with(" duplicated"))
            .count(),
        dups
    );
}

#[test]
fn udp_determinism() {
    let (g1, e1) = udp_run(7);
    let (g2, e2) = udp_run(7);
    let (g3, e3) = udp_run(8);
    assert_eq!(g1, g2);
    assert_eq!(e1, e2);
    assert_ne!(g1, g3);
    assert_ne!(e1, e3);
}

#[test]
fn udp_receive_buffer_overflow_drops() {
    let (mut net, a, b) = two_hosts(1, LinkConfig::default());
    let rx = udp(&mut net, b, "0.0.0.0:7");
    net.set_option(rx, SockOption::ReceiveBufferSize(1000))
        .unwrap();
    let tx = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
    for _ in 0..3 {
        net.send_to(tx, &[0u8; 400], sa("10.0.0.2:7")).unwrap();
    }
    settle(&mut net);
    let mut out = Vec::new();
    let mut n = 0;
    while net.recv(rx, &mut out, 1000, false).is_ok() {
        n += 1;
    }
    assert_eq!(n, 2);
    assert!(
        net.take_events()
            .iter()
            .any(|e| e.text.ends_with("dropped (buffer full)"))
    );
}

#[test]
fn link_stream_independent_of_other_hosts() {
    let cfg = LinkConfig {
        loss: 0.5,
        ..LinkConfig::default()
    };
    let run = |extra: bool| {
        let mut net = Network::new(3, cfg);
        let a = net.add_host("a", &[ip("10.0.0.1")]).unwrap();
        if extra {
            net.add_host("z", &[ip("10.0.0.9")]).unwrap();
        }
        let b = net.add_host("b", &[ip("10.0.0.2")]).unwrap();
        let _ = udp(&mut net, b, "0.0.0.0:7");
        let tx = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
        for _ in 0..50 {
            net.send_to(tx, b"x", sa("10.0.0.2:7")).unwrap();
        }
        settle(&mut net);
        net.take_events()
            .into_iter()
            .map(|e| e.text)
            .collect::<Vec<_>>()
    };
    assert_eq!(run(false), run(true));
}
