//! Denial and limit log lines that a flood cannot multiply. Every denial
//! is counted (see `InstanceStats`); its log line is written at most once a
//! second per operation and destination (a peer's address, for the
//! operations that filter peers, whose ports are their own), or host name,
//! and a limit's refusal line at most once a second per limit; the next
//! line that is written says how many like it were left out meanwhile,
//! and the instance's end says what was left out after the last ones.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::policy::Operation;

/// Shortest time between two log lines of one (operation, address or name).
pub(crate) const WINDOW: Duration = Duration::from_secs(1);

/// Most (operation, address or name) pairs remembered; past it, pairs not
/// logged for a window are forgotten, and a pair that finds no room is
/// logged every time.
const MAX_PAIRS: usize = 4096;

/// What a denial was about, for telling like denials apart: an address
/// (any port: a flood comes from many), or a host name, kept as a hash of
/// itself (so that a remembered name costs what an address does; two names
/// that share a hash share their allowance, which only ever leaves a line
/// out, never a count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Denied {
    /// A peer's IP address, any port (IPv4-mapped ones as the IPv4
    /// address they carry): a flood comes from many ports.
    Ip(IpAddr),
    /// An address and port the guest chose (a bind, a destination): a
    /// denial on another port is another line, likely decided by another
    /// rule.
    Addr(SocketAddr),
    /// A host name's hash.
    Name(u64),
}

impl Denied {
    /// The host name `name` (as the policy checked it, normalised).
    pub(crate) fn name(name: &str) -> Denied {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        Denied::Name(BuildHasherDefault::<DefaultHasher>::default().hash_one(name))
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::Ip(ip) => write!(f, "{ip}"),
            Denied::Addr(addr) => write!(f, "{addr}"),
            Denied::Name(_) => f.write_str("a name"),
        }
    }
}

/// A limit of an instance whose refusals are logged (as a guest that
/// meets one often retries at once, a line each time would flood).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Limit {
    /// Sockets held at once (`--max-sockets`).
    Sockets,
    /// Poll sets alive at once.
    PollSets,
    /// Name lookups under way at once.
    LookupsInFlight,
    /// Lookup resources alive at once.
    LookupsAlive,
    /// WASI 0.3 socket calls waiting at once.
    #[cfg(feature = "wasi-0-3")]
    PendingCalls,
}

/// What a rate-limited line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Line {
    /// A denial of an operation on an address or name.
    Denial(Operation, Denied),
    /// A refusal at a limit.
    Limit(Limit),
}

/// When each kind of line was last logged, and what was left out since.
#[derive(Default)]
pub(crate) struct DenialLog {
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    seen: HashMap<Line, Seen>,
    /// Lines left out under kinds forgotten to make room: still told at
    /// the end.
    forgotten: u64,
}

struct Seen {
    logged_at: Instant,
    left_out: u64,
}

impl DenialLog {
    /// A line about `key` at `now`: `Some(n)` to write it, after saying
    /// that `n` like it were left out since the last one; `None` to leave
    /// it out. With the table full (a scan of many ports of one host), a
    /// destination is counted under its address with any port, as a
    /// peer is, so a scan is one line a second, not one a port.
    pub(crate) fn note(&self, key: Line, now: Instant) -> Option<u64> {
        let Ok(mut t) = self.table.lock() else {
            return Some(0);
        };
        let t = &mut *t;
        if t.seen.len() >= MAX_PAIRS && !t.seen.contains_key(&key) {
            let mut forgotten = 0;
            t.seen.retain(|_, s| {
                let keep = now.saturating_duration_since(s.logged_at) < WINDOW;
                if !keep {
                    forgotten += s.left_out;
                }
                keep
            });
            t.forgotten += forgotten;
        }
        let (key, coarse) = match key {
            Line::Denial(op, Denied::Addr(a))
                if t.seen.len() >= MAX_PAIRS && !t.seen.contains_key(&key) =>
            {
                (Line::Denial(op, Denied::Ip(a.ip())), true)
            }
            k => (k, false),
        };
        if let Some(s) = t.seen.get_mut(&key) {
            if now.saturating_duration_since(s.logged_at) < WINDOW {
                s.left_out += 1;
                return None;
            }
            let left_out = s.left_out;
            *s = Seen {
                logged_at: now,
                left_out: 0,
            };
            return Some(left_out);
        }
        // A limit's line has a place whatever the denials: there are few.
        // A coarse key (an address with any port) has one within a second
        // table's worth, so that a scan of ports still counts as one.
        if t.seen.len() < MAX_PAIRS
            || matches!(key, Line::Limit(_))
            || (coarse && t.seen.len() < 2 * MAX_PAIRS)
        {
            t.seen.insert(
                key,
                Seen {
                    logged_at: now,
                    left_out: 0,
                },
            );
        }
        Some(0)
    }

    /// The lines left out since the last of their kind was written, at
    /// most `most` of them (the kinds with the most first), and how many
    /// there are in all (those of forgotten kinds included): what the
    /// instance's end still has to say.
    pub(crate) fn left_out(&self, most: usize) -> (Vec<(Line, u64)>, u64) {
        let Ok(t) = self.table.lock() else {
            return (Vec::new(), 0);
        };
        let mut kinds: Vec<(Line, u64)> = t
            .seen
            .iter()
            .filter(|(_, s)| s.left_out > 0)
            .map(|(k, s)| (*k, s.left_out))
            .collect();
        let all = kinds.iter().map(|(_, n)| n).sum::<u64>() + t.forgotten;
        kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
        kinds.truncate(most);
        (kinds, all)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Line::Denial(op, what) => write!(f, "{op} {what}"),
            Line::Limit(limit) => f.write_str(match limit {
                Limit::Sockets => "refusals at the socket limit",
                Limit::PollSets => "refusals at the poll-set limit",
                Limit::LookupsInFlight => "refusals at the limit of lookups under way",
                Limit::LookupsAlive => "refusals at the limit of lookups alive",
                #[cfg(feature = "wasi-0-3")]
                Limit::PendingCalls => "refusals at the limit of WASI 0.3 calls pending",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_per_limit_apart_from_denials() {
        let log = DenialLog::default();
        let t = Instant::now();
        let lookups = Line::Limit(Limit::LookupsInFlight);
        assert_eq!(log.note(lookups, t), Some(0));
        for i in 1..=40 {
            assert_eq!(log.note(lookups, t + Duration::from_millis(i)), None);
        }
        // Another limit, and a denial, have allowances of their own.
        assert_eq!(log.note(Line::Limit(Limit::PollSets), t), Some(0));
        let denial = Line::Denial(Operation::Resolve, Denied::name("localhost"));
        assert_eq!(log.note(denial, t), Some(0));
        assert_eq!(log.note(lookups, t + WINDOW), Some(40));
    }

    #[test]
    fn one_line_a_second_per_operation_and_address_and_the_count_of_the_rest() {
        let log = DenialLog::default();
        let t = Instant::now();
        let a = Denied::Ip("192.0.2.1".parse().unwrap());
        let b = Denied::Ip("192.0.2.2".parse().unwrap());
        assert_eq!(log.note(Line::Denial(Operation::TcpAccept, a), t), Some(0));
        for i in 1..=99 {
            let at = t + Duration::from_millis(i * 9);
            assert_eq!(log.note(Line::Denial(Operation::TcpAccept, a), at), None);
        }
        // Another address, or another operation, has its own allowance.
        assert_eq!(log.note(Line::Denial(Operation::TcpAccept, b), t), Some(0));
        assert_eq!(log.note(Line::Denial(Operation::UdpRecv, a), t), Some(0));
        // A second on: written, with the 99 left out.
        assert_eq!(
            log.note(Line::Denial(Operation::TcpAccept, a), t + WINDOW),
            Some(99)
        );
        assert_eq!(
            log.note(
                Line::Denial(Operation::TcpAccept, a),
                t + WINDOW + Duration::from_millis(1)
            ),
            None
        );
        // A name has an allowance of its own, as an address does.
        let name = || Denied::name("blocked.test");
        assert_eq!(
            log.note(Line::Denial(Operation::Resolve, name()), t),
            Some(0)
        );
        assert_eq!(log.note(Line::Denial(Operation::Resolve, name()), t), None);
        assert_eq!(
            log.note(Line::Denial(Operation::Resolve, name()), t + WINDOW),
            Some(1)
        );
        assert_eq!(
            log.note(
                Line::Denial(Operation::Resolve, Denied::name("other.test")),
                t
            ),
            Some(0)
        );
    }

    #[test]
    fn another_port_is_another_line_and_the_end_says_what_was_left_out() {
        let log = DenialLog::default();
        let t = Instant::now();
        let to = |a: &str| Line::Denial(Operation::TcpConnect, Denied::Addr(a.parse().unwrap()));
        assert_eq!(log.note(to("127.0.0.1:22"), t), Some(0));
        assert_eq!(log.note(to("127.0.0.1:23"), t), Some(0));
        for _ in 0..3 {
            assert_eq!(log.note(to("127.0.0.1:22"), t), None);
        }
        assert_eq!(log.note(to("127.0.0.1:23"), t), None);
        let (kinds, all) = log.left_out(1);
        assert_eq!(all, 4);
        assert_eq!(kinds, vec![(to("127.0.0.1:22"), 3)]);
        assert_eq!(kinds[0].0.to_string(), "tcp-connect 127.0.0.1:22");
    }

    #[test]
    fn a_scan_of_ports_in_a_full_table_is_one_line_a_second_and_counted() {
        let log = DenialLog::default();
        let t = Instant::now();
        let line = |ip: u32, port: u16| {
            let a = SocketAddr::new(std::net::Ipv4Addr::from(ip).into(), port);
            Line::Denial(Operation::TcpConnect, Denied::Addr(a))
        };
        for i in 0..MAX_PAIRS as u32 {
            assert_eq!(log.note(line(0x0a00_0000 + i, 1), t), Some(0));
        }
        // Full of fresh keys: a scan of one host's ports is one line.
        assert_eq!(log.note(line(0xc000_0201, 1), t), Some(0));
        for port in 2..100 {
            assert_eq!(log.note(line(0xc000_0201, port), t), None, "{port}");
        }
        // Kinds forgotten to make room keep their count for the end.
        let later = t + WINDOW;
        assert_eq!(
            log.note(line(0x0a00_0000, 1), t + Duration::from_millis(1)),
            None
        );
        assert_eq!(log.note(line(0xc000_0202, 1), later), Some(0));
        let (_, all) = log.left_out(5);
        assert_eq!(all, 98 + 1);
    }

    #[test]
    fn a_flood_of_addresses_is_bounded_and_still_logged() {
        let log = DenialLog::default();
        let t = Instant::now();
        for i in 0..(MAX_PAIRS as u32 + 10) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert_eq!(
                log.note(Line::Denial(Operation::UdpRecv, Denied::Ip(ip)), t),
                Some(0)
            );
        }
        assert_eq!(log.table.lock().unwrap().seen.len(), MAX_PAIRS);
        // Once a window has passed, old pairs make room again.
        let later = t + WINDOW;
        let fresh = Denied::Ip("198.51.100.1".parse().unwrap());
        assert_eq!(
            log.note(Line::Denial(Operation::UdpRecv, fresh), later),
            Some(0)
        );
        assert_eq!(log.table.lock().unwrap().seen.len(), 1);
    }
}
