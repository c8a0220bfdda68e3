//! Conversions between the WIT types and the provider contract's types.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

use super::bindings::wasock::sockets::types as wit;
use crate::net;

pub(crate) fn ip_to_std(ip: wit::IpAddress) -> IpAddr {
    match ip {
        wit::IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        wit::IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
        }
    }
}

pub(crate) fn ip_from_std(ip: IpAddr) -> wit::IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            wit::IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            wit::IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

pub(crate) fn addr_to_std(addr: wit::SocketAddress) -> SocketAddr {
    match addr {
        wit::SocketAddress::Ipv4(a) => {
            let (w, x, y, z) = a.address;
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(w, x, y, z), a.port))
        }
        wit::SocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7),
                a.port,
                a.flow_info,
                a.scope_id,
            ))
        }
    }
}

pub(crate) fn addr_from_std(addr: SocketAddr) -> wit::SocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [w, x, y, z] = a.ip().octets();
            wit::SocketAddress::Ipv4(wit::Ipv4SocketAddress {
                port: a.port(),
                address: (w, x, y, z),
            })
        }
        SocketAddr::V6(a) => {
            let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
            wit::SocketAddress::Ipv6(wit::Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: a.scope_id(),
            })
        }
    }
}

pub(crate) fn family_to_net(f: wit::AddressFamily) -> net::Family {
    match f {
        wit::AddressFamily::Ipv4 => net::Family::Ipv4,
        wit::AddressFamily::Ipv6 => net::Family::Ipv6,
    }
}

pub(crate) fn family_from_net(f: net::Family) -> wit::AddressFamily {
    match f {
        net::Family::Ipv4 => wit::AddressFamily::Ipv4,
        net::Family::Ipv6 => wit::AddressFamily::Ipv6,
    }
}

pub(crate) fn type_to_net(t: wit::SocketType) -> net::SocketType {
    match t {
        wit::SocketType::Stream => net::SocketType::Stream,
        wit::SocketType::Datagram => net::SocketType::Datagram,
    }
}

pub(crate) fn type_from_net(t: net::SocketType) -> wit::SocketType {
    match t {
        net::SocketType::Stream => wit::SocketType::Stream,
        net::SocketType::Datagram => wit::SocketType::Datagram,
    }
}

pub(crate) fn shutdown_to_net(h: wit::ShutdownHow) -> net::Shutdown {
    match h {
        wit::ShutdownHow::Receive => net::Shutdown::Receive,
        wit::ShutdownHow::Send => net::Shutdown::Send,
        wit::ShutdownHow::Both => net::Shutdown::Both,
    }
}

pub(crate) fn shutdown_from_net(h: net::Shutdown) -> wit::ShutdownHow {
    match h {
        net::Shutdown::Receive => wit::ShutdownHow::Receive,
        net::Shutdown::Send => wit::ShutdownHow::Send,
        net::Shutdown::Both => wit::ShutdownHow::Both,
    }
}

pub(crate) fn send_flags_from_net(f: net::SendFlags) -> wit::SendFlags {
    let mut out = wit::SendFlags::empty();
    if f.dont_route {
        out |= wit::SendFlags::DONT_ROUTE;
    }
    out
}

pub(crate) fn recv_flags_from_net(f: net::RecvFlags) -> wit::RecvFlags {
    let mut out = wit::RecvFlags::empty();
    if f.peek {
        out |= wit::RecvFlags::PEEK;
    }
    out
}

pub(crate) fn send_flags(f: wit::SendFlags) -> net::SendFlags {
    net::SendFlags {
        dont_route: f.contains(wit::SendFlags::DONT_ROUTE),
    }
}

/// The provider's receive flags and whether `wait-all` was asked for.
pub(crate) fn recv_flags(f: wit::RecvFlags) -> (net::RecvFlags, bool) {
    (
        net::RecvFlags {
            peek: f.contains(wit::RecvFlags::PEEK),
        },
        f.contains(wit::RecvFlags::WAIT_ALL),
    )
}

pub(crate) fn readiness_to_net(r: wit::Readiness) -> net::Readiness {
    let mut out = net::Readiness::EMPTY;
    for (w, n) in READINESS {
        if r.contains(w) {
            out |= n;
        }
    }
    out
}

pub(crate) fn readiness_from_net(r: net::Readiness) -> wit::Readiness {
    let mut out = wit::Readiness::empty();
    for (w, n) in READINESS {
        if r.contains(n) {
            out |= w;
        }
    }
    out
}

const READINESS: [(wit::Readiness, net::Readiness); 4] = [
    (wit::Readiness::READABLE, net::Readiness::READABLE),
    (wit::Readiness::WRITABLE, net::Readiness::WRITABLE),
    (wit::Readiness::HANG_UP, net::Readiness::HANG_UP),
    (wit::Readiness::ERROR, net::Readiness::ERROR),
];

/// Generates the one-to-one mapping between the two error enums, so that a
/// case added to one without the other fails to compile.
macro_rules! error_codes {
    ($($case:ident),* $(,)?) => {
        pub(crate) fn error_from_net(e: net::ErrorCode) -> wit::ErrorCode {
            match e { $(net::ErrorCode::$case => wit::ErrorCode::$case,)* }
        }
        /// The provider's code for a WIT error code (a provider
        /// component's answer, see `runtime::bridge`).
        pub(crate) fn error_to_net(e: wit::ErrorCode) -> net::ErrorCode {
            match e { $(wit::ErrorCode::$case => net::ErrorCode::$case,)* }
        }
    };
}

error_codes!(
    AccessDenied,
    AddressInUse,
    AddressNotAvailable,
    AddressFamilyNotSupported,
    Already,
    AlreadyConnected,
    ConnectionAborted,
    ConnectionRefused,
    ConnectionReset,
    DestinationAddressRequired,
    HostUnreachable,
    InProgress,
    InvalidArgument,
    MessageSize,
    NetworkDown,
    NetworkUnreachable,
    NoBufferSpace,
    NotConnected,
    NotSupported,
    ProtocolOptionNotSupported,
    ShutDown,
    TimedOut,
    WouldBlock,
    NewSocketLimit,
    NameNotFound,
    TemporaryResolverFailure,
    PermanentResolverFailure,
    Unknown,
);

/// An option as the runtime handles it: timeouts are the runtime's own,
/// everything else goes to the provider.
pub(crate) enum Setting {
    Net(net::SockOption),
    ReceiveTimeout(Option<Duration>),
    SendTimeout(Option<Duration>),
}

/// Largest keep-alive time the kernel accepts, in seconds.
const MAX_KEEPALIVE_SECS: u64 = 32767;
/// Largest linger time, in seconds.
const MAX_LINGER_SECS: u64 = 65535;

fn nanos(d: u64) -> Duration {
    Duration::from_nanos(d)
}

fn in_range(ok: bool) -> Result<(), net::ErrorCode> {
    if ok {
        Ok(())
    } else {
        Err(net::ErrorCode::InvalidArgument)
    }
}

/// A whole-second option within 1 s..=max after rounding up.
fn seconds_option(d: u64, max: u64) -> Result<Duration, net::ErrorCode> {
    let d = nanos(d);
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    in_range((1..=max).contains(&secs))?;
    Ok(d)
}

/// Check an option's value and turn it into a setting.
pub(crate) fn setting(o: wit::SocketOption) -> Result<Setting, net::ErrorCode> {
    use net::SockOption as N;
    use wit::SocketOption as W;
    Ok(Setting::Net(match o {
        W::ReuseAddress(b) => N::ReuseAddress(b),
        W::KeepAlive(b) => N::KeepAlive(b),
        W::KeepAliveIdle(d) => N::KeepAliveIdle(seconds_option(d, MAX_KEEPALIVE_SECS)?),
        W::KeepAliveInterval(d) => N::KeepAliveInterval(seconds_option(d, MAX_KEEPALIVE_SECS)?),
        W::KeepAliveCount(n) => {
            in_range((1..=127).contains(&n))?;
            N::KeepAliveCount(n)
        }
        W::NoDelay(b) => N::NoDelay(b),
        W::Linger(d) => {
            if let Some(d) = d {
                in_range(nanos(d) <= Duration::from_secs(MAX_LINGER_SECS))?;
            }
            N::Linger(d.map(nanos))
        }
        W::ReceiveBufferSize(n) => {
            in_range((1..=i32::MAX as u64).contains(&n))?;
            N::ReceiveBufferSize(n)
        }
        W::SendBufferSize(n) => {
            in_range((1..=i32::MAX as u64).contains(&n))?;
            N::SendBufferSize(n)
        }
        W::ReceiveTimeout(t) => {
            in_range(t != Some(0))?;
            return Ok(Setting::ReceiveTimeout(t.map(nanos)));
        }
        W::SendTimeout(t) => {
            in_range(t != Some(0))?;
            return Ok(Setting::SendTimeout(t.map(nanos)));
        }
        W::UnicastHopLimit(h) => {
            in_range(h >= 1)?;
            N::UnicastHopLimit(h)
        }
        W::Ipv6Only(b) => N::Ipv6Only(b),
        W::Broadcast(b) => N::Broadcast(b),
        W::MulticastHopLimit(h) => {
            in_range(h >= 1)?;
            N::MulticastHopLimit(h)
        }
        W::MulticastLoop(b) => N::MulticastLoop(b),
        W::MulticastInterface(i) => N::MulticastInterface(i),
    }))
}

/// Which socket type an option applies to (`None`: both).
pub(crate) fn option_applies_to(name: wit::OptionName) -> Option<net::SocketType> {
    match option_name(name) {
        Some(n) => n.applies_to(),
        None => None,
    }
}

/// Generates both directions of the option names the provider keeps (every
/// WIT name but the runtime's own timeouts), so that a name added to one
/// side without the other fails to compile.
macro_rules! option_names {
    ($($case:ident),* $(,)?) => {
        /// The provider's name for an option, or `None` for the runtime's
        /// own (timeouts).
        pub(crate) fn option_name(name: wit::OptionName) -> Option<net::OptionName> {
            match name {
                $(wit::OptionName::$case => Some(net::OptionName::$case),)*
                wit::OptionName::ReceiveTimeout | wit::OptionName::SendTimeout => None,
            }
        }

        /// The WIT name of a provider option.
        pub(crate) fn option_name_from_net(name: net::OptionName) -> wit::OptionName {
            match name { $(net::OptionName::$case => wit::OptionName::$case,)* }
        }
    };
}

option_names!(
    ReuseAddress,
    KeepAlive,
    KeepAliveIdle,
    KeepAliveInterval,
    KeepAliveCount,
    NoDelay,
    Linger,
    ReceiveBufferSize,
    SendBufferSize,
    UnicastHopLimit,
    Ipv6Only,
    Broadcast,
    MulticastHopLimit,
    MulticastLoop,
    MulticastInterface,
);

/// The name of a WIT option value.
pub(crate) fn name_of(o: &wit::SocketOption) -> wit::OptionName {
    use wit::OptionName as N;
    use wit::SocketOption as W;
    match o {
        W::ReuseAddress(_) => N::ReuseAddress,
        W::KeepAlive(_) => N::KeepAlive,
        W::KeepAliveIdle(_) => N::KeepAliveIdle,
        W::KeepAliveInterval(_) => N::KeepAliveInterval,
        W::KeepAliveCount(_) => N::KeepAliveCount,
        W::NoDelay(_) => N::NoDelay,
        W::Linger(_) => N::Linger,
        W::ReceiveBufferSize(_) => N::ReceiveBufferSize,
        W::SendBufferSize(_) => N::SendBufferSize,
        W::ReceiveTimeout(_) => N::ReceiveTimeout,
        W::SendTimeout(_) => N::SendTimeout,
        W::UnicastHopLimit(_) => N::UnicastHopLimit,
        W::Ipv6Only(_) => N::Ipv6Only,
        W::Broadcast(_) => N::Broadcast,
        W::MulticastHopLimit(_) => N::MulticastHopLimit,
        W::MulticastLoop(_) => N::MulticastLoop,
        W::MulticastInterface(_) => N::MulticastInterface,
    }
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A provider option as its WIT value.
pub(crate) fn option_from_net(o: net::SockOption) -> wit::SocketOption {
    use net::SockOption as N;
    use wit::SocketOption as W;
    match o {
        N::ReuseAddress(b) => W::ReuseAddress(b),
        N::KeepAlive(b) => W::KeepAlive(b),
        N::KeepAliveIdle(d) => W::KeepAliveIdle(duration_nanos(d)),
        N::KeepAliveInterval(d) => W::KeepAliveInterval(duration_nanos(d)),
        N::KeepAliveCount(n) => W::KeepAliveCount(n),
        N::NoDelay(b) => W::NoDelay(b),
        N::Linger(d) => W::Linger(d.map(duration_nanos)),
        N::ReceiveBufferSize(n) => W::ReceiveBufferSize(n),
        N::SendBufferSize(n) => W::SendBufferSize(n),
        N::UnicastHopLimit(h) => W::UnicastHopLimit(h),
        N::Ipv6Only(b) => W::Ipv6Only(b),
        N::Broadcast(b) => W::Broadcast(b),
        N::MulticastHopLimit(h) => W::MulticastHopLimit(h),
        N::MulticastLoop(b) => W::MulticastLoop(b),
        N::MulticastInterface(i) => W::MulticastInterface(i),
    }
}

/// A runtime-kept timeout as its WIT value.
pub(crate) fn timeout_option(name: wit::OptionName, t: Option<Duration>) -> wit::SocketOption {
    let t = t.map(duration_nanos);
    match name {
        wit::OptionName::SendTimeout => wit::SocketOption::SendTimeout(t),
        _ => wit::SocketOption::ReceiveTimeout(t),
    }
}
