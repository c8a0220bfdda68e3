//! Tests of stream sockets.

use std::time::Duration;

use super::tests::{sa, settle, two_hosts};
use super::*;

const R: Readiness = Readiness::READABLE;
const W: Readiness = Readiness::WRITABLE;
const H: Readiness = Readiness::HANG_UP;
const E: Readiness = Readiness::ERROR;

fn lat(ms: u64) -> LinkConfig {
    LinkConfig {
        latency: Duration::from_millis(ms),
        ..LinkConfig::default()
    }
}

/// A listener on b:80 and a client on a, connected and accepted.
pub(super) fn pair(net: &mut Network, a: HostId, b: HostId) -> (SockId, SockId, SockId) {
    let l = net.open(b, Family::Ipv4, SocketType::Stream).unwrap();
    net.bind(l, sa("0.0.0.0:80")).unwrap();
    net.listen(l, 0).unwrap();
    let c = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    assert_eq!(
        net.connect(c, sa("10.0.0.2:80")),
        Ok(ConnectState::InProgress)
    );
    assert_eq!(net.readiness(c), Readiness::EMPTY);
    settle(net);
    assert_eq!(net.connect_state(c), Ok(ConnectState::Connected));
    let (s, peer) = net.accept(l).unwrap();
    assert_eq!(peer, net.local_addr(c).unwrap());
    assert_eq!(net.peer_addr(s).unwrap(), peer);
    assert_eq!(net.peer_addr(c).unwrap(), sa("10.0.0.2:80"));
    assert_eq!(net.local_addr(s).unwrap(), sa("10.0.0.2:80"));
    (l, c, s)
}

fn recv_all(net: &mut Network, s: SockId) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(n) = net.recv(s, &mut out, 1 << 20, false) {
        if n == 0 {
            break;
        }
    }
    out
}

#[test]
fn handshake_data_fin() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, s) = pair(&mut net, a, b);
    assert_eq!(net.now(), Duration::from_millis(20));
    assert_eq!(net.readiness(c), W);
    let mut out = Vec::new();
    assert_eq!(net.recv(s, &mut out, 10, false), Err(ErrorCode::WouldBlock));
    assert_eq!(net.send(c, b"hello"), Ok(5));
    net.shutdown(c, Shutdown::Send).unwrap();
    assert_eq!(net.send(c, b"more"), Err(ErrorCode::ShutDown));
    net.shutdown(c, Shutdown::Send).unwrap();
    settle(&mut net);
    assert_eq!(net.readiness(s), R | W);
    assert_eq!(net.bytes_available(s), Ok(5));
    assert_eq!(net.recv(s, &mut out, 3, true), Ok(3));
    assert_eq!(net.recv(s, &mut out, 10, false), Ok(5));
    assert_eq!(out, b"helhello");
    assert_eq!(net.readiness(s), R | W | H);
    assert_eq!(net.recv(s, &mut out, 10, false), Ok(0));
    assert_eq!(net.recv(s, &mut out, 10, false), Ok(0));
    // Half-close: the other direction still works.
    net.send(s, b"bye").unwrap();
    net.close(s);
    settle(&mut net);
    assert_eq!(recv_all(&mut net, c), b"bye");
    assert!(net.readiness(c).contains(R | H));
    let events: Vec<String> = net.take_events().into_iter().map(|e| e.text).collect();
    assert_eq!(
        events,
        vec![
            "tcp 10.0.0.1:49152 -> 10.0.0.2:80 connect",
            "tcp 10.0.0.1:49152 -> 10.0.0.2:80 established",
            "tcp 10.0.0.2:80 -> 10.0.0.1:49152 accept",
            "tcp 10.0.0.1:49152 -> 10.0.0.2:80 fin",
            "tcp 10.0.0.2:80 -> 10.0.0.1:49152 close",
            "tcp 10.0.0.2:80 -> 10.0.0.1:49152 fin",
        ]
    );
    // The closed socket is gone once both FINs are through.
    assert_eq!(net.readiness(s), Readiness::EMPTY);
}

#[test]
fn loopback_connect_completes_in_call() {
    let (mut net, a, _) = two_hosts(1, lat(10));
    let l = net.open(a, Family::Ipv6, SocketType::Stream).unwrap();
    net.bind(l, sa("[::1]:8080")).unwrap();
    net.listen(l, 1).unwrap();
    let c = net.open(a, Family::Ipv6, SocketType::Stream).unwrap();
    assert_eq!(
        net.connect(c, sa("[::1]:8080")),
        Ok(ConnectState::Connected)
    );
    assert_eq!(net.readiness(l), R);
    let (s, _) = net.accept(l).unwrap();
    net.send(c, b"abc").unwrap();
    assert_eq!(net.readiness(s), R | W);
    assert_eq!(recv_all(&mut net, s).len(), 3);
    assert_eq!(net.now(), Duration::ZERO);
    // Same for the host's own address.
    let c2 = net.open(a, Family::Ipv6, SocketType::Stream).unwrap();
    assert_eq!(
        net.connect(c2, sa("[fd00::1]:8080")),
        Err(ErrorCode::AddressNotAvailable).or(Ok(ConnectState::InProgress))
    );
}

#[test]
fn refused_then_reconnect() {
    let (mut net, a, _) = two_hosts(1, lat(10));
    let c = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    net.connect(c, sa("10.0.0.2:81")).unwrap();
    assert_eq!(net.connect(c, sa("10.0.0.2:81")), Err(ErrorCode::Already));
    net.advance_to(Duration::from_millis(19));
    assert_eq!(net.connect_state(c), Ok(ConnectState::InProgress));
    net.advance_to(Duration::from_millis(20));
    assert_eq!(net.readiness(c), R | W | H | E);
    assert_eq!(net.connect_state(c), Err(ErrorCode::ConnectionRefused));
    assert_eq!(net.take_error(c), Ok(None));
    assert_eq!(net.readiness(c), R | W | H);
    assert_eq!(net.listen(c, 1), Err(ErrorCode::InvalidArgument));
    let events: Vec<String> = net.take_events().into_iter().map(|e| e.text).collect();
    assert_eq!(events[1], "tcp 10.0.0.1:49152 -> 10.0.0.2:81 refused");
    assert_eq!(events[2], "tcp 10.0.0.1:49152 -> 10.0.0.2:81 refused");
}

#[test]
fn connect_timeout_to_unknown_address() {
    let (mut net, a, _) = two_hosts(1, lat(10));
    let c = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    net.connect(c, sa("10.9.9.9:80")).unwrap();
    net.advance_to(Duration::from_secs(74));
    assert_eq!(net.connect_state(c), Ok(ConnectState::InProgress));
    settle(&mut net);
    assert_eq!(net.now(), CONNECT_TIMEOUT);
    assert_eq!(net.connect_state(c), Err(ErrorCode::TimedOut));
    let n = net
        .take_events()
        .iter()
        .filter(|e| e.text.ends_with("syn retransmit"))
        .count();
    assert_eq!(n, 6); // at 1, 3, 7, 15, 31, 63 s
    let u = net.open(a, Family::Ipv6, SocketType::Stream).unwrap();
    let mut net2 = Network::new(1, LinkConfig::default());
    let h = net2
        .add_host("v4only", &["10.1.1.1".parse().unwrap()])
        .unwrap();
    let u2 = net2.open(h, Family::Ipv6, SocketType::Stream).unwrap();
    assert_eq!(
        net2.connect(u2, sa("[fd00::2]:80")),
        Err(ErrorCode::NetworkUnreachable)
    );
    let _ = u;
}

#[test]
fn handshake_survives_loss_and_backlog() {
    let cfg = LinkConfig {
        loss: 0.5,
        ..lat(5)
    };
    let (mut net, a, b) = two_hosts(9, cfg);
    let l = net.open(b, Family::Ipv4, SocketType::Stream).unwrap();
    net.listen(l, 2).unwrap();
    let port = net.local_addr(l).unwrap().port();
    let mut clients = Vec::new();
    for _ in 0..4 {
        let c = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
        net.connect(c, sa(&format!("10.0.0.2:{port}"))).unwrap();
        clients.push(c);
    }
    let mut accepted = 0;
    for _ in 0..2000 {
        let Some(t) = net.next_deadline() else { break };
        net.advance_to(t);
        while net.accept(l).is_ok() {
            accepted += 1;
        }
        if accepted == 4
            && clients
                .iter()
                .all(|c| net.connect_state(*c) == Ok(ConnectState::Connected))
        {
            break;
        }
    }
    assert_eq!(accepted, 4);
}

#[test]
fn reset_on_close_with_unread_data() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, s) = pair(&mut net, a, b);
    net.send(c, b"unread").unwrap();
    settle(&mut net);
    net.close(s);
    settle(&mut net);
    assert_eq!(net.readiness(c), R | W | H | E);
    let mut out = Vec::new();
    assert_eq!(
        net.recv(c, &mut out, 10, false),
        Err(ErrorCode::ConnectionReset)
    );
    assert_eq!(net.readiness(c), R | W | H);
    assert_eq!(net.recv(c, &mut out, 10, false), Ok(0));
    assert_eq!(net.send(c, b"x"), Err(ErrorCode::ConnectionReset));
    assert_eq!(net.peer_addr(c), Err(ErrorCode::NotConnected));
}

#[test]
fn reset_on_linger_zero_discards_received_data() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, s) = pair(&mut net, a, b);
    net.send(s, b"data the client never reads").unwrap();
    net.set_option(s, SockOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    settle(&mut net);
    assert_eq!(net.bytes_available(c), Ok(27));
    net.close(s);
    settle(&mut net);
    assert_eq!(net.bytes_available(c), Ok(0));
    assert_eq!(net.send(c, b"x"), Err(ErrorCode::ConnectionReset));
}

#[test]
fn data_to_closed_socket_draws_reset() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, s) = pair(&mut net, a, b);
    net.close(s);
    settle(&mut net);
    assert_eq!(net.readiness(c), R | W | H);
    net.send(c, b"late").unwrap();
    settle(&mut net);
    assert_eq!(net.take_error(c), Ok(Some(ErrorCode::ConnectionReset)));
}

#[test]
fn closing_listener_resets_pending() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let l = net.open(b, Family::Ipv4, SocketType::Stream).unwrap();
    net.bind(l, sa("10.0.0.2:80")).unwrap();
    net.listen(l, 4).unwrap();
    let c = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    net.connect(c, sa("10.0.0.2:80")).unwrap();
    settle(&mut net);
    assert_eq!(net.connect_state(c), Ok(ConnectState::Connected));
    net.close(l);
    settle(&mut net);
    let mut out = Vec::new();
    assert_eq!(
        net.recv(c, &mut out, 10, false),
        Err(ErrorCode::ConnectionReset)
    );
    // The port is free again.
    let l2 = net.open(b, Family::Ipv4, SocketType::Stream).unwrap();
    net.bind(l2, sa("0.0.0.0:80")).unwrap();
}

#[test]
fn flow_control_blocks_and_resumes() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, s) = pair(&mut net, a, b);
    let chunk = vec![7u8; 100_000];
    let mut sent = 0usize;
    loop {
        match net.send(c, &chunk) {
            Ok(n) => sent += n,
            Err(ErrorCode::WouldBlock) => {
                assert!(!net.readiness(c).contains(W));
                let Some(t) = net.next_deadline() else { break };
                net.advance_to(t);
                if net.readiness(c).contains(W) {
                    continue;
                }
                settle(&mut net);
                if !net.readiness(c).contains(W) {
                    break;
                }
            }
            Err(e) => panic!("{e}"),
        }
    }
    // Receive buffer plus send buffer are full.
    assert_eq!(sent as u64, 2 * DEFAULT_BUFFER);
    assert_eq!(net.send(c, b"x"), Err(ErrorCode::WouldBlock));
    assert_eq!(net.bytes_available(s), Ok(DEFAULT_BUFFER as usize));
    let mut out = Vec::new();
    net.recv(s, &mut out, 10_000, false).unwrap();
    settle(&mut net);
    assert!(net.readiness(c).contains(W));
    assert!(net.send(c, &chunk).is_ok());
}

#[test]
fn close_delivers_queued_data_in_background() {
    let cfg = LinkConfig {
        loss: 0.3,
        ..lat(10)
    };
    let (mut net, a, b) = two_hosts(5, cfg);
    let (_, c, s) = pair(&mut net, a, b);
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(net.send(c, &data), Ok(data.len()));
    net.close(c);
    let mut got = Vec::new();
    loop {
        match net.recv(s, &mut got, 1 << 16, false) {
            Ok(0) => break,
            Ok(_) => {}
            Err(ErrorCode::WouldBlock) => {
                let t = net.next_deadline().expect("stalled");
                net.advance_to(t);
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, data);
    net.close(s);
    settle(&mut net);
    assert_eq!(net.sockets.len(), 1); // only the listener is left
    assert_eq!(net.pending_events(), 0);
}

#[test]
fn data_timeout_under_permanent_partition() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, _s) = pair(&mut net, a, b);
    net.partition(&[a], &[b], Duration::from_secs(1), None);
    net.advance_to(Duration::from_secs(1));
    net.send(c, b"into the void").unwrap();
    net.advance_to(Duration::from_secs(100));
    assert!(net.readiness(c).contains(W));
    settle(&mut net);
    assert_eq!(net.readiness(c), R | W | H | E);
    assert_eq!(net.take_error(c), Ok(Some(ErrorCode::ConnectionAborted)));
    assert!(net.now() >= Duration::from_secs(101));
}

#[test]
fn one_way_partition_starves_both_directions_of_a_stream() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, s) = pair(&mut net, a, b);
    // What b sends reaches a, but a's acknowledgements do not reach b.
    net.partition_one_way(&[a], &[b], Duration::from_secs(1), None);
    net.advance_to(Duration::from_secs(1));
    net.send(s, b"heard, never acknowledged").unwrap();
    net.advance_to(Duration::from_secs(2));
    assert_eq!(recv_all(&mut net, c), b"heard, never acknowledged");
    settle(&mut net);
    assert_eq!(net.take_error(s), Ok(Some(ErrorCode::ConnectionAborted)));
    // The other way the data itself is dropped, with the same end.
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, s) = pair(&mut net, a, b);
    net.partition_one_way(&[b], &[a], Duration::from_secs(1), None);
    net.advance_to(Duration::from_secs(1));
    net.send(s, b"dropped").unwrap();
    settle(&mut net);
    assert_eq!(recv_all(&mut net, c), b"");
    assert_eq!(net.take_error(s), Ok(Some(ErrorCode::ConnectionAborted)));
}

#[test]
fn an_acknowledgement_cut_by_a_later_partition_is_retransmitted_for() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, s) = pair(&mut net, a, b);
    net.advance_to(Duration::from_secs(1));
    net.send(s, b"left before the cut").unwrap();
    // Declared after the segment left: it arrives at 1.010 s, and its
    // acknowledgement is dropped until the cut heals at 3 s.
    net.partition_one_way(
        &[a],
        &[b],
        Duration::from_millis(1005),
        Some(Duration::from_secs(3)),
    );
    settle(&mut net);
    assert_eq!(recv_all(&mut net, c), b"left before the cut");
    let inflight = net.sockets[&s].tcp().map(|t| t.inflight.len());
    assert_eq!(inflight, Some(0), "acknowledged once the cut healed");
    assert_eq!(net.take_error(s), Ok(None));
}

#[test]
fn keepalive_detects_partition() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, s) = pair(&mut net, a, b);
    net.set_option(c, SockOption::KeepAlive(true)).unwrap();
    net.set_option(c, SockOption::KeepAliveIdle(Duration::from_secs(10)))
        .unwrap();
    net.set_option(c, SockOption::KeepAliveInterval(Duration::from_secs(2)))
        .unwrap();
    net.set_option(c, SockOption::KeepAliveCount(3)).unwrap();
    net.advance_to(Duration::from_secs(25));
    assert!(net.take_error(c).unwrap().is_none());
    net.partition(&[a], &[b], Duration::from_secs(26), None);
    net.advance_to(Duration::from_secs(60));
    let mut out = Vec::new();
    assert_eq!(
        net.recv(c, &mut out, 1, false),
        Err(ErrorCode::ConnectionAborted)
    );
    assert_eq!(net.recv(s, &mut out, 1, false), Err(ErrorCode::WouldBlock));
}

#[test]
fn state_errors() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let u = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    let mut out = Vec::new();
    assert_eq!(net.readiness(u), W | H);
    assert_eq!(net.send(u, b"x"), Err(ErrorCode::NotConnected));
    assert_eq!(
        net.recv(u, &mut out, 1, false),
        Err(ErrorCode::NotConnected)
    );
    assert_eq!(
        net.shutdown(u, Shutdown::Both),
        Err(ErrorCode::NotConnected)
    );
    assert_eq!(net.accept(u), Err(ErrorCode::InvalidArgument));
    assert_eq!(net.disconnect(u), Err(ErrorCode::NotSupported));
    assert_eq!(
        net.send_to(u, b"x", sa("10.0.0.2:1")),
        Err(ErrorCode::NotSupported)
    );
    assert_eq!(
        net.connect(u, sa("0.0.0.0:80")),
        Err(ErrorCode::AddressNotAvailable)
    );
    assert_eq!(
        net.connect(u, sa("[fd00::2]:80")),
        Err(ErrorCode::AddressFamilyNotSupported)
    );
    let (l, c, s) = pair(&mut net, a, b);
    assert_eq!(net.bytes_available(l), Err(ErrorCode::InvalidArgument));
    assert_eq!(
        net.connect(l, sa("10.0.0.1:1")),
        Err(ErrorCode::InvalidArgument)
    );
    assert_eq!(net.listen(l, 5), Ok(()));
    assert_eq!(net.listen(c, 5), Err(ErrorCode::AlreadyConnected));
    assert_eq!(
        net.connect(c, sa("10.0.0.2:80")),
        Err(ErrorCode::AlreadyConnected)
    );
    assert_eq!(
        net.bind(c, sa("10.0.0.1:0")),
        Err(ErrorCode::InvalidArgument)
    );
    net.shutdown(s, Shutdown::Receive).unwrap();
    assert_eq!(net.recv(s, &mut out, 1, false), Err(ErrorCode::ShutDown));
    assert!(net.readiness(s).contains(R));
    // Data after shutdown(Receive) is discarded, and does not block the sender.
    net.send(c, &[1u8; 300_000]).unwrap();
    settle(&mut net);
    assert!(net.readiness(c).contains(W));
    let d = net.open(a, Family::Ipv4, SocketType::Datagram).unwrap();
    assert_eq!(net.listen(d, 1), Err(ErrorCode::NotSupported));
    assert_eq!(
        net.shutdown(d, Shutdown::Send),
        Err(ErrorCode::NotConnected)
    );
}

#[test]
fn host_down_closes_everything() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, s) = pair(&mut net, a, b);
    net.send(s, b"unread by a").unwrap();
    settle(&mut net);
    net.host_down(a);
    settle(&mut net);
    assert_eq!(net.readiness(c), Readiness::EMPTY);
    assert_eq!(net.take_error(s), Ok(Some(ErrorCode::ConnectionReset)));
}

#[test]
fn a_crashed_host_goes_silent_and_after_its_restart_resets_old_connections() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (l, c, s) = pair(&mut net, a, b);
    net.advance_to(Duration::from_secs(1));
    net.crash_host(b);
    // Gone without a word: a's side sees nothing yet.
    assert!(!net.sockets.contains_key(&s) && !net.sockets.contains_key(&l));
    assert_eq!(net.readiness(c), W);
    // What a sends is lost while b is down: retransmitted, unanswered.
    net.send(c, b"anyone there?").unwrap();
    net.advance_to(Duration::from_secs(5));
    assert_eq!(net.take_error(c), Ok(None));
    net.restart_host(b);
    // Back, knowing nothing of the connection: the next retransmission
    // is answered with a reset.
    settle(&mut net);
    assert_eq!(net.take_error(c), Ok(Some(ErrorCode::ConnectionReset)));
    let texts: Vec<String> = net
        .take_events()
        .into_iter()
        .filter(|e| e.text.starts_with("host "))
        .map(|e| format!("{:?} {} {}", e.at, e.host, e.text))
        .collect();
    assert_eq!(texts, ["1s b host down (crash)", "5s b host up (restart)"]);
    // A new listener on b serves new connections.
    let (_, c2, _) = pair(&mut net, a, b);
    assert_eq!(net.connect_state(c2), Ok(ConnectState::Connected));
}

#[test]
fn a_segment_on_the_wire_when_its_host_crashes_is_retransmitted() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, _) = pair(&mut net, a, b);
    net.advance_to(Duration::from_secs(1));
    net.send(c, b"arrives at a host gone").unwrap();
    // Lands at 1.010 s, on a host down since 1.005 s.
    net.advance_to(Duration::from_millis(1005));
    net.crash_host(b);
    net.advance_to(Duration::from_secs(3));
    net.restart_host(b);
    // Retransmitted after the restart, it meets no socket: a reset.
    settle(&mut net);
    assert_eq!(net.take_error(c), Ok(Some(ErrorCode::ConnectionReset)));
}

#[test]
fn a_host_down_for_good_times_its_peers_out() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, _) = pair(&mut net, a, b);
    net.crash_host(b);
    net.send(c, b"into the void").unwrap();
    settle(&mut net);
    assert_eq!(net.take_error(c), Ok(Some(ErrorCode::ConnectionAborted)));
    // A connect to it times out.
    let c2 = net.open(a, Family::Ipv4, SocketType::Stream).unwrap();
    net.connect(c2, sa("10.0.0.2:80")).unwrap();
    settle(&mut net);
    assert_eq!(net.connect_state(c2), Err(ErrorCode::TimedOut));
}

/// A readiness check after every step: what readiness claims, the
/// operations do (checked with peeks and zero-size sends).
fn check_truthful(net: &mut Network, s: SockId) {
    let r = net.readiness(s);
    let mut out = Vec::new();
    let rec = net.recv(s, &mut out, 1, true);
    assert_eq!(
        r.contains(R),
        rec != Err(ErrorCode::WouldBlock),
        "{r:?} {rec:?}"
    );
    if rec.is_err() && rec != Err(ErrorCode::WouldBlock) {
        return; // the error was consumed
    }
    let snd = net.send(s, &[0u8]);
    assert_eq!(
        r.contains(W),
        snd != Err(ErrorCode::WouldBlock),
        "{r:?} {snd:?}"
    );
}

#[test]
fn readiness_is_truthful() {
    let cfg = LinkConfig {
        loss: 0.1,
        ..lat(3)
    };
    let (mut net, a, b) = two_hosts(11, cfg);
    let (_, c, s) = pair(&mut net, a, b);
    net.set_option(c, SockOption::SendBufferSize(5000)).unwrap();
    net.set_option(s, SockOption::ReceiveBufferSize(3000))
        .unwrap();
    for i in 0..400u32 {
        match i % 7 {
            0 | 3 => {
                let _ = net.send(c, &[1u8; 1700]);
            }
            1 => {
                let mut out = Vec::new();
                let _ = net.recv(s, &mut out, 900, false);
            }
            5 if i > 300 => {
                let _ = net.shutdown(c, Shutdown::Send);
            }
            _ => {
                if let Some(t) = net.next_deadline() {
                    net.advance_to(t);
                }
            }
        }
        check_truthful(&mut net, s);
        check_truthful(&mut net, c);
    }
}

#[test]
fn rearming_keepalive_leaves_no_stale_timer_keys() {
    let (mut net, a, b) = two_hosts(1, lat(10));
    let (_, c, _) = pair(&mut net, a, b);
    net.set_option(c, SockOption::KeepAlive(true)).unwrap();
    for i in 1..=50u64 {
        net.set_option(c, SockOption::KeepAliveIdle(Duration::from_secs(i)))
            .unwrap();
    }
    // Only the one live keep-alive timer is recorded against the socket.
    let timers = &net.sockets[&c].timers;
    assert_eq!(timers.len(), 1, "stale timer keys: {timers:?}");
    let ka = net.sockets[&c].tcp().and_then(|t| t.ka_timer);
    assert_eq!(timers.first().copied(), ka);
}
