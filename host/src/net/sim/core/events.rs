//! The event queue: timers and packets in flight, ordered by virtual time
//! and then by insertion.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::{HostId, SockId};

/// A UDP datagram in flight.
#[derive(Debug, Clone)]
pub(crate) struct Datagram {
    /// Sending socket (for port-unreachable errors).
    pub from: SockId,
    /// Sending host.
    pub from_host: HostId,
    /// Receiving host.
    pub to_host: HostId,
    /// Source address as the receiver sees it.
    pub src: SocketAddr,
    /// Destination address.
    pub dst: SocketAddr,
    /// Payload.
    pub data: Arc<[u8]>,
}

/// A stream segment in flight.
#[derive(Debug, Clone)]
pub(crate) struct SegMsg {
    /// Receiving socket and its generation.
    pub to: SockId,
    pub to_gen: u32,
    /// Receiving host.
    pub host: HostId,
    /// Sending socket.
    pub from: SockId,
    /// Sequence number of the first byte (or of the FIN).
    pub seq: u64,
    /// Payload (empty for a FIN).
    pub data: Arc<[u8]>,
    pub fin: bool,
}

/// Something scheduled to happen at a virtual time.
#[derive(Debug, Clone)]
pub(crate) enum Timer {
    /// A partition (its index) starts.
    PartitionStart(usize),
    /// A partition (its index) heals.
    PartitionHeal(usize),
    /// A datagram arrives.
    Udp(Box<Datagram>),
    /// An ICMP port unreachable reaches a connected datagram socket.
    UdpRefused { to: SockId, peer: SocketAddr },
    /// A SYN arrives at `to_host`.
    Syn {
        from: SockId,
        from_gen: u32,
        from_host: HostId,
        to_host: HostId,
        src: SocketAddr,
        dst: SocketAddr,
    },
    /// A SYN-ACK arrives at the connecting socket.
    SynAck {
        to: SockId,
        to_gen: u32,
        host: HostId,
        from: SockId,
        from_gen: u32,
    },
    /// SYN retransmission timer.
    SynRto {
        sock: SockId,
        gen_: u32,
        attempt: u32,
    },
    /// Connect timeout.
    ConnectTimeout { sock: SockId, gen_: u32 },
    /// A stream segment arrives.
    Seg(SegMsg),
    /// Retransmission timer of one segment attempt.
    Rto {
        sock: SockId,
        gen_: u32,
        seq: u64,
        attempt: u32,
    },
    /// A reset arrives.
    Rst { to: SockId, to_gen: u32 },
    /// A closed stream gives up waiting for its peer's FIN.
    OrphanTimeout { sock: SockId },
    /// Keep-alive timer.
    KeepAlive { sock: SockId, kgen: u32 },
}

/// Identifies a scheduled timer: its time and insertion sequence.
pub(crate) type TimerKey = (Duration, u64);

impl Timer {
    /// The socket whose own timer this is (not packets), if any.
    pub(crate) fn owner(&self) -> Option<SockId> {
        match self {
            Timer::SynRto { sock, .. }
            | Timer::ConnectTimeout { sock, .. }
            | Timer::Rto { sock, .. }
            | Timer::OrphanTimeout { sock }
            | Timer::KeepAlive { sock, .. } => Some(*sock),
            _ => None,
        }
    }
}

/// Timers ordered by `(time, insertion sequence)`.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    map: BTreeMap<(Duration, u64), Timer>,
    seq: u64,
}

impl Queue {
    /// Schedule `t` at `at`; returns its key for [`Queue::cancel`].
    pub(crate) fn push(&mut self, at: Duration, t: Timer) -> TimerKey {
        self.seq = self.seq.wrapping_add(1);
        self.map.insert((at, self.seq), t);
        (at, self.seq)
    }

    /// Unschedule a timer (no-op if it already ran).
    pub(crate) fn cancel(&mut self, key: TimerKey) {
        self.map.remove(&key);
    }

    /// The earliest scheduled time.
    pub(crate) fn next_time(&self) -> Option<Duration> {
        self.map.first_key_value().map(|(k, _)| k.0)
    }

    /// Remove and return the earliest timer if it is due at or before `t`.
    pub(crate) fn pop_due(&mut self, t: Duration) -> Option<(TimerKey, Timer)> {
        if self.next_time()? > t {
            return None;
        }
        self.map.pop_first()
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}
