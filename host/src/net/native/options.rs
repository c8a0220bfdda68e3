//! Socket options on native sockets (`setsockopt` / `getsockopt`).

use std::net::IpAddr;
use std::time::Duration;

use socket2::{InterfaceIndexOrAddress, Socket};

use super::sys;
use crate::net::{ErrorCode, Family, OptionName, SockOption};

/// Whole seconds, rounded up, for the options the kernel keeps in seconds.
fn secs(d: Duration) -> i32 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(s).unwrap_or(i32::MAX)
}

/// `d` rounded up to whole seconds, as the kernel would keep it.
pub(super) fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(u64::try_from(secs(d)).unwrap_or(0))
}

/// Set one option.
pub fn set(sock: &Socket, family: Family, option: SockOption) -> Result<(), ErrorCode> {
    use SockOption::*;
    let v6 = family == Family::Ipv6;
    match option {
        ReuseAddress(on) => sock.set_reuse_address(on)?,
        KeepAlive(on) => sock.set_keepalive(on)?,
        KeepAliveIdle(d) => sys::set_int(sock, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs(d))?,
        KeepAliveInterval(d) => {
            sys::set_int(sock, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, secs(d))?
        }
        KeepAliveCount(n) => sys::set_int(
            sock,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPCNT,
            i32::try_from(n).map_err(|_| ErrorCode::InvalidArgument)?,
        )?,
        NoDelay(on) => sock.set_tcp_nodelay(on)?,
        // Only an abortive linger (`some(0)`) reaches the kernel. With a
        // positive one, Linux's close() blocks the calling thread, even on
        // a non-blocking socket, until the data is acknowledged or the time
        // runs out; that thread is the host's, shared by many guests. Without
        // it the kernel sends what is left in the background, which is what
        // Linux does anyway once a linger's wait ends. The socket keeps the
        // value the guest set (`NativeSocket::set_option`).
        Linger(d) => sock.set_linger(d.filter(Duration::is_zero))?,
        ReceiveBufferSize(n) => {
            sock.set_recv_buffer_size(usize::try_from(n).map_err(|_| ErrorCode::InvalidArgument)?)?
        }
        SendBufferSize(n) => {
            sock.set_send_buffer_size(usize::try_from(n).map_err(|_| ErrorCode::InvalidArgument)?)?
        }
        UnicastHopLimit(h) if v6 => sock.set_unicast_hops_v6(u32::from(h))?,
        UnicastHopLimit(h) => sock.set_ttl_v4(u32::from(h))?,
        Ipv6Only(on) => sock.set_only_v6(on)?,
        Broadcast(on) => sock.set_broadcast(on)?,
        MulticastHopLimit(h) if v6 => sock.set_multicast_hops_v6(u32::from(h))?,
        MulticastHopLimit(h) => sock.set_multicast_ttl_v4(u32::from(h))?,
        MulticastLoop(on) if v6 => sock.set_multicast_loop_v6(on)?,
        MulticastLoop(on) => sock.set_multicast_loop_v4(on)?,
        MulticastInterface(i) if v6 => sock.set_multicast_if_v6(i)?,
        MulticastInterface(i) => sys::set_multicast_if_v4(sock, i)?,
    }
    Ok(())
}

fn hop(n: u32) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// Read one option back.
pub fn get(sock: &Socket, family: Family, name: OptionName) -> Result<SockOption, ErrorCode> {
    use OptionName as N;
    let v6 = family == Family::Ipv6;
    let seconds = |opt| -> Result<Duration, ErrorCode> {
        let s = sys::get_int(sock, libc::IPPROTO_TCP, opt)?;
        Ok(Duration::from_secs(u64::try_from(s).unwrap_or(0)))
    };
    Ok(match name {
        N::ReuseAddress => SockOption::ReuseAddress(sock.reuse_address()?),
        N::KeepAlive => SockOption::KeepAlive(sock.keepalive()?),
        N::KeepAliveIdle => SockOption::KeepAliveIdle(seconds(libc::TCP_KEEPIDLE)?),
        N::KeepAliveInterval => SockOption::KeepAliveInterval(seconds(libc::TCP_KEEPINTVL)?),
        N::KeepAliveCount => {
            let n = sys::get_int(sock, libc::IPPROTO_TCP, libc::TCP_KEEPCNT)?;
            SockOption::KeepAliveCount(u32::try_from(n).unwrap_or(0))
        }
        N::NoDelay => SockOption::NoDelay(sock.tcp_nodelay()?),
        N::ReceiveBufferSize => SockOption::ReceiveBufferSize(sock.recv_buffer_size()? as u64),
        N::SendBufferSize => SockOption::SendBufferSize(sock.send_buffer_size()? as u64),
        N::UnicastHopLimit if v6 => SockOption::UnicastHopLimit(hop(sock.unicast_hops_v6()?)),
        N::UnicastHopLimit => SockOption::UnicastHopLimit(hop(sock.ttl_v4()?)),
        N::Ipv6Only => SockOption::Ipv6Only(sock.only_v6()?),
        N::Broadcast => SockOption::Broadcast(sock.broadcast()?),
        N::MulticastHopLimit if v6 => SockOption::MulticastHopLimit(hop(sock.multicast_hops_v6()?)),
        N::MulticastHopLimit => SockOption::MulticastHopLimit(hop(sock.multicast_ttl_v4()?)),
        N::MulticastLoop if v6 => SockOption::MulticastLoop(sock.multicast_loop_v6()?),
        N::MulticastLoop => SockOption::MulticastLoop(sock.multicast_loop_v4()?),
        // Kept by the socket (`NativeSocket::get_option`): Linux reports the
        // IPv4 interface by address, not index, and the kernel's linger is
        // not the guest's (see `set`).
        N::MulticastInterface | N::Linger => return Err(ErrorCode::NotSupported),
    })
}

/// Join or leave a multicast group.
pub fn multicast(
    sock: &Socket,
    group: IpAddr,
    interface: u32,
    join: bool,
) -> Result<(), ErrorCode> {
    match group {
        IpAddr::V4(g) => {
            let iface = InterfaceIndexOrAddress::Index(interface);
            if join {
                sock.join_multicast_v4_n(&g, &iface)?
            } else {
                sock.leave_multicast_v4_n(&g, &iface)?
            }
        }
        IpAddr::V6(g) => {
            if join {
                sock.join_multicast_v6(&g, interface)?
            } else {
                sock.leave_multicast_v6(&g, interface)?
            }
        }
    }
    Ok(())
}
