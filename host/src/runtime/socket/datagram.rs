//! Datagram (UDP) operations: default peer, send-to, receive with the
//! policy's peer filter.

use std::net::{IpAddr, SocketAddr};

use super::{GuestSocket, State, retry};
use crate::net::{ErrorCode, Family, Readiness, RecvBuf, RecvFlags, RecvMeta, SendFlags};
use crate::policy::Operation;
use crate::runtime::admission::Gate;
use crate::runtime::ctx::WasockCtx;

/// Largest UDP payload: 65535 minus the IP and UDP headers.
fn family_max(family: Family) -> usize {
    match family {
        Family::Ipv4 => 65507,
        Family::Ipv6 => 65527,
    }
}

/// Largest buffer a datagram receive ever needs.
pub(crate) const MAX_DATAGRAM_BUFFER: usize = 65536;

pub(crate) fn check_size(ctx: &WasockCtx, sock: &GuestSocket, len: usize) -> Result<(), ErrorCode> {
    if len > family_max(sock.family).min(ctx.limits.max_datagram) {
        return Err(ErrorCode::MessageSize);
    }
    Ok(())
}

pub(crate) fn connect(
    ctx: &WasockCtx,
    sock: &mut GuestSocket,
    addr: SocketAddr,
) -> Result<(), ErrorCode> {
    sock.check_destination(&addr)?;
    ctx.check(Operation::UdpSend, addr)?;
    sock.net.start_connect(addr)?;
    sock.peer = Some(addr);
    sock.contacted.remember(addr);
    if sock.state == State::Unbound {
        sock.state = State::ImplicitlyBound;
    }
    Ok(())
}

pub(crate) fn disconnect(sock: &mut GuestSocket) -> Result<(), ErrorCode> {
    if sock.is_stream() {
        return Err(ErrorCode::NotSupported);
    }
    sock.net.disconnect()?;
    sock.peer = None;
    Ok(())
}

pub(crate) async fn send(
    ctx: &WasockCtx,
    sock: &mut GuestSocket,
    data: &[u8],
    flags: SendFlags,
) -> Result<u64, ErrorCode> {
    if sock.peer.is_none() {
        return Err(ErrorCode::DestinationAddressRequired);
    }
    if let Some(e) = sock.pending_error.take() {
        return Err(e);
    }
    check_size(ctx, sock, data.len())?;
    let deadline = sock.send_deadline();
    let sent = retry(sock, Readiness::WRITABLE, deadline, |s| {
        s.net.try_send(data, flags).map(Some)
    })
    .await?;
    Ok(sent as u64)
}

pub(crate) async fn send_to(
    ctx: &WasockCtx,
    sock: &mut GuestSocket,
    data: &[u8],
    addr: SocketAddr,
    flags: SendFlags,
) -> Result<u64, ErrorCode> {
    check_send_to(ctx, sock, data.len(), addr)?;
    let deadline = sock.send_deadline();
    let sent = retry(sock, Readiness::WRITABLE, deadline, |s| {
        s.net.try_send_to(data, addr, flags).map(Some)
    })
    .await;
    match sent {
        Ok(n) => {
            sent_to(sock, addr);
            Ok(n as u64)
        }
        Err(e) => {
            bound_by_a_failed_send(sock);
            Err(e)
        }
    }
}

/// A send-to that failed may still have bound the socket: the system binds
/// an unbound socket before it routes the datagram (Linux answers a
/// broadcast without `broadcast` set with `EACCES` after binding). What the
/// provider says the socket has is then the truth, so that receives and
/// readiness treat it as bound, as the system does.
fn bound_by_a_failed_send(sock: &mut GuestSocket) {
    if sock.state == State::Unbound && sock.net.local_addr().is_ok() {
        sock.state = State::ImplicitlyBound;
    }
}

/// Whether `sock` may send `len` bytes to `addr`: an unconnected datagram
/// socket, a real destination of its family, a size within the limits, and
/// a `udp-send` grant.
pub(crate) fn check_send_to(
    ctx: &WasockCtx,
    sock: &GuestSocket,
    len: usize,
    addr: SocketAddr,
) -> Result<(), ErrorCode> {
    if sock.is_stream() {
        return Err(ErrorCode::NotSupported);
    }
    if sock.peer.is_some() {
        return Err(ErrorCode::AlreadyConnected);
    }
    sock.check_destination(&addr)?;
    check_size(ctx, sock, len)?;
    ctx.check(Operation::UdpSend, addr)
}

/// What a datagram sent to `addr` changes: the socket is bound, and
/// replies from `addr` may come in.
pub(crate) fn sent_to(sock: &mut GuestSocket, addr: SocketAddr) {
    if sock.state == State::Unbound {
        sock.state = State::ImplicitlyBound;
    }
    sock.contacted.remember(addr);
}

/// A received datagram.
pub(crate) struct Received {
    pub data: Vec<u8>,
    pub from: SocketAddr,
    pub truncated: bool,
}

pub(crate) async fn recv_from(
    ctx: &WasockCtx,
    sock: &mut GuestSocket,
    want: usize,
    flags: RecvFlags,
    wait_all: bool,
) -> Result<Received, ErrorCode> {
    if sock.is_stream() {
        return Err(ErrorCode::NotSupported);
    }
    if wait_all {
        return Err(ErrorCode::NotSupported);
    }
    if sock.state == State::Unbound {
        return Err(ErrorCode::InvalidArgument);
    }
    if let Some(e) = sock.pending_error.take() {
        return Err(e);
    }
    let want = want.min(MAX_DATAGRAM_BUFFER);
    let deadline = sock.recv_deadline();
    let mut buf: Vec<u8> = Vec::new();
    let meta = retry(sock, Readiness::READABLE, deadline, |s| {
        try_recv_admitted(&ctx.gate, s, &mut buf, want, flags)
    })
    .await?;
    Ok(Received {
        data: buf,
        from: meta.from,
        truncated: meta.truncated,
    })
}

/// One try at receiving a datagram into `buf` (at most `want` bytes):
/// `Some` is one from a peer the guest may hear from; `None` means one from
/// a refused peer was dropped unseen and there may be more.
pub(crate) fn try_recv_admitted(
    gate: &Gate,
    sock: &mut GuestSocket,
    buf: &mut Vec<u8>,
    want: usize,
    flags: RecvFlags,
) -> Result<Option<RecvMeta>, ErrorCode> {
    buf.clear();
    let meta = sock
        .net
        .try_recv_from(&mut RecvBuf::new(buf, want), flags)?;
    if gate.admit_datagram(&sock.contacted, meta.from, true) {
        return Ok(Some(meta));
    }
    if flags.peek {
        discard_one(sock);
    }
    Ok(None)
}

/// Receive and forget the next datagram.
fn discard_one(sock: &mut GuestSocket) {
    let mut byte = Vec::new();
    let _ = sock
        .net
        .try_recv_from(&mut RecvBuf::new(&mut byte, 1), RecvFlags::default());
}

/// Discard queued datagrams from peers the guest may not hear from, so that
/// readiness and `bytes-available` speak only of what it can receive; then
/// whether a datagram the guest may hear waits, or an error to report (a
/// bound datagram socket is readable exactly then).
pub(crate) fn drop_unadmitted(gate: &Gate, sock: &mut GuestSocket) -> bool {
    if sock.is_stream() || sock.state == State::Unbound {
        return false;
    }
    if sock.pending_error.is_some() {
        return true;
    }
    let mut byte = Vec::new();
    loop {
        byte.clear();
        let peeked = sock
            .net
            .try_recv_from(&mut RecvBuf::new(&mut byte, 1), RecvFlags { peek: true });
        match peeked {
            Ok(meta) => {
                if gate.admit_datagram(&sock.contacted, meta.from, false) {
                    return true;
                }
                gate.admit_peer(Operation::UdpRecv, meta.from);
                discard_one(sock);
            }
            Err(ErrorCode::WouldBlock) => return false,
            // Looking consumed an asynchronous error (an ICMP report): keep
            // it for the next call, as the OS would have.
            Err(e) => {
                sock.pending_error = Some(e);
                return true;
            }
        }
    }
}

pub(crate) fn multicast(
    ctx: &WasockCtx,
    sock: &mut GuestSocket,
    group: IpAddr,
    interface: u32,
    join: bool,
) -> Result<(), ErrorCode> {
    if sock.is_stream() {
        return Err(ErrorCode::ProtocolOptionNotSupported);
    }
    let family = match group {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    };
    if family != sock.family {
        return Err(ErrorCode::AddressFamilyNotSupported);
    }
    if !group.is_multicast() {
        return Err(ErrorCode::InvalidArgument);
    }
    if join {
        let port = sock.net.local_addr().map(|a| a.port()).unwrap_or(0);
        ctx.check(Operation::UdpBind, SocketAddr::new(group, port))?;
        sock.net.join_multicast(group, interface)
    } else {
        sock.net.leave_multicast(group, interface)
    }
}
