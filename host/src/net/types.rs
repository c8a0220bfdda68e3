//! The provider contract's own data types, independent of the WIT bindings.

use std::net::SocketAddr;
use std::ops::{BitOr, BitOrAssign};
use std::time::Duration;

/// An address family of the Internet domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Ipv4,
    /// IPv6 (`AF_INET6`).
    Ipv6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: &SocketAddr) -> Family {
        match addr {
            SocketAddr::V4(_) => Family::Ipv4,
            SocketAddr::V6(_) => Family::Ipv6,
        }
    }
}

/// A socket type of the Internet domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// TCP.
    Stream,
    /// UDP.
    Datagram,
}

/// Which directions a shutdown ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// No more receiving.
    Receive,
    /// No more sending.
    Send,
    /// Neither.
    Both,
}

/// A set of readiness conditions (interest or result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Readiness(u8);

impl Readiness {
    /// Nothing.
    pub const EMPTY: Readiness = Readiness(0);
    /// Receiving or accepting would not block.
    pub const READABLE: Readiness = Readiness(1);
    /// Sending would not block; a pending connect has finished.
    pub const WRITABLE: Readiness = Readiness(2);
    /// The connection is closed and nothing is left to read.
    pub const HANG_UP: Readiness = Readiness(4);
    /// An error is pending.
    pub const ERROR: Readiness = Readiness(8);

    /// Whether every condition in `other` is in `self`.
    pub fn contains(self, other: Readiness) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share a condition.
    pub fn intersects(self, other: Readiness) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no condition is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The conditions a wait for `self` ends on: those asked for, an
    /// error, and a hang-up if the wait is for a receive (which returns the
    /// end of the stream) or for nothing in particular. A wait only to send
    /// does not end at the peer's FIN: a send into a full buffer still
    /// cannot go on.
    ///
    /// ```
    /// use wasock_host::net::Readiness;
    ///
    /// let send = Readiness::WRITABLE.wakes_on();
    /// assert!(send.contains(Readiness::ERROR) && !send.contains(Readiness::HANG_UP));
    /// assert!(Readiness::READABLE.wakes_on().contains(Readiness::HANG_UP));
    /// assert!(Readiness::EMPTY.wakes_on().contains(Readiness::HANG_UP));
    /// ```
    pub fn wakes_on(self) -> Readiness {
        let mut on = self | Readiness::ERROR;
        if self.contains(Readiness::READABLE) || self.is_empty() {
            on |= Readiness::HANG_UP;
        }
        on
    }

    /// The conditions in both.
    pub fn and(self, other: Readiness) -> Readiness {
        Readiness(self.0 & other.0)
    }

    /// The raw bits (readable 1, writable 2, hang-up 4, error 8).
    pub fn bits(self) -> u8 {
        self.0
    }

    /// From raw bits; unknown bits are dropped.
    pub fn from_bits(bits: u8) -> Readiness {
        Readiness(bits & 0xf)
    }
}

impl BitOr for Readiness {
    type Output = Readiness;
    fn bitor(self, rhs: Readiness) -> Readiness {
        Readiness(self.0 | rhs.0)
    }
}

impl BitOrAssign for Readiness {
    fn bitor_assign(&mut self, rhs: Readiness) {
        self.0 |= rhs.0;
    }
}

/// Flags for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendFlags {
    /// `MSG_DONTROUTE`.
    pub dont_route: bool,
}

/// Flags for receiving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecvFlags {
    /// `MSG_PEEK`: leave the data queued.
    pub peek: bool,
}

/// A socket option with its value. Timeouts are not here: blocking is the
/// runtime's business, so it keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockOption {
    /// `SO_REUSEADDR`.
    ReuseAddress(bool),
    /// `SO_KEEPALIVE`.
    KeepAlive(bool),
    /// `TCP_KEEPIDLE`.
    KeepAliveIdle(Duration),
    /// `TCP_KEEPINTVL`.
    KeepAliveInterval(Duration),
    /// `TCP_KEEPCNT`.
    KeepAliveCount(u32),
    /// `TCP_NODELAY`.
    NoDelay(bool),
    /// `SO_LINGER`.
    Linger(Option<Duration>),
    /// `SO_RCVBUF`.
    ReceiveBufferSize(u64),
    /// `SO_SNDBUF`.
    SendBufferSize(u64),
    /// `IP_TTL` / `IPV6_UNICAST_HOPS`.
    UnicastHopLimit(u8),
    /// `IPV6_V6ONLY`.
    Ipv6Only(bool),
    /// `SO_BROADCAST`.
    Broadcast(bool),
    /// `IP_MULTICAST_TTL` / `IPV6_MULTICAST_HOPS`.
    MulticastHopLimit(u8),
    /// `IP_MULTICAST_LOOP` / `IPV6_MULTICAST_LOOP`.
    MulticastLoop(bool),
    /// `IP_MULTICAST_IF` / `IPV6_MULTICAST_IF`, by interface index.
    MulticastInterface(u32),
}

/// The name of a [`SockOption`], for reading one back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionName {
    /// See [`SockOption::ReuseAddress`].
    ReuseAddress,
    /// See [`SockOption::KeepAlive`].
    KeepAlive,
    /// See [`SockOption::KeepAliveIdle`].
    KeepAliveIdle,
    /// See [`SockOption::KeepAliveInterval`].
    KeepAliveInterval,
    /// See [`SockOption::KeepAliveCount`].
    KeepAliveCount,
    /// See [`SockOption::NoDelay`].
    NoDelay,
    /// See [`SockOption::Linger`].
    Linger,
    /// See [`SockOption::ReceiveBufferSize`].
    ReceiveBufferSize,
    /// See [`SockOption::SendBufferSize`].
    SendBufferSize,
    /// See [`SockOption::UnicastHopLimit`].
    UnicastHopLimit,
    /// See [`SockOption::Ipv6Only`].
    Ipv6Only,
    /// See [`SockOption::Broadcast`].
    Broadcast,
    /// See [`SockOption::MulticastHopLimit`].
    MulticastHopLimit,
    /// See [`SockOption::MulticastLoop`].
    MulticastLoop,
    /// See [`SockOption::MulticastInterface`].
    MulticastInterface,
}

impl SockOption {
    /// The option's name.
    pub fn name(&self) -> OptionName {
        match self {
            SockOption::ReuseAddress(_) => OptionName::ReuseAddress,
            SockOption::KeepAlive(_) => OptionName::KeepAlive,
            SockOption::KeepAliveIdle(_) => OptionName::KeepAliveIdle,
            SockOption::KeepAliveInterval(_) => OptionName::KeepAliveInterval,
            SockOption::KeepAliveCount(_) => OptionName::KeepAliveCount,
            SockOption::NoDelay(_) => OptionName::NoDelay,
            SockOption::Linger(_) => OptionName::Linger,
            SockOption::ReceiveBufferSize(_) => OptionName::ReceiveBufferSize,
            SockOption::SendBufferSize(_) => OptionName::SendBufferSize,
            SockOption::UnicastHopLimit(_) => OptionName::UnicastHopLimit,
            SockOption::Ipv6Only(_) => OptionName::Ipv6Only,
            SockOption::Broadcast(_) => OptionName::Broadcast,
            SockOption::MulticastHopLimit(_) => OptionName::MulticastHopLimit,
            SockOption::MulticastLoop(_) => OptionName::MulticastLoop,
            SockOption::MulticastInterface(_) => OptionName::MulticastInterface,
        }
    }
}

impl OptionName {
    /// The socket type the option applies to (`None`: both).
    pub fn applies_to(self) -> Option<SocketType> {
        match self {
            OptionName::KeepAlive
            | OptionName::KeepAliveIdle
            | OptionName::KeepAliveInterval
            | OptionName::KeepAliveCount
            | OptionName::NoDelay
            | OptionName::Linger => Some(SocketType::Stream),
            OptionName::Broadcast
            | OptionName::MulticastHopLimit
            | OptionName::MulticastLoop
            | OptionName::MulticastInterface => Some(SocketType::Datagram),
            OptionName::ReuseAddress
            | OptionName::ReceiveBufferSize
            | OptionName::SendBufferSize
            | OptionName::UnicastHopLimit
            | OptionName::Ipv6Only => None,
        }
    }
}

/// How a socket's calls may answer `would-block` (see
/// [`NetSocket::set_calls`](crate::net::NetSocket::set_calls)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calls {
    /// Every call really tries, so that what a `poll` reported holds: a
    /// non-blocking guest's socket.
    Real,
    /// Every `would-block` is followed by a wait
    /// ([`NetSocket::poll_wait`](crate::net::NetSocket::poll_wait)) and the
    /// call again, and so are the calls after it: a blocking guest's
    /// socket. The provider may answer `would-block` from what it already
    /// knows (the reactor's cached readiness), and may let one call do a
    /// little more so that the next one can (a receive that learns it
    /// emptied the queue).
    Waiting,
    /// As [`Calls::Waiting`] for this call, but the calls around it are
    /// real: a look ahead between a non-blocking guest's calls (a WASI
    /// pollable's). Preparing the next call's answer would be wasted.
    Look,
}

/// How a connect started or stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectState {
    /// Connected.
    Connected,
    /// The handshake is under way; wait for writable.
    InProgress,
}

/// What a datagram receive returned besides the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvMeta {
    /// The sender.
    pub from: SocketAddr,
    /// The datagram was longer than the buffer; the rest was discarded
    /// (or, when peeking, left queued).
    pub truncated: bool,
}
