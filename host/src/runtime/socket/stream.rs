//! Stream (TCP) operations: listen, accept, connect, send and receive.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{GuestSocket, State, retry};
use crate::net::{
    ConnectState, ErrorCode, Family, NetSocket, Readiness, RecvBuf, RecvFlags, SendFlags,
};
use crate::policy::Operation;
use crate::runtime::admission::Gate;
use crate::runtime::budget::Share;
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

/// A connection taken from a listener, with its place among the
/// instance's sockets.
pub(crate) struct Accepted {
    pub slot: Share,
    pub net: Box<dyn NetSocket>,
    pub peer: SocketAddr,
}

/// Take one connection the policy admits, waiting if the socket blocks.
pub(crate) async fn accept(ctx: &WasockCtx, sock: &mut GuestSocket) -> Result<Accepted, ErrorCode> {
    if !sock.is_stream() {
        return Err(ErrorCode::NotSupported);
    }
    if sock.state != State::Listening {
        return Err(ErrorCode::InvalidArgument);
    }
    let slot = ctx.socket_slot()?;
    let deadline = sock.recv_deadline();
    let (net, peer) = retry(sock, Readiness::READABLE, deadline, |s| {
        try_accept(&ctx.gate, s)
    })
    .await?;
    Ok(Accepted { slot, net, peer })
}

/// A connection taken from the queue, and its peer.
pub(crate) type Connection = (Box<dyn NetSocket>, SocketAddr);

/// One try at taking a connection from a listening socket: `Some` is one
/// the policy admits; `None` means a refused peer was closed unseen and
/// there may be more; `would-block` means the queue is empty.
pub(crate) fn try_accept(
    gate: &Gate,
    sock: &mut GuestSocket,
) -> Result<Option<Connection>, ErrorCode> {
    if let Some(pending) = sock.pending_accept.take() {
        return Ok(Some(*pending));
    }
    let (net, peer) = sock.net.try_accept()?;
    Ok(gate
        .admit_peer(Operation::TcpAccept, peer)
        .then_some((net, peer)))
}

/// Whether `accept` has something to say: a connection the policy admits
/// (kept for it; those from refused peers are closed), or an error other
/// than would-block, such as running out of descriptors, which the accept
/// reports. (Taken for "nothing to accept", such an error would leave the
/// kernel's readiness unconsumed, and a poll waking on it for ever.)
pub(crate) fn accept_ready(gate: &Gate, sock: &mut GuestSocket) -> bool {
    loop {
        match accept_ahead(gate, sock) {
            Ok(Some(())) => return true,
            Ok(None) => {}
            Err(_) => return false,
        }
    }
}

/// One look for what `accept` would say, kept for it: `Some` if it has
/// something to say (as for [`accept_ready`]), `None` if a refused peer
/// was closed unseen (look again), `would-block` if nothing is waiting.
pub(crate) fn accept_ahead(gate: &Gate, sock: &mut GuestSocket) -> Result<Option<()>, ErrorCode> {
    match try_accept(gate, sock) {
        Ok(Some(conn)) => {
            sock.pending_accept = Some(Box::new(conn));
            Ok(Some(()))
        }
        Ok(None) => Ok(None),
        Err(ErrorCode::WouldBlock) => Err(ErrorCode::WouldBlock),
        Err(_) => Ok(Some(())),
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

/// Start connecting to `addr` after checking the socket's state and the
/// policy: `Connected` if it finished at once, `InProgress` if the
/// handshake is under way (the socket is then `Connecting`).
pub(crate) fn start_connect(
    ctx: &WasockCtx,
    sock: &mut GuestSocket,
    addr: SocketAddr,
) -> Result<ConnectState, ErrorCode> {
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
            Ok(ConnectState::Connected)
        }
        Ok(ConnectState::InProgress) => {
            sock.state = State::Connecting;
            Ok(ConnectState::InProgress)
        }
        Err(e) => {
            sock.state = after_failure(was);
            Err(e)
        }
    }
}

pub(crate) async fn connect(
    ctx: &WasockCtx,
    sock: &mut GuestSocket,
    addr: SocketAddr,
) -> Result<(), ErrorCode> {
    let was = sock.state;
    if start_connect(ctx, sock, addr)? == ConnectState::Connected {
        return Ok(());
    }
    if sock.nonblocking {
        return Err(ErrorCode::InProgress);
    }
    let deadline = sock.send_deadline();
    // A wait that times out leaves the connect under way.
    retry(sock, Readiness::WRITABLE, deadline, |s| {
        match s.net.connect_state() {
            Ok(ConnectState::Connected) => {
                s.state = State::Connected;
                Ok(Some(()))
            }
            Ok(ConnectState::InProgress) => Err(ErrorCode::WouldBlock),
            Err(e) => {
                s.state = after_failure(was);
                Err(e)
            }
        }
    })
    .await
}

/// Wait for a connect in progress to finish; fail if there is none.
async fn ensure_connected(sock: &mut GuestSocket, interest: Readiness) -> Result<(), ErrorCode> {
    if sock.state == State::Connected {
        return Ok(());
    }
    let deadline = if interest == Readiness::WRITABLE {
        sock.send_deadline()
    } else {
        sock.recv_deadline()
    };
    retry(sock, Readiness::WRITABLE, deadline, |s| {
        refresh_connect(s);
        match s.state {
            State::Connected => Ok(Some(())),
            State::Connecting => Err(ErrorCode::WouldBlock),
            _ => Err(ErrorCode::NotConnected),
        }
    })
    .await
}

/// Send on a connection: all of `data` if the socket blocks (or as much as
/// went before a timeout or an error), as much as fits now if it does not.
pub(crate) async fn send(
    sock: &mut GuestSocket,
    data: &[u8],
    flags: SendFlags,
) -> Result<u64, ErrorCode> {
    ensure_connected(sock, Readiness::WRITABLE).await?;
    if let Some(e) = sock.pending_error.take() {
        return Err(e);
    }
    if data.is_empty() {
        return Ok(0);
    }
    let deadline = sock.send_deadline();
    let mut sent = 0;
    let done = retry(sock, Readiness::WRITABLE, deadline, |s| {
        match s.net.try_send(&data[sent..], flags) {
            Ok(n) => {
                sent += n;
                Ok((s.nonblocking || sent == data.len()).then_some(()))
            }
            Err(ErrorCode::WouldBlock) if s.nonblocking && sent > 0 => Ok(Some(())),
            // What went before the error is the result; the error is the
            // next call's.
            Err(e) if e != ErrorCode::WouldBlock && sent > 0 => {
                s.pending_error = Some(e);
                Ok(Some(()))
            }
            Err(e) => Err(e),
        }
    })
    .await;
    match done {
        Err(_) if sent > 0 => Ok(sent as u64),
        r => r.map(|()| sent as u64),
    }
}

/// The room a stream receive reserves after a small one: a block the
/// allocator keeps in its per-thread cache (glibc's holds up to 1,032
/// bytes), where a large one takes its slow path.
const SMALL_ROOM: usize = 1024;

/// The room for the first try of a receive of up to `want` bytes: after
/// a small receive, room for a small one ([`SMALL_ROOM`]); else all of it.
pub(crate) fn first_room(sock: &GuestSocket, want: usize) -> usize {
    if sock.last_recv as usize <= SMALL_ROOM / 2 {
        want.min(SMALL_ROOM)
    } else {
        want
    }
}

/// Receive on a connection: what is there (waiting for something if the
/// socket blocks), or with `wait_all` until `want` bytes, the end of the
/// stream, an error or a timeout.
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
    // After a small receive, room for a small one, not for all the guest
    // asks: a program that reads 64-byte messages into 16 KiB buffers then
    // costs the allocator a small block, not a large one. Room the data
    // fills is grown to what the guest asks and the receive made again, at
    // once. (Not for a peek, which would see the same bytes twice, nor when
    // the guest waits for all it asks.)
    let mut room = if !flags.peek && !wait_all {
        first_room(sock, want)
    } else {
        want
    };
    let mut buf: Vec<u8> = Vec::new();
    let done = retry(sock, Readiness::READABLE, deadline, |s| {
        let mut grown = false;
        loop {
            let before = buf.len();
            match s.net.try_recv(&mut RecvBuf::new(&mut buf, room), flags) {
                // Nothing, with room left: the end of the stream.
                Ok(()) if buf.len() == before => return Ok(Some(())),
                // Filled: more may be queued.
                Ok(()) if buf.len() == room && room < want => {
                    room = want;
                    grown = true;
                }
                Ok(()) => return Ok((!wait_all || buf.len() == want).then_some(())),
                // Nothing more came after the first room filled.
                Err(ErrorCode::WouldBlock) if grown && !wait_all => return Ok(Some(())),
                Err(e) if e != ErrorCode::WouldBlock && !buf.is_empty() => {
                    // Return what arrived; the error is the next receive's.
                    s.pending_error = Some(e);
                    return Ok(Some(()));
                }
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    if !buf.is_empty() {
        sock.note_received(buf.len());
    }
    match done {
        Err(_) if !buf.is_empty() => Ok(buf),
        r => r.map(|()| buf),
    }
}
