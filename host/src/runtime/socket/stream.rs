//! Stream (TCP) operations: listen, accept, connect, send and receive.

use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{GuestSocket, State, wait_ready};
use crate::net::{ConnectState, ErrorCode, Family, Readiness, RecvFlags, SendFlags};
use crate::policy::Operation;
use crate::runtime::ctx::WasockCtx;

/// The unspecified address of a family with port 0: what an implicit bind
/// by `listen` binds to.
fn unspecified(family: Family) -> SocketAddr {
    let ip = match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}

pub(crate) fn listen(
    ctx: &WasockCtx,
    sock: &mut GuestSocket,
    backlog: u32,
) -> Result<(), ErrorCode> {
    if !sock.is_stream() {
        return Err(ErrorCode::NotSupported);
    }
    match sock.state {
        State::Listening => return Ok(()),
        State::ImplicitlyBound | State::Connecting => return Err(ErrorCode::InvalidArgument),
        State::Connected => return Err(ErrorCode::AlreadyConnected),
        State::Unbound => ctx.check(Operation::TcpBind, unspecified(sock.family))?,
        State::Bound => {}
    }
    sock.net.listen(backlog)?;
    sock.state = State::Listening;
    Ok(())
}

/// Take one connection the policy admits, waiting if the socket blocks.
pub(crate) async fn accept(
    ctx: &WasockCtx,
    sock: &mut GuestSocket,
) -> Result<(Box<dyn crate::net::NetSocket>, SocketAddr), ErrorCode> {
    if !sock.is_stream() {
        return Err(ErrorCode::NotSupported);
    }
    if sock.state != State::Listening {
        return Err(ErrorCode::InvalidArgument);
    }
    if ctx.open_sockets >= ctx.limits.max_sockets {
        return Err(ErrorCode::NewSocketLimit);
    }
    let deadline = sock.recv_deadline();
    loop {
        if let Some(pending) = sock.pending_accept.take() {
            return Ok(pending);
        }
        match sock.net.try_accept() {
            Ok((net, peer)) => {
                if ctx.admit_peer(Operation::TcpAccept, peer) {
                    return Ok((net, peer));
                }
                // A flood of refused connections must not keep this task
                // from yielding to the others on its thread.
                tokio::task::consume_budget().await;
            }
            Err(ErrorCode::WouldBlock) if !sock.nonblocking => {
                wait_ready(&mut *sock.net, Readiness::READABLE, deadline).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether `accept` has something to say: a connection the policy admits
/// (kept for it; those from refused peers are closed), or an error other
/// than would-block, such as running out of descriptors, which the accept
/// reports. (Taken for "nothing to accept", such an error would leave the
/// kernel's readiness unconsumed, and a poll waking on it for ever.)
pub(crate) fn accept_ready(ctx: &WasockCtx, sock: &mut GuestSocket) -> bool {
    if sock.pending_accept.is_some() {
        return true;
    }
    loop {
        match sock.net.try_accept() {
            Ok((net, peer)) => {
                if ctx.admit_peer(Operation::TcpAccept, peer) {
                    sock.pending_accept = Some((net, peer));
                    return true;
                }
            }
            Err(ErrorCode::WouldBlock) => return false,
            Err(_) => return true,
        }
    }
}

/// The state after a failed connect: an unbound socket has been bound by
/// the attempt.
fn after_failure(was: State) -> State {
    if was == State::Unbound {
        State::ImplicitlyBound
    } else {
        was
    }
}

/// Collect the outcome of a non-blocking connect if it has one; a failure
/// is kept for `take-error`.
pub(crate) fn refresh_connect(sock: &mut GuestSocket) {
    if sock.state != State::Connecting {
        return;
    }
    match sock.net.connect_state() {
        Ok(ConnectState::Connected) => sock.state = State::Connected,
        Ok(ConnectState::InProgress) => {}
        Err(e) => {
            sock.state = State::ImplicitlyBound;
            sock.pending_error = Some(e);
        }
    }
}

pub(crate) async fn connect(
    ctx: &WasockCtx,
    sock: &mut GuestSocket,
    addr: SocketAddr,
) -> Result<(), ErrorCode> {
    sock.check_destination(&addr)?;
    refresh_connect(sock);
    match sock.state {
        State::Listening => return Err(ErrorCode::InvalidArgument),
        State::Connected => return Err(ErrorCode::AlreadyConnected),
        State::Connecting => return Err(ErrorCode::Already),
        State::Unbound | State::Bound | State::ImplicitlyBound => {}
    }
    ctx.check(Operation::TcpConnect, addr)?;
    let was = sock.state;
    sock.pending_error = None;
    match sock.net.start_connect(addr) {
        Ok(ConnectState::Connected) => {
            sock.state = State::Connected;
            Ok(())
        }
        Ok(ConnectState::InProgress) => {
            sock.state = State::Connecting;
            if sock.nonblocking {
                return Err(ErrorCode::InProgress);
            }
            let deadline = sock.send_deadline();
            loop {
                wait_ready(&mut *sock.net, Readiness::WRITABLE, deadline).await?;
                match sock.net.connect_state() {
                    Ok(ConnectState::Connected) => {
                        sock.state = State::Connected;
                        return Ok(());
                    }
                    Ok(ConnectState::InProgress) => {}
                    Err(e) => {
                        sock.state = after_failure(was);
                        return Err(e);
                    }
                }
            }
        }
        Err(e) => {
            sock.state = after_failure(was);
            Err(e)
        }
    }
}

/// Wait for a connect in progress to finish; fail if there is none.
async fn ensure_connected(sock: &mut GuestSocket, interest: Readiness) -> Result<(), ErrorCode> {
    let deadline = if interest == Readiness::WRITABLE {
        sock.send_deadline()
    } else {
        sock.recv_deadline()
    };
    loop {
        refresh_connect(sock);
        match sock.state {
            State::Connected => return Ok(()),
            State::Connecting if sock.nonblocking => return Err(ErrorCode::WouldBlock),
            State::Connecting => {
                wait_ready(&mut *sock.net, Readiness::WRITABLE, deadline).await?;
            }
            _ => return Err(ErrorCode::NotConnected),
        }
    }
}

pub(crate) async fn send(
    sock: &mut GuestSocket,
    data: &[u8],
    flags: SendFlags,
) -> Result<u64, ErrorCode> {
    ensure_connected(sock, Readiness::WRITABLE).await?;
    let deadline = sock.send_deadline();
    let mut sent = 0;
    while sent < data.len() {
        match sock.net.try_send(&data[sent..], flags) {
            Ok(n) => {
                sent += n;
                if sock.nonblocking {
                    break;
                }
            }
            Err(ErrorCode::WouldBlock) if sock.nonblocking => {
                if sent > 0 {
                    break;
                }
                return Err(ErrorCode::WouldBlock);
            }
            Err(ErrorCode::WouldBlock) => {
                match wait_ready(&mut *sock.net, Readiness::WRITABLE, deadline).await {
                    Err(_) if sent > 0 => break,
                    r => r?,
                };
            }
            Err(_) if sent > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(sent as u64)
}

pub(crate) async fn recv(
    sock: &mut GuestSocket,
    want: usize,
    flags: RecvFlags,
    wait_all: bool,
) -> Result<Vec<u8>, ErrorCode> {
    ensure_connected(sock, Readiness::READABLE).await?;
    if let Some(e) = sock.pending_error.take() {
        return Err(e);
    }
    if want == 0 {
        return Ok(Vec::new());
    }
    let wait_all = wait_all && !flags.peek && !sock.nonblocking;
    let deadline = sock.recv_deadline();
    let mut buf: Vec<u8> = Vec::with_capacity(want);
    loop {
        let filled = buf.len();
        let spare: &mut [MaybeUninit<u8>] = &mut buf.spare_capacity_mut()[..want - filled];
        match sock.net.try_recv(spare, flags) {
            Ok(0) => return Ok(buf),
            Ok(n) => {
                // SAFETY: the provider initialised the first `n` bytes of
                // the spare capacity, and `n` is at most its length.
                unsafe { buf.set_len(filled + n.min(want - filled)) };
                if !wait_all || buf.len() == want {
                    return Ok(buf);
                }
            }
            Err(ErrorCode::WouldBlock) if !sock.nonblocking => {
                match wait_ready(&mut *sock.net, Readiness::READABLE, deadline).await {
                    Err(_) if !buf.is_empty() => return Ok(buf),
                    r => r?,
                };
            }
            Err(e) if !buf.is_empty() => {
                // Return what arrived; the error is the next receive's.
                sock.pending_error = Some(e);
                return Ok(buf);
            }
            Err(e) => return Err(e),
        }
    }
}
