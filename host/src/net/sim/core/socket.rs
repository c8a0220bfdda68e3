//! Per-socket state: options, datagram queue, stream connection state.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::config::{
    DEFAULT_BUFFER, KEEPALIVE_COUNT, KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, MAX_KEEPALIVE_COUNT,
    MAX_KEEPALIVE_TIME, MAX_LINGER,
};
use super::events::TimerKey;
use super::{ErrorCode, Family, HostId, OptionName, SockId, SockOption, SocketType};

/// Socket options as set and read back (durations the kernel keeps in whole
/// seconds are stored rounded up, so they read back rounded).
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub reuse_address: bool,
    pub keep_alive: bool,
    pub keep_alive_idle: Duration,
    pub keep_alive_interval: Duration,
    pub keep_alive_count: u32,
    pub no_delay: bool,
    pub linger: Option<Duration>,
    pub rcvbuf: u64,
    pub sndbuf: u64,
    pub hop_limit: u8,
    pub ipv6_only: bool,
    pub broadcast: bool,
    pub multicast_hop_limit: u8,
    pub multicast_loop: bool,
    pub multicast_interface: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            reuse_address: false,
            keep_alive: false,
            keep_alive_idle: KEEPALIVE_IDLE,
            keep_alive_interval: KEEPALIVE_INTERVAL,
            keep_alive_count: KEEPALIVE_COUNT,
            no_delay: false,
            linger: None,
            rcvbuf: DEFAULT_BUFFER,
            sndbuf: DEFAULT_BUFFER,
            hop_limit: 64,
            ipv6_only: false,
            broadcast: false,
            multicast_hop_limit: 1,
            multicast_loop: true,
            multicast_interface: 0,
        }
    }
}

impl Options {
    /// The options an accepted stream socket inherits from its listener
    /// (as Linux passes them on).
    pub(crate) fn inherited(&self) -> Options {
        Options {
            keep_alive: self.keep_alive,
            keep_alive_idle: self.keep_alive_idle,
            keep_alive_interval: self.keep_alive_interval,
            keep_alive_count: self.keep_alive_count,
            no_delay: self.no_delay,
            linger: self.linger,
            rcvbuf: self.rcvbuf,
            sndbuf: self.sndbuf,
            hop_limit: self.hop_limit,
            ipv6_only: self.ipv6_only,
            ..Options::default()
        }
    }

    /// Read one option.
    pub(crate) fn get(&self, n: OptionName) -> SockOption {
        match n {
            OptionName::ReuseAddress => SockOption::ReuseAddress(self.reuse_address),
            OptionName::KeepAlive => SockOption::KeepAlive(self.keep_alive),
            OptionName::KeepAliveIdle => SockOption::KeepAliveIdle(self.keep_alive_idle),
            OptionName::KeepAliveInterval => {
                SockOption::KeepAliveInterval(self.keep_alive_interval)
            }
            OptionName::KeepAliveCount => SockOption::KeepAliveCount(self.keep_alive_count),
            OptionName::NoDelay => SockOption::NoDelay(self.no_delay),
            OptionName::Linger => SockOption::Linger(self.linger),
            OptionName::ReceiveBufferSize => SockOption::ReceiveBufferSize(self.rcvbuf),
            OptionName::SendBufferSize => SockOption::SendBufferSize(self.sndbuf),
            OptionName::UnicastHopLimit => SockOption::UnicastHopLimit(self.hop_limit),
            OptionName::Ipv6Only => SockOption::Ipv6Only(self.ipv6_only),
            OptionName::Broadcast => SockOption::Broadcast(self.broadcast),
            OptionName::MulticastHopLimit => {
                SockOption::MulticastHopLimit(self.multicast_hop_limit)
            }
            OptionName::MulticastLoop => SockOption::MulticastLoop(self.multicast_loop),
            OptionName::MulticastInterface => {
                SockOption::MulticastInterface(self.multicast_interface)
            }
        }
    }

    /// Store one option. Keep-alive idle time and interval and the linger
    /// time are rounded up to whole seconds first, as the WIT documents
    /// (1.5 s reads back as 2 s). Out-of-range values are
    /// `InvalidArgument`: zero buffers and hop limits, keep-alive times
    /// outside 1 s to 32767 s and counts outside 1 to 127 (after
    /// rounding), lingers above 65535 s.
    pub(crate) fn set(&mut self, o: SockOption) -> Result<(), ErrorCode> {
        let keepalive_time = |d: Duration| {
            let d = whole_seconds(d);
            (!d.is_zero() && d <= MAX_KEEPALIVE_TIME).then_some(d)
        };
        match o {
            SockOption::ReuseAddress(v) => self.reuse_address = v,
            SockOption::KeepAlive(v) => self.keep_alive = v,
            SockOption::KeepAliveIdle(d) => {
                self.keep_alive_idle = keepalive_time(d).ok_or(ErrorCode::InvalidArgument)?;
            }
            SockOption::KeepAliveInterval(d) => {
                self.keep_alive_interval = keepalive_time(d).ok_or(ErrorCode::InvalidArgument)?;
            }
            SockOption::KeepAliveCount(n) if (1..=MAX_KEEPALIVE_COUNT).contains(&n) => {
                self.keep_alive_count = n;
            }
            SockOption::NoDelay(v) => self.no_delay = v,
            SockOption::Linger(v) => {
                let v = v.map(whole_seconds);
                if v.is_some_and(|d| d > MAX_LINGER) {
                    return Err(ErrorCode::InvalidArgument);
                }
                self.linger = v;
            }
            SockOption::ReceiveBufferSize(n) if n > 0 => self.rcvbuf = n,
            SockOption::SendBufferSize(n) if n > 0 => self.sndbuf = n,
            SockOption::UnicastHopLimit(n) if n > 0 => self.hop_limit = n,
            SockOption::Ipv6Only(v) => self.ipv6_only = v,
            SockOption::Broadcast(v) => self.broadcast = v,
            SockOption::MulticastHopLimit(n) if n > 0 => self.multicast_hop_limit = n,
            SockOption::MulticastLoop(v) => self.multicast_loop = v,
            SockOption::MulticastInterface(i) => self.multicast_interface = i,
            _ => return Err(ErrorCode::InvalidArgument),
        }
        Ok(())
    }
}

/// `d` rounded up to whole seconds (saturating).
pub(crate) fn whole_seconds(d: Duration) -> Duration {
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    Duration::from_secs(secs)
}

/// A received datagram.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub from: SocketAddr,
    pub data: Arc<[u8]>,
}

/// Datagram socket state.
#[derive(Debug, Default)]
pub(crate) struct UdpState {
    /// Default peer.
    pub peer: Option<SocketAddr>,
    /// The local IP was filled in by `connect` (restored on disconnect).
    pub ip_from_connect: bool,
    pub queue: VecDeque<Received>,
    pub queued_bytes: u64,
    pub shut_rd: bool,
    pub shut_wr: bool,
    /// Multicast memberships: `(group, interface index)`, the index as
    /// resolved at join (1 loopback, 2 the network interface; never 0).
    pub groups: BTreeSet<(IpAddr, u32)>,
}

impl UdpState {
    /// The membership of `group` on the lowest interface index, if any.
    pub(crate) fn first_membership(&self, group: IpAddr) -> Option<(IpAddr, u32)> {
        self.groups
            .range((group, 0)..=(group, u32::MAX))
            .next()
            .copied()
    }
}

/// Where a stream socket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Unbound or bound, never connected.
    Closed,
    /// Listening.
    Listening,
    /// Handshake under way.
    SynSent,
    /// Connected (possibly half-closed, reset or timed out: see `dead`).
    Connected,
    /// A connect failed.
    Failed,
}

/// A sent, unacknowledged segment.
#[derive(Debug, Clone)]
pub(crate) struct Seg {
    pub data: Arc<[u8]>,
    pub fin: bool,
    pub attempts: u32,
    pub first_sent: Duration,
}

impl Seg {
    /// Sequence space the segment takes (FIN takes one).
    pub(crate) fn seq_len(&self) -> u64 {
        if self.fin { 1 } else { self.data.len() as u64 }
    }
}

/// Stream socket state.
#[derive(Debug)]
pub(crate) struct TcpState {
    pub phase: Phase,
    pub backlog: usize,
    pub accept_q: VecDeque<SockId>,
    /// For a connection still in a listener's accept queue: that listener.
    pub listener: Option<SockId>,
    pub peer: Option<SocketAddr>,
    pub peer_sock: Option<SockId>,
    pub peer_gen: u32,
    pub peer_host: HostId,
    pub connect_start: Duration,
    // Sending.
    pub unsent: VecDeque<u8>,
    pub inflight: BTreeMap<u64, Seg>,
    pub inflight_bytes: u64,
    pub snd_nxt: u64,
    /// Send direction shut down: FIN goes after the queued data.
    pub shut_wr: bool,
    pub fin_sent: bool,
    pub fin_acked: bool,
    // Receiving.
    pub rcvq: VecDeque<u8>,
    pub ooo: BTreeMap<u64, (Arc<[u8]>, bool)>,
    pub rcv_nxt: u64,
    pub fin_rcvd: bool,
    pub shut_rd: bool,
    /// Reset or timed out: nothing more is sent or received.
    pub dead: bool,
    // Keep-alive.
    pub last_rx: Duration,
    pub ka_gen: u32,
    pub ka_probes: u32,
    pub ka_timer: Option<TimerKey>,
}

impl TcpState {
    /// A fresh, closed stream state.
    pub(crate) fn new(host: HostId) -> TcpState {
        TcpState {
            phase: Phase::Closed,
            backlog: 0,
            accept_q: VecDeque::new(),
            listener: None,
            peer: None,
            peer_sock: None,
            peer_gen: 0,
            peer_host: host,
            connect_start: Duration::ZERO,
            unsent: VecDeque::new(),
            inflight: BTreeMap::new(),
            inflight_bytes: 0,
            snd_nxt: 0,
            shut_wr: false,
            fin_sent: false,
            fin_acked: false,
            rcvq: VecDeque::new(),
            ooo: BTreeMap::new(),
            rcv_nxt: 0,
            fin_rcvd: false,
            shut_rd: false,
            dead: false,
            last_rx: Duration::ZERO,
            ka_gen: 0,
            ka_probes: 0,
            ka_timer: None,
        }
    }

    /// Drop all queued data (on reset or failure).
    pub(crate) fn clear(&mut self) {
        self.unsent.clear();
        self.inflight.clear();
        self.inflight_bytes = 0;
        self.rcvq.clear();
        self.ooo.clear();
    }

    /// Bytes held in the send buffer (unsent plus unacknowledged).
    pub(crate) fn send_held(&self) -> u64 {
        self.unsent.len() as u64 + self.inflight_bytes
    }
}

/// Protocol-specific state.
#[derive(Debug)]
pub(crate) enum Proto {
    /// Datagram socket.
    Udp(UdpState),
    /// Stream socket.
    Tcp(Box<TcpState>),
}

/// One socket.
#[derive(Debug)]
pub(crate) struct Socket {
    pub host: HostId,
    pub family: Family,
    pub local: Option<SocketAddr>,
    /// Bound by connect or send rather than `bind`/`listen`.
    pub implicit: bool,
    /// Listed in the port table (bound sockets; not accepted connections).
    pub in_port_table: bool,
    pub opts: Options,
    pub error: Option<ErrorCode>,
    /// Connection generation (bumped by each stream connect).
    pub generation: u32,
    /// The owner closed it; it lives on to finish sending.
    pub orphan: bool,
    /// Pending timers of this socket, cancelled when it goes.
    pub timers: BTreeSet<TimerKey>,
    pub proto: Proto,
}

impl Socket {
    /// A fresh socket.
    pub(crate) fn new(host: HostId, family: Family, ty: SocketType) -> Socket {
        Socket {
            host,
            family,
            local: None,
            implicit: false,
            in_port_table: false,
            opts: Options::default(),
            error: None,
            generation: 0,
            orphan: false,
            timers: BTreeSet::new(),
            proto: match ty {
                SocketType::Stream => Proto::Tcp(Box::new(TcpState::new(host))),
                SocketType::Datagram => Proto::Udp(UdpState::default()),
            },
        }
    }

    /// The socket type.
    pub(crate) fn ty(&self) -> SocketType {
        match self.proto {
            Proto::Udp(_) => SocketType::Datagram,
            Proto::Tcp(_) => SocketType::Stream,
        }
    }

    /// Stream state, if a stream socket.
    pub(crate) fn tcp(&self) -> Option<&TcpState> {
        match &self.proto {
            Proto::Tcp(t) => Some(t),
            Proto::Udp(_) => None,
        }
    }

    /// Mutable stream state, if a stream socket.
    pub(crate) fn tcp_mut(&mut self) -> Option<&mut TcpState> {
        match &mut self.proto {
            Proto::Tcp(t) => Some(t),
            Proto::Udp(_) => None,
        }
    }

    /// Datagram state, if a datagram socket.
    pub(crate) fn udp(&self) -> Option<&UdpState> {
        match &self.proto {
            Proto::Udp(u) => Some(u),
            Proto::Tcp(_) => None,
        }
    }

    /// Mutable datagram state, if a datagram socket.
    pub(crate) fn udp_mut(&mut self) -> Option<&mut UdpState> {
        match &mut self.proto {
            Proto::Udp(u) => Some(u),
            Proto::Tcp(_) => None,
        }
    }
}
