//! Socket options: their defaults, ranges and read-back, as `types.wit`'s
//! `socket-option` documents them.
//!
//! Options that change what memnet does: `reuse-address` (binding rules),
//! the buffer sizes (how much a socket's receive queue holds), the
//! timeouts (how long a blocking call sleeps before `timed-out`),
//! `linger` 0 (closing resets), `ipv6-only` (dual stack), `broadcast`,
//! `multicast-loop`. The others (keep-alive and its timings, `no-delay`,
//! the hop limits, the multicast interface) are checked, kept, read back
//! and inherited as the contract says, and have nothing to act on in
//! memory.

use wasock::provider::{AddressFamily, Duration, ErrorCode, OptionName, SocketOption, SocketType};

/// Nanoseconds in a second.
const SEC: u64 = 1_000_000_000;

/// The smallest buffer size in effect, whatever was asked (as the kernel
/// has a floor).
pub const MIN_BUFFER: u64 = 2048;

/// The largest buffer size in effect, whatever was asked (as the kernel
/// caps requests at `rmem_max`/`wmem_max`).
pub const MAX_BUFFER: u64 = 8 << 20;

/// The index of the network's one interface, loopback (as on Linux).
pub const LOOPBACK_INTERFACE: u32 = 1;

/// One socket's options, in the units they are kept in.
#[derive(Debug, Clone)]
pub struct Options {
    /// `SO_REUSEADDR`.
    pub reuse_address: bool,
    /// `SO_KEEPALIVE`.
    pub keep_alive: bool,
    /// `TCP_KEEPIDLE`, whole seconds.
    pub keep_alive_idle: u64,
    /// `TCP_KEEPINTVL`, whole seconds.
    pub keep_alive_interval: u64,
    /// `TCP_KEEPCNT`.
    pub keep_alive_count: u32,
    /// `TCP_NODELAY`.
    pub no_delay: bool,
    /// `SO_LINGER`, whole seconds.
    pub linger: Option<u64>,
    /// `SO_RCVBUF` in effect: how many bytes the receive queue holds.
    pub receive_buffer: u64,
    /// `SO_SNDBUF` in effect (kept and read back; data goes straight into
    /// the peer's receive queue, so nothing waits in a send queue).
    pub send_buffer: u64,
    /// `SO_RCVTIMEO`, nanoseconds (whole microseconds).
    pub receive_timeout: Option<Duration>,
    /// `SO_SNDTIMEO`, nanoseconds (whole microseconds).
    pub send_timeout: Option<Duration>,
    /// `IP_TTL` / `IPV6_UNICAST_HOPS`.
    pub unicast_hop_limit: u8,
    /// `IPV6_V6ONLY`.
    pub ipv6_only: bool,
    /// `SO_BROADCAST`.
    pub broadcast: bool,
    /// `IP_MULTICAST_TTL`.
    pub multicast_hop_limit: u8,
    /// `IP_MULTICAST_LOOP`.
    pub multicast_loop: bool,
    /// `IP_MULTICAST_IF`.
    pub multicast_interface: u32,
}

/// Which socket types an option applies to.
enum Applies {
    /// Both types.
    Both,
    /// Stream sockets only.
    Stream,
    /// Datagram sockets only.
    Datagram,
    /// IPv6 sockets only (both types).
    Ipv6,
}

impl Options {
    /// The defaults of a new socket of `ty` (Linux's).
    pub fn new(ty: SocketType) -> Options {
        let (receive_buffer, send_buffer) = match ty {
            SocketType::Stream => (131_072, 16_384),
            SocketType::Datagram => (212_992, 212_992),
        };
        Options {
            reuse_address: false,
            keep_alive: false,
            keep_alive_idle: 7200,
            keep_alive_interval: 75,
            keep_alive_count: 9,
            no_delay: false,
            linger: None,
            receive_buffer,
            send_buffer,
            receive_timeout: None,
            send_timeout: None,
            unicast_hop_limit: 64,
            ipv6_only: false,
            broadcast: false,
            multicast_hop_limit: 1,
            multicast_loop: true,
            multicast_interface: 0,
        }
    }

    /// The options an accepted socket starts with: what Linux passes on
    /// from the listener (keep-alive and its timings, `no-delay`, `linger`,
    /// buffer sizes, hop limit, `reuse-address`); timeouts start unset.
    pub fn inherited(&self) -> Options {
        Options {
            receive_timeout: None,
            send_timeout: None,
            ..self.clone()
        }
    }

    /// `set-option`. `bound`: whether the socket is bound (`ipv6-only`
    /// cannot change then).
    pub fn set(
        &mut self,
        ty: SocketType,
        family: AddressFamily,
        bound: bool,
        value: SocketOption,
    ) -> Result<(), ErrorCode> {
        use SocketOption as O;
        check(applies(name_of(&value)), ty, family)?;
        match value {
            O::ReuseAddress(b) => self.reuse_address = b,
            O::KeepAlive(b) => self.keep_alive = b,
            O::KeepAliveIdle(d) => self.keep_alive_idle = seconds(d, 1, 32767)?,
            O::KeepAliveInterval(d) => self.keep_alive_interval = seconds(d, 1, 32767)?,
            O::KeepAliveCount(n) => {
                if !(1..=127).contains(&n) {
                    return Err(ErrorCode::InvalidArgument);
                }
                self.keep_alive_count = n;
            }
            O::NoDelay(b) => self.no_delay = b,
            O::Linger(d) => {
                self.linger = match d {
                    None => None,
                    Some(d) => Some(seconds(d, 0, 65535)?),
                }
            }
            O::ReceiveBufferSize(n) => self.receive_buffer = buffer(n)?,
            O::SendBufferSize(n) => self.send_buffer = buffer(n)?,
            O::ReceiveTimeout(d) => self.receive_timeout = timeout(d)?,
            O::SendTimeout(d) => self.send_timeout = timeout(d)?,
            O::UnicastHopLimit(h) => self.unicast_hop_limit = hops(h)?,
            O::Ipv6Only(b) => {
                if bound {
                    return Err(ErrorCode::InvalidArgument);
                }
                self.ipv6_only = b;
            }
            O::Broadcast(b) => self.broadcast = b,
            O::MulticastHopLimit(h) => self.multicast_hop_limit = hops(h)?,
            O::MulticastLoop(b) => self.multicast_loop = b,
            O::MulticastInterface(i) => {
                if i != 0 && i != LOOPBACK_INTERFACE {
                    return Err(ErrorCode::InvalidArgument);
                }
                self.multicast_interface = i;
            }
        }
        Ok(())
    }

    /// `get-option`: the value in effect.
    pub fn get(
        &self,
        ty: SocketType,
        family: AddressFamily,
        name: OptionName,
    ) -> Result<SocketOption, ErrorCode> {
        use OptionName as N;
        use SocketOption as O;
        check(applies(name), ty, family)?;
        Ok(match name {
            N::ReuseAddress => O::ReuseAddress(self.reuse_address),
            N::KeepAlive => O::KeepAlive(self.keep_alive),
            N::KeepAliveIdle => O::KeepAliveIdle(self.keep_alive_idle * SEC),
            N::KeepAliveInterval => O::KeepAliveInterval(self.keep_alive_interval * SEC),
            N::KeepAliveCount => O::KeepAliveCount(self.keep_alive_count),
            N::NoDelay => O::NoDelay(self.no_delay),
            N::Linger => O::Linger(self.linger.map(|s| s * SEC)),
            N::ReceiveBufferSize => O::ReceiveBufferSize(self.receive_buffer),
            N::SendBufferSize => O::SendBufferSize(self.send_buffer),
            N::ReceiveTimeout => O::ReceiveTimeout(self.receive_timeout),
            N::SendTimeout => O::SendTimeout(self.send_timeout),
            N::UnicastHopLimit => O::UnicastHopLimit(self.unicast_hop_limit),
            N::Ipv6Only => O::Ipv6Only(self.ipv6_only),
            N::Broadcast => O::Broadcast(self.broadcast),
            N::MulticastHopLimit => O::MulticastHopLimit(self.multicast_hop_limit),
            N::MulticastLoop => O::MulticastLoop(self.multicast_loop),
            N::MulticastInterface => O::MulticastInterface(self.multicast_interface),
        })
    }
}

/// The name of an option value.
fn name_of(value: &SocketOption) -> OptionName {
    use OptionName as N;
    use SocketOption as O;
    match value {
        O::ReuseAddress(_) => N::ReuseAddress,
        O::KeepAlive(_) => N::KeepAlive,
        O::KeepAliveIdle(_) => N::KeepAliveIdle,
        O::KeepAliveInterval(_) => N::KeepAliveInterval,
        O::KeepAliveCount(_) => N::KeepAliveCount,
        O::NoDelay(_) => N::NoDelay,
        O::Linger(_) => N::Linger,
        O::ReceiveBufferSize(_) => N::ReceiveBufferSize,
        O::SendBufferSize(_) => N::SendBufferSize,
        O::ReceiveTimeout(_) => N::ReceiveTimeout,
        O::SendTimeout(_) => N::SendTimeout,
        O::UnicastHopLimit(_) => N::UnicastHopLimit,
        O::Ipv6Only(_) => N::Ipv6Only,
        O::Broadcast(_) => N::Broadcast,
        O::MulticastHopLimit(_) => N::MulticastHopLimit,
        O::MulticastLoop(_) => N::MulticastLoop,
        O::MulticastInterface(_) => N::MulticastInterface,
    }
}

/// Which sockets an option applies to.
fn applies(name: OptionName) -> Applies {
    use OptionName as N;
    match name {
        N::KeepAlive
        | N::KeepAliveIdle
        | N::KeepAliveInterval
        | N::KeepAliveCount
        | N::NoDelay
        | N::Linger => Applies::Stream,
        N::Broadcast | N::MulticastHopLimit | N::MulticastLoop | N::MulticastInterface => {
            Applies::Datagram
        }
        N::Ipv6Only => Applies::Ipv6,
        N::ReuseAddress
        | N::ReceiveBufferSize
        | N::SendBufferSize
        | N::ReceiveTimeout
        | N::SendTimeout
        | N::UnicastHopLimit => Applies::Both,
    }
}

/// `protocol-option-not-supported` for an option of the other socket type,
/// `address-family-not-supported` for `ipv6-only` on IPv4.
fn check(applies: Applies, ty: SocketType, family: AddressFamily) -> Result<(), ErrorCode> {
    match (applies, ty, family) {
        (Applies::Stream, SocketType::Datagram, _) | (Applies::Datagram, SocketType::Stream, _) => {
            Err(ErrorCode::ProtocolOptionNotSupported)
        }
        (Applies::Ipv6, _, AddressFamily::Ipv4) => Err(ErrorCode::AddressFamilyNotSupported),
        _ => Ok(()),
    }
}

/// A duration rounded up to whole seconds, in `min..=max` seconds.
fn seconds(d: Duration, min: u64, max: u64) -> Result<u64, ErrorCode> {
    let s = d.div_ceil(SEC);
    if (min..=max).contains(&s) {
        Ok(s)
    } else {
        Err(ErrorCode::InvalidArgument)
    }
}

/// A timeout: `some(0)` is invalid; others are rounded up to whole
/// microseconds (a `timeval`'s resolution).
fn timeout(d: Option<Duration>) -> Result<Option<Duration>, ErrorCode> {
    match d {
        None => Ok(None),
        Some(0) => Err(ErrorCode::InvalidArgument),
        Some(ns) => ns
            .div_ceil(1000)
            .checked_mul(1000)
            .map(Some)
            .ok_or(ErrorCode::InvalidArgument),
    }
}

/// A buffer size request (1 to 2^31-1) and the size in effect for it.
fn buffer(n: u64) -> Result<u64, ErrorCode> {
    if !(1..=(1 << 31) - 1).contains(&n) {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(n.clamp(MIN_BUFFER, MAX_BUFFER))
}

/// A hop limit: 1 to 255.
fn hops(h: u8) -> Result<u8, ErrorCode> {
    if h == 0 {
        Err(ErrorCode::InvalidArgument)
    } else {
        Ok(h)
    }
}
