//! Tests of multicast membership and delivery.

use std::net::SocketAddr;
use std::time::Duration;

use super::tests::{ip, sa, settle};
use super::*;

const G4: &str = "239.255.77.1";
const G6: &str = "ff12::7761:736f";

fn udp(net: &mut Network, h: HostId, addr: &str) -> SockId {
    let a = sa(addr);
    let s = net.open(h, Family::of(&a), SocketType::Datagram).unwrap();
    net.bind(s, a).unwrap();
    s
}

/// Receive one datagram, if any: `(sender, payload)`.
fn recv(net: &mut Network, s: SockId) -> Option<(SocketAddr, Vec<u8>)> {
    let mut out = Vec::new();
    match net.recv_from(s, &mut out, 100, false) {
        Ok((from, _)) => Some((from, out)),
        Err(ErrorCode::WouldBlock) => None,
        Err(e) => panic!("recv_from: {e}"),
    }
}

/// Hosts a to d (10.0.0.1 to 10.0.0.4, fd00::1 to fd00::4); the link from a
/// to b takes 5 ms, to c 10 ms, to d 1 ms.
fn four_hosts(seed: u64) -> (Network, [HostId; 4]) {
    let mut net = Network::new(seed, LinkConfig::default());
    let mut ids = [HostId(0); 4];
    for (i, id) in ids.iter_mut().enumerate() {
        let name = ["a", "b", "c", "d"][i];
        let addrs = [
            ip(&format!("10.0.0.{}", i + 1)),
            ip(&format!("fd00::{}", i + 1)),
        ];
        *id = net.add_host(name, &addrs).unwrap();
    }
    for (to, ms) in [(1, 5), (2, 10), (3, 1)] {
        let cfg = LinkConfig {
            latency: Duration::from_millis(ms),
            ..LinkConfig::default()
        };
        net.set_link(ids[0], ids[to], cfg);
    }
    (net, ids)
}

/// The conformance program's scenario, on both families: join on
/// loopback, send by loopback from a socket bound to loopback.
#[test]
fn same_host_delivery_over_loopback() {
    for (group, any, lo) in [(G4, "0.0.0.0:0", "127.0.0.1:0"), (G6, "[::]:0", "[::1]:0")] {
        let (mut net, ids) = four_hosts(1);
        let g = ip(group);
        let r = udp(&mut net, ids[0], any);
        let port = net.local_addr(r).unwrap().port();
        net.join_multicast(r, g, LOOPBACK_INTERFACE).unwrap();
        let s = udp(&mut net, ids[0], lo);
        net.set_option(s, SockOption::MulticastInterface(LOOPBACK_INTERFACE))
            .unwrap();
        assert_eq!(
            net.get_option(s, OptionName::MulticastInterface),
            Ok(SockOption::MulticastInterface(LOOPBACK_INTERFACE))
        );
        let to = SocketAddr::new(g, port);
        assert_eq!(net.send_to(s, b"to the group", to), Ok(12));
        // Immediate, like loopback, from the loopback-bound address.
        assert!(net.readiness(r).contains(Readiness::READABLE));
        assert!(net.take_changed().contains(&r));
        let (from, data) = recv(&mut net, r).unwrap();
        assert_eq!(from, net.local_addr(s).unwrap());
        assert_eq!(data, b"to the group");
        // Sent by the loopback interface: nothing crosses a link.
        assert_eq!(net.next_deadline(), None);
        // Loop off: the sender's host gets nothing.
        net.set_option(s, SockOption::MulticastLoop(false)).unwrap();
        net.send_to(s, b"x", to).unwrap();
        settle(&mut net);
        assert_eq!(recv(&mut net, r), None);
        assert!(net.take_error(s).unwrap().is_none());
        // Left: no more delivery.
        net.set_option(s, SockOption::MulticastLoop(true)).unwrap();
        net.leave_multicast(r, g, LOOPBACK_INTERFACE).unwrap();
        net.send_to(s, b"y", to).unwrap();
        settle(&mut net);
        assert_eq!(recv(&mut net, r), None);
    }
}

/// Only members bound to the port with the unspecified address or the
/// group itself receive; the sender gets its own copy when it is one.
#[test]
fn same_host_delivery_filters() {
    let (mut net, ids) = four_hosts(1);
    let g = ip("239.1.2.3");
    let on_group = udp(&mut net, ids[0], "239.1.2.3:7000");
    let on_other_group = udp(&mut net, ids[0], "239.1.2.4:7000");
    let other_port = udp(&mut net, ids[0], "0.0.0.0:7001");
    let not_member = udp(&mut net, ids[0], "10.0.0.1:7000");
    for s in [on_group, on_other_group, other_port] {
        net.join_multicast(s, g, 0).unwrap();
    }
    let s = udp(&mut net, ids[0], "0.0.0.0:7002");
    net.join_multicast(s, g, 0).unwrap();
    net.send_to(s, b"a", sa("239.1.2.3:7000")).unwrap();
    net.send_to(s, b"b", sa("239.1.2.3:7002")).unwrap();
    let (from, data) = recv(&mut net, on_group).unwrap();
    assert_eq!((from, data), (sa("10.0.0.1:7002"), b"a".to_vec()));
    let (from, data) = recv(&mut net, s).unwrap();
    assert_eq!((from, data), (sa("10.0.0.1:7002"), b"b".to_vec()));
    for x in [on_group, on_other_group, other_port, not_member, s] {
        assert_eq!(recv(&mut net, x), None);
    }
    // A socket bound to a group still sends from the host's address.
    net.send_to(on_group, b"c", sa("10.0.0.1:7000")).unwrap();
    let (from, _) = recv(&mut net, not_member).unwrap();
    assert_eq!(from, sa("10.0.0.1:7000"));
    // Streams cannot bind a group.
    let t = net.open(ids[0], Family::Ipv4, SocketType::Stream).unwrap();
    assert_eq!(
        net.bind(t, sa("239.1.2.3:80")),
        Err(ErrorCode::AddressNotAvailable)
    );
}

#[test]
fn cross_host_delivery_to_members_only() {
    let (mut net, [a, b, c, d]) = four_hosts(1);
    let g = ip(G4);
    let rb = udp(&mut net, b, "0.0.0.0:7000");
    let rc = udp(&mut net, c, "0.0.0.0:7000");
    let rd = udp(&mut net, d, "0.0.0.0:7000");
    net.join_multicast(rb, g, NETWORK_INTERFACE).unwrap();
    net.join_multicast(rc, g, 0).unwrap();
    let s = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
    // Connected to the group: no listener needed, no port unreachable.
    net.connect(s, SocketAddr::new(g, 7000)).unwrap();
    assert_eq!(net.send(s, b"hello"), Ok(5));
    net.take_changed();
    assert_eq!(net.next_deadline(), Some(Duration::from_millis(5)));
    net.advance_to(Duration::from_millis(5));
    assert_eq!(net.take_changed(), vec![rb]);
    let (from, data) = recv(&mut net, rb).unwrap();
    assert_eq!(from.ip(), ip("10.0.0.1"));
    assert_eq!(data, b"hello");
    assert_eq!(recv(&mut net, rc), None);
    assert_eq!(net.next_deadline(), Some(Duration::from_millis(10)));
    net.advance_to(Duration::from_millis(10));
    assert_eq!(recv(&mut net, rc).unwrap().1, b"hello");
    settle(&mut net);
    assert_eq!(recv(&mut net, rd), None);
    assert_eq!(net.take_error(s), Ok(None));
    // No copy went towards d, the non-member host.
    assert!(net.take_events().is_empty());
    // A partition cuts c's copy only.
    let now = net.now();
    net.partition(&[a], &[c], now, None);
    net.advance_to(now);
    net.send(s, b"again").unwrap();
    settle(&mut net);
    assert_eq!(recv(&mut net, rb).unwrap().1, b"again");
    assert_eq!(recv(&mut net, rc), None);
    let texts: Vec<String> = net.take_events().into_iter().map(|e| e.text).collect();
    assert_eq!(
        texts,
        vec![
            "partition started: a | c".to_string(),
            format!(
                "udp {} -> 239.255.77.1:7000 (for c) dropped (partition)",
                from
            ),
        ]
    );
    // Sent by the loopback interface, it stays on a.
    net.set_option(s, SockOption::MulticastInterface(LOOPBACK_INTERFACE))
        .unwrap();
    net.send(s, b"local").unwrap();
    assert_eq!(net.next_deadline(), None);
}

#[test]
fn cross_host_copies_fault_independently() {
    let (mut net, [a, b, c, _]) = four_hosts(3);
    let lossy = LinkConfig {
        latency: Duration::from_millis(10),
        loss: 0.5,
        ..LinkConfig::default()
    };
    net.set_link(a, c, lossy);
    let g = ip(G6);
    let rb = udp(&mut net, b, "[::]:9");
    let rc = udp(&mut net, c, "[ff12::7761:736f]:9");
    net.join_multicast(rb, g, 0).unwrap();
    net.join_multicast(rc, g, 0).unwrap();
    let s = udp(&mut net, a, "[::]:0");
    for i in 0..100u8 {
        net.send_to(s, &[i], sa("[ff12::7761:736f]:9")).unwrap();
    }
    settle(&mut net);
    let mut got_b = Vec::new();
    while let Some((from, data)) = recv(&mut net, rb) {
        assert_eq!(from.ip(), ip("fd00::1"));
        got_b.extend(data);
    }
    let mut got_c = 0;
    while recv(&mut net, rc).is_some() {
        got_c += 1;
    }
    assert_eq!(got_b, (0..100).collect::<Vec<u8>>());
    assert!((20..80).contains(&got_c), "{got_c}");
}

#[test]
fn join_and_leave_errors() {
    let (mut net, ids) = four_hosts(1);
    let g = ip(G4);
    let t = net.open(ids[0], Family::Ipv4, SocketType::Stream).unwrap();
    for r in [net.join_multicast(t, g, 0), net.leave_multicast(t, g, 0)] {
        assert_eq!(r, Err(ErrorCode::ProtocolOptionNotSupported));
    }
    let u = net
        .open(ids[0], Family::Ipv4, SocketType::Datagram)
        .unwrap();
    assert_eq!(
        net.join_multicast(u, ip(G6), 0),
        Err(ErrorCode::AddressFamilyNotSupported)
    );
    assert_eq!(
        net.join_multicast(u, ip("10.0.0.1"), 0),
        Err(ErrorCode::InvalidArgument)
    );
    assert_eq!(
        net.leave_multicast(u, ip("10.0.0.1"), 0),
        Err(ErrorCode::InvalidArgument)
    );
    assert_eq!(
        net.join_multicast(u, g, 3),
        Err(ErrorCode::AddressNotAvailable)
    );
    assert_eq!(
        net.leave_multicast(u, g, 0),
        Err(ErrorCode::AddressNotAvailable)
    );
    // Index 0 is the network interface.
    net.join_multicast(u, g, 0).unwrap();
    assert_eq!(
        net.join_multicast(u, g, NETWORK_INTERFACE),
        Err(ErrorCode::AddressInUse)
    );
    net.join_multicast(u, g, LOOPBACK_INTERFACE).unwrap();
    assert_eq!(
        net.join_multicast(u, g, LOOPBACK_INTERFACE),
        Err(ErrorCode::AddressInUse)
    );
    net.join_multicast(u, ip("239.0.0.2"), LOOPBACK_INTERFACE)
        .unwrap();
    // Memberships leave the multicast-interface option alone.
    assert_eq!(
        net.get_option(u, OptionName::MulticastInterface),
        Ok(SockOption::MulticastInterface(0))
    );
    net.leave_multicast(u, g, NETWORK_INTERFACE).unwrap();
    assert_eq!(
        net.leave_multicast(u, g, NETWORK_INTERFACE),
        Err(ErrorCode::AddressNotAvailable)
    );
    // Index 0 leaves whichever membership there is.
    net.leave_multicast(u, g, 0).unwrap();
    assert_eq!(
        net.leave_multicast(u, g, LOOPBACK_INTERFACE),
        Err(ErrorCode::AddressNotAvailable)
    );
    net.leave_multicast(u, ip("239.0.0.2"), LOOPBACK_INTERFACE)
        .unwrap();
    let v = net
        .open(ids[0], Family::Ipv6, SocketType::Datagram)
        .unwrap();
    assert_eq!(
        net.join_multicast(v, g, 0),
        Err(ErrorCode::AddressFamilyNotSupported)
    );
    net.join_multicast(v, ip(G6), LOOPBACK_INTERFACE).unwrap();
    assert_eq!(
        net.join_multicast(v, ip(G6), LOOPBACK_INTERFACE),
        Err(ErrorCode::AddressInUse)
    );
    assert_eq!(
        net.join_multicast(SockId(999), g, 0),
        Err(ErrorCode::InvalidArgument)
    );
}

/// Multicast over faulty links: one run's received datagrams and
/// transcript.
fn faulty_run(seed: u64) -> (Vec<(usize, u8)>, Vec<NetEvent>) {
    let (mut net, [a, b, c, d]) = four_hosts(seed);
    let cfg = LinkConfig {
        latency: Duration::from_millis(3),
        jitter: Duration::from_millis(2),
        loss: 0.2,
        duplicate: 0.2,
        reorder: 0.3,
        ..LinkConfig::default()
    };
    for h in [b, c, d] {
        net.set_link(a, h, cfg);
    }
    let g = ip(G4);
    let rs: Vec<SockId> = [a, b, c, d]
        .iter()
        .map(|h| udp(&mut net, *h, "0.0.0.0:5353"))
        .collect();
    for r in &rs[..3] {
        net.join_multicast(*r, g, 0).unwrap();
    }
    let s = udp(&mut net, a, "0.0.0.0:0");
    let mut got = Vec::new();
    for i in 0..50u8 {
        net.send_to(s, &[i], sa("239.255.77.1:5353")).unwrap();
        net.advance_to(net.now() + Duration::from_millis(1));
        for (k, r) in rs.iter().enumerate() {
            while let Some((_, data)) = recv(&mut net, *r) {
                got.extend(data.into_iter().map(|x| (k, x)));
            }
        }
    }
    settle(&mut net);
    for (k, r) in rs.iter().enumerate() {
        while let Some((_, data)) = recv(&mut net, *r) {
            got.extend(data.into_iter().map(|x| (k, x)));
        }
    }
    assert!(got.iter().all(|(k, _)| *k < 3), "a non-member got one");
    (got, net.take_events())
}

#[test]
fn multicast_is_deterministic() {
    let (got, events) = faulty_run(7);
    assert_eq!(faulty_run(7), (got.clone(), events.clone()));
    // The sender's host gets every datagram at once; the others lose some.
    let own: Vec<u8> = got.iter().filter(|(k, _)| *k == 0).map(|x| x.1).collect();
    assert_eq!(own, (0..50).collect::<Vec<u8>>());
    assert!(events.iter().any(|e| e.text.ends_with("(for b) lost")));
    assert!(
        events
            .iter()
            .any(|e| e.text.ends_with("(for c) duplicated"))
    );
    assert_ne!(faulty_run(8).1, events);
}
