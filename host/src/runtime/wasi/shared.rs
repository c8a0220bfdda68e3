//! A socket shared by a `wasi:sockets` resource and the streams it handed
//! out, and the wait that a `wasi:io` pollable on it runs.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use bytes::Bytes;

use super::tcp_outgoing::Outgoing;
use crate::net::{Calls, ErrorCode, Family, Readiness, SockOption, SocketType};
use crate::runtime::GuestSocket;
use crate::runtime::admission::Gate;
use crate::runtime::ctx::WasockCtx;
use crate::runtime::socket::State;

/// What a socket's resource and its streams share: the socket of the
/// socket layer, and which directions WASI has closed.
pub(crate) struct Inner {
    pub sock: GuestSocket,
    /// `shutdown(receive)` was called, or the stream ended: the input
    /// stream is closed.
    pub read_closed: bool,
    /// `shutdown(send)` was called (the socket's sending side may still
    /// be open while bytes written before it go), or a send failure was
    /// reported: the output stream is closed.
    pub write_closed: bool,
    /// What the output stream wrote that the socket has not taken yet.
    pub outgoing: Outgoing,
    /// Which pair of datagram streams is the live one (each `stream` call
    /// makes a new pair; older pairs stop working).
    pub generation: u64,
    /// Where datagrams are received before they are copied out at their
    /// own size: allocated once, at the first receive.
    pub scratch: Vec<u8>,
    /// What a pollable received while it waited: the next receive or
    /// read returns it before asking the socket.
    pub ahead: Option<Ahead>,
    /// What the provider reported as the wait of [`Shared::wait_until`]
    /// ended, for its next look at the socket (which then needs no system
    /// call of its own); gone after that look.
    seen: Option<Readiness>,
    /// How the connection ended abnormally (reset or aborted), as the
    /// first direction to learn it was told (see [`Inner::end_stream`]).
    /// (WASI 0.3's streams use it; 0.2's keep the system's answers.)
    #[cfg(feature = "wasi-0-3")]
    broken: Option<ErrorCode>,
}

/// What a pollable received ahead of the guest's next call: one slot for
/// both kinds, since a socket is one or the other.
pub(crate) enum Ahead {
    /// An incoming datagram stream's: a datagram and its sender (see
    /// `udp::receive_ahead`).
    Datagram(Vec<u8>, SocketAddr),
    /// An input stream's: bytes, or nothing if what it found was the end
    /// of the stream (see `tcp_streams::TcpReader`).
    Bytes(Bytes),
}

/// A socket whose lock a host panic poisoned: a host defect, which traps
/// the instance (whichever WASI version it speaks).
#[derive(Debug)]
pub(crate) struct Poisoned;

impl Poisoned {
    /// What the trap says.
    pub(crate) const MESSAGE: &str = "a wasi:sockets socket was poisoned by a host failure";
}

/// An error type a WASI version's host functions return, that the socket
/// layer's errors and a poisoned socket convert into: what lets one helper
/// serve both WASI versions.
pub(crate) trait LayerError: From<ErrorCode> + From<Poisoned> {}

impl<E: From<ErrorCode> + From<Poisoned>> LayerError for E {}

/// A socket shared between a resource and its streams.
#[derive(Clone)]
pub(crate) struct Shared {
    inner: Arc<Mutex<Inner>>,
    /// The instance's policy, for what readiness hides (refused peers).
    pub gate: Arc<Gate>,
}

impl Shared {
    /// Share `sock`. WASI sockets never block: the provider makes every
    /// call for real (no `would-block` from cached readiness), so that an
    /// operation after a pollable said ready finds what it said.
    pub(crate) fn new(mut sock: GuestSocket, gate: Arc<Gate>) -> Shared {
        sock.set_nonblocking(true);
        Shared {
            inner: Arc::new(Mutex::new(Inner {
                sock,
                read_closed: false,
                write_closed: false,
                outgoing: Outgoing::default(),
                generation: 0,
                scratch: Vec::new(),
                ahead: None,
                seen: None,
                #[cfg(feature = "wasi-0-3")]
                broken: None,
            })),
            gate,
        }
    }

    /// A new WASI socket of the socket layer, in its place among the
    /// instance's sockets. WASI's IPv6 sockets are IPv6-only, and cannot
    /// be made otherwise.
    ///
    /// A stream socket sends each write at once (`TCP_NODELAY`), as Go's
    /// `net` does every connection: WASI has no option for it, and under
    /// Nagle's algorithm a reply written in two parts (hyper writes a
    /// response's head and body with one `writev`, of which wasi-libc
    /// sends one buffer per call) waits for the peer's delayed
    /// acknowledgement, 40 ms on Linux, on every request. Set here, on the
    /// socket a guest opens, it holds for the connections a listener
    /// accepts too: they inherit it, as the provider contract says
    /// (`wit/README.md`), so an accept makes no extra call.
    pub(crate) fn open(
        ctx: &WasockCtx,
        family: Family,
        socket_type: SocketType,
    ) -> Result<Shared, ErrorCode> {
        let slot = ctx.socket_slot()?;
        let mut net = ctx.provider.open(family, socket_type)?;
        if family == Family::Ipv6 {
            net.set_option(SockOption::Ipv6Only(true))?;
        }
        if socket_type == SocketType::Stream
            && let Err(e) = net.set_option(SockOption::NoDelay(true))
        {
            // A provider without the option sends as it always does.
            tracing::debug!("a wasi:sockets stream keeps Nagle's algorithm: {e}");
        }
        let sock = GuestSocket::new(ctx, slot, net, State::Unbound);
        Ok(Shared::new(sock, ctx.gate.clone()))
    }

    /// Let the provider answer `would-block` from what it already knows
    /// (the reactor's cached readiness) instead of asking the system each
    /// time, as for a guest's blocking socket: right when every
    /// `would-block` is followed by a wait on [`NetSocket::poll_wait`]
    /// before the operation is tried again, as WASI 0.3's TCP streams do.
    /// What the guest is told of readiness still comes from real calls.
    ///
    /// [`NetSocket::poll_wait`]: crate::net::NetSocket::poll_wait
    #[cfg(feature = "wasi-0-3")]
    pub(crate) fn waits_through_cache(self) -> Shared {
        if let Ok(mut inner) = self.inner.lock() {
            inner.sock.set_nonblocking(false);
        }
        self
    }

    /// The socket, for one non-blocking operation. A lock poisoned by a
    /// host panic traps the instance.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Inner>, Poisoned> {
        self.inner.lock().map_err(|_| Poisoned)
    }

    /// The socket for a stream operation, whose errors are stream errors.
    pub(crate) fn lock_stream(
        &self,
    ) -> Result<MutexGuard<'_, Inner>, wasmtime_wasi::p2::StreamError> {
        self.inner
            .lock()
            .map_err(|_| wasmtime_wasi::p2::StreamError::trap(Poisoned::MESSAGE))
    }

    /// What a pollable on this socket does (and the task that sends what
    /// an output stream holds): return once `done` holds, waiting for
    /// `interest` on the provider in between. `done` checks the truth (the
    /// provider may wake spuriously), so that the operation the guest
    /// retries after the wait does not find `would-block` again.
    ///
    /// The wait is [`NetSocket::poll_ready`], which checks the truth and
    /// clears a stale cached readiness, and for a send does not end at the
    /// peer's FIN. A socket that cannot wait (its `prepare_wait` failed) or
    /// whose lock a host failure poisoned ends the wait with that error.
    ///
    /// [`NetSocket::poll_ready`]: crate::net::NetSocket::poll_ready
    pub(crate) async fn wait_until(
        &self,
        interest: Readiness,
        mut done: impl FnMut(&mut Inner, &Gate) -> bool,
    ) -> Result<(), ErrorCode> {
        loop {
            {
                let Ok(mut inner) = self.inner.lock() else {
                    return Err(ErrorCode::Unknown);
                };
                let done = done(&mut inner, &self.gate);
                inner.seen = None;
                if done {
                    return Ok(());
                }
                // A socket that cannot wait has something to report (a
                // WASI 0.2 operation retried will say what).
                inner.sock.net.prepare_wait(interest)?;
            }
            poll_fn(|cx| match self.inner.lock() {
                Ok(mut inner) => inner.sock.net.poll_ready(cx, interest).map(|r| {
                    inner.seen = Some(r);
                }),
                Err(_) => Poll::Ready(()),
            })
            .await;
            // A provider that keeps waking with nothing to do must not hold
            // the thread.
            tokio::task::consume_budget().await;
        }
    }
}

impl Shared {
    /// Wait until an operation of `interest` may succeed, trusting the
    /// reactor's cache: may end spuriously; the caller tries again. The
    /// operation that found nothing, and each try after the wait, must go
    /// through the cache too (a socket made with
    /// `Shared::waits_through_cache`, or a look in
    /// [`Inner::with_cached_calls`]), or one that was real and found
    /// nothing (which leaves the cache cleared).
    pub(crate) async fn wait_cached(&self, interest: Readiness) -> Result<(), ErrorCode> {
        self.lock()
            .map_err(|_| ErrorCode::Unknown)?
            .sock
            .net
            .prepare_wait(interest)?;
        poll_fn(|cx| match self.inner.lock() {
            Ok(inner) => inner.sock.net.poll_wait(cx, interest),
            Err(_) => Poll::Ready(()),
        })
        .await;
        Ok(())
    }

    /// [`Shared::wait_until`] for a `wasi:io` pollable, which has no error
    /// to give: the operation the guest retries after it says what.
    pub(crate) async fn ready_when(
        &self,
        interest: Readiness,
        done: impl FnMut(&mut Inner, &Gate) -> bool,
    ) {
        let _ = self.wait_until(interest, done).await;
    }
}

/// A side of a connection, whose stream ends on its own.
#[cfg(feature = "wasi-0-3")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// The receive stream.
    Receive,
    /// The send stream.
    Send,
}

impl Inner {
    /// End `direction`'s stream with `result`, marking that side closed:
    /// what the stream's future is told. A reset or abort either side met
    /// is remembered for the other, since the system tells it once: a
    /// receive that then finds the end of the stream reports it (WASI 0.3's
    /// `receive` is an error "if the socket was closed abnormally"). A send
    /// after it needs nothing: every provider answers it with
    /// `connection-reset` (Linux's `EPIPE`, as the native provider maps it).
    #[cfg(feature = "wasi-0-3")]
    pub(crate) fn end_stream(
        &mut self,
        direction: Direction,
        result: Result<(), ErrorCode>,
    ) -> Result<(), ErrorCode> {
        let result = match (result, self.broken) {
            (Err(e @ (ErrorCode::ConnectionReset | ErrorCode::ConnectionAborted)), _) => {
                self.broken = Some(e);
                Err(e)
            }
            (Ok(()), Some(broken)) if direction == Direction::Receive => Err(broken),
            (result, _) => result,
        };
        match direction {
            Direction::Receive => self.read_closed = true,
            Direction::Send => self.write_closed = true,
        }
        result
    }

    /// Run `f` with the provider answering `would-block` from the
    /// reactor's cache (no system call while the reactor saw nothing
    /// change): right for a look that is followed, on `would-block`, by
    /// [`Shared::wait_cached`] and another look, as a pollable's wait does.
    /// Calls the guest makes itself stay real calls, so the look is a
    /// [`Calls::Look`]: the provider prepares nothing for the call after
    /// it.
    pub(crate) fn with_cached_calls<R>(&mut self, f: impl FnOnce(&mut Inner) -> R) -> R {
        self.sock.net.set_calls(Calls::Look);
        let r = f(self);
        self.sock.net.set_calls(self.sock.calls());
        r
    }

    /// Whether the socket has any of `wanted` (or an error) to report now,
    /// as the guest sees it (see [`GuestSocket::readiness`]); right after a
    /// wait, from what the wait saw ([`GuestSocket::readiness_for`]).
    pub(crate) fn has(&mut self, gate: &Gate, wanted: Readiness) -> bool {
        let now = match self.seen.take() {
            Some(seen) => self.sock.readiness_after(gate, seen, wanted),
            None => self.sock.readiness_for(gate, wanted),
        };
        now.intersects(wanted | Readiness::ERROR)
    }
}

/// The error a stream reports for a failed operation: `last-operation-failed`
/// with the provider's code, which `network-error-code` reads back.
pub(crate) fn stream_failure(e: ErrorCode) -> wasmtime_wasi::p2::StreamError {
    wasmtime_wasi::p2::StreamError::LastOperationFailed(wasmtime::Error::new(e))
}

/// Try `attempt` (one look under the socket's lock for something to
/// receive: a datagram, a stream's bytes, or a connection) until it finds
/// something: `Ok(None)` (a datagram or a connection from a refused peer,
/// dropped unseen) looks again after letting other tasks run, so that a
/// flood cannot hold the thread; after `would-block`, it waits through the
/// reactor's cache, so `attempt` must look through it too
/// ([`Inner::with_cached_calls`]) or make a real call. Errors become `E`
/// through `error`. What the receives and receiving pollables of both WASI
/// versions wait with.
pub(crate) async fn receive_waiting<T, E: LayerError>(
    shared: &Shared,
    mut attempt: impl FnMut(&mut Inner) -> Result<Option<T>, ErrorCode>,
    error: impl Fn(ErrorCode) -> E,
) -> Result<T, E> {
    loop {
        let tried = attempt(&mut *shared.lock()?);
        match tried {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => tokio::task::consume_budget().await,
            Err(ErrorCode::WouldBlock) => shared
                .wait_cached(Readiness::READABLE)
                .await
                .map_err(&error)?,
            Err(e) => return Err(error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::OptionName;

    /// Both ways a standard guest gets a stream socket, opening one and
    /// accepting one, end in a socket with Nagle's algorithm off (the
    /// accepted one by inheriting it from its listener); a datagram socket
    /// is left as it is.
    #[tokio::test]
    async fn standard_stream_sockets_send_each_write_at_once() {
        let ctx = WasockCtx::builder().build();
        let no_delay = |shared: &Shared| {
            let inner = shared.lock().unwrap();
            inner.sock.net.get_option(OptionName::NoDelay)
        };
        for family in [Family::Ipv4, Family::Ipv6] {
            let opened = Shared::open(&ctx, family, SocketType::Stream).unwrap();
            assert_eq!(no_delay(&opened), Ok(SockOption::NoDelay(true)));
        }
        // A connection accepted by such a socket, as `accept` shares it.
        let listener = Shared::open(&ctx, Family::Ipv4, SocketType::Stream).unwrap();
        let addr = {
            let mut inner = listener.lock().unwrap();
            inner.sock.net.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            inner.sock.net.listen(1).unwrap();
            inner.sock.net.local_addr().unwrap()
        };
        // The handshake is done when `connect` returns: the connection
        // waits in the listener's queue.
        let _peer = std::net::TcpStream::connect(addr).unwrap();
        let (net, _) = listener.lock().unwrap().sock.net.try_accept().unwrap();
        let slot = ctx.socket_slot().unwrap();
        let accepted = Shared::new(
            GuestSocket::new(&ctx, slot, net, State::Connected),
            ctx.gate.clone(),
        );
        assert_eq!(no_delay(&accepted), Ok(SockOption::NoDelay(true)));
        let datagram = Shared::open(&ctx, Family::Ipv4, SocketType::Datagram).unwrap();
        assert!(no_delay(&datagram).is_err());
    }
}
