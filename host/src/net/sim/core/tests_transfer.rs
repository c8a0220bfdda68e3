//! Long stream transfers over faulty links.

use std::time::Duration;

use super::tests::two_hosts;
use super::tests_tcp::pair;
use super::*;

/// Drive a 10 MiB transfer over a bad link with a partition; returns the
/// receiver's checksum and length, the transcript and the virtual time.
fn big_transfer(seed: u64) -> (u64, usize, Vec<NetEvent>, Duration) {
    let cfg = LinkConfig {
        latency: Duration::from_millis(10),
        bandwidth: Some(10_000_000),
        loss: 0.2,
        duplicate: 0.1,
        reorder: 0.3,
        ..LinkConfig::default()
    };
    let (mut net, a, b) = two_hosts(seed, cfg);
    net.partition(
        &[a],
        &[b],
        Duration::from_secs(1),
        Some(Duration::from_secs(3)),
    );
    let (_, c, s) = pair(&mut net, a, b);
    const TOTAL: usize = 10 << 20;
    let block: Vec<u8> = (0..65_536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut sent = 0usize;
    let mut want = Fnv::default();
    let mut got = Fnv::default();
    let mut received = 0usize;
    let mut buf = Vec::with_capacity(1 << 17);
    let mut closed = false;
    loop {
        while sent < TOTAL {
            let off = sent % block.len();
            let len = (block.len() - off).min(TOTAL - sent);
            match net.send(c, &block[off..off + len]) {
                Ok(n) => {
                    want.feed(&block[off..off + n]);
                    sent += n;
                }
                Err(ErrorCode::WouldBlock) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        if sent == TOTAL && !closed {
            net.shutdown(c, Shutdown::Send).unwrap();
            closed = true;
        }
        let mut eof = false;
        loop {
            buf.clear();
            match net.recv(s, &mut buf, 1 << 17, false) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    got.feed(&buf);
                    received += n;
                }
                Err(ErrorCode::WouldBlock) => break,
                Err(e) => panic!("recv: {e}"),
            }
        }
        if eof {
            break;
        }
        let t = net.next_deadline().expect("transfer stalled");
        net.advance_to(t);
    }
    assert_eq!(want.0, got.0);
    (got.0, received, net.take_events(), net.now())
}

#[derive(Default)]
struct Fnv(u64);

impl Fnv {
    fn feed(&mut self, data: &[u8]) {
        if self.0 == 0 {
            self.0 = 0xcbf2_9ce4_8422_2325;
        }
        for b in data {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[test]
fn ten_mib_over_faulty_link_with_partition() {
    let (sum, len, events, end) = big_transfer(2024);
    assert_eq!(len, 10 << 20);
    assert_ne!(sum, 0);
    assert!(
        events
            .iter()
            .any(|e| e.text.starts_with("partition started: "))
    );
    assert!(events.iter().any(|e| e.text.contains("retransmit seq=")));
    assert!(end > Duration::from_secs(3));
    eprintln!("10 MiB done at {end:?} with {} events", events.len());
}

#[test]
fn tcp_determinism() {
    let run = |seed: u64| {
        let cfg = LinkConfig {
            latency: Duration::from_millis(10),
            jitter: Duration::from_millis(3),
            loss: 0.2,
            duplicate: 0.1,
            reorder: 0.3,
            ..LinkConfig::default()
        };
        let (mut net, a, b) = two_hosts(seed, cfg);
        let (_, c, s) = pair(&mut net, a, b);
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let mut off = 0;
        let mut got = Vec::new();
        while got.len() < data.len() {
            if let Ok(n) = net.send(c, &data[off..]) {
                off += n;
            }
            let _ = net.recv(s, &mut got, 1 << 20, false);
            if let Some(t) = net.next_deadline() {
                net.advance_to(t);
            }
        }
        assert_eq!(got, data);
        (net.take_events(), net.now())
    };
    let (e1, t1) = run(5);
    let (e2, t2) = run(5);
    let (e3, _) = run(6);
    assert_eq!(e1, e2);
    assert_eq!(t1, t2);
    assert_ne!(e1, e3);
}
