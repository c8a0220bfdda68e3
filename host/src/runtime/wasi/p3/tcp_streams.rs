//! A WASI 0.3 TCP socket's streams: the listener's stream of accepted
//! sockets, and a connection's byte streams to and from the peer. Each
//! moves data only when the guest reads or writes, straight between the
//! socket and the guest's buffer, so the host holds no bytes on a stream's
//! behalf: a guest that does not read leaves them in the socket, where the
//! peer's flow control stops.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;
use wasmtime::StoreContextMut;
use wasmtime::component::{
    Destination, Resource, Source, StreamConsumer, StreamProducer, StreamResult,
};

use super::tcp::TcpSocket;
use crate::net::{ErrorCode, Readiness, RecvFlags, SendFlags, Shutdown};
use crate::runtime::GuestSocket;
use crate::runtime::ctx::WasockCtxView;
use crate::runtime::socket::{State, stream};
use crate::runtime::wasi::shared::{Direction, Inner, Shared};

/// Most bytes one read of a connection's receive stream moves, whatever
/// the guest's buffer: the rest is the next read's.
const READ_CHUNK: usize = 64 * 1024;

/// How a stream's transfer ended, told once to the future beside it.
pub(crate) struct Outcome(Option<oneshot::Sender<Result<(), ErrorCode>>>);

impl Outcome {
    /// An outcome to tell, and the future's side of it.
    pub(crate) fn new() -> (Outcome, oneshot::Receiver<Result<(), ErrorCode>>) {
        let (tx, rx) = oneshot::channel();
        (Outcome(Some(tx)), rx)
    }

    /// Whether the stream has not ended yet.
    fn open(&self) -> bool {
        self.0.is_some()
    }

    /// End the stream with `result` for the future (the first end counts).
    fn end(&mut self, result: Result<(), ErrorCode>) -> StreamResult {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(result);
        }
        StreamResult::Dropped
    }

    /// End the stream of the connection's `direction` with `result` (as
    /// the connection tells it: see [`Inner::end_stream`]), as a poll's
    /// answer.
    fn close(
        &mut self,
        inner: &mut Inner,
        direction: Direction,
        result: Result<(), ErrorCode>,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let result = inner.end_stream(direction, result);
        Poll::Ready(Ok(self.end(result)))
    }
}

/// Most times one poll tries again on a socket that says it is ready and
/// then has nothing: past it, the poll yields to the store's other work.
const TRIES_PER_POLL: u32 = 8;

/// What a poll does after [`wait`]: try again, or return.
enum After {
    Retry,
    Return(Poll<wasmtime::Result<StreamResult>>),
}

/// What a poll that found nothing to do does: wait for `interest` on the
/// socket (`Retry` once it is ready), or give up at once when the guest is
/// cancelling (`Cancelled`); an error the wait meets ends the stream as
/// `fail` says. `tries` counts the tries of this poll, so that a provider
/// waking spuriously cannot hold the thread; `parked` tells the next poll
/// that this one ended waiting (see [`still_parked`]).
fn wait(
    inner: &mut Inner,
    cx: &mut Context<'_>,
    interest: Readiness,
    finish: bool,
    tries: &mut u32,
    parked: &mut bool,
    fail: impl FnOnce(ErrorCode) -> StreamResult,
) -> After {
    if finish {
        return After::Return(Poll::Ready(Ok(StreamResult::Cancelled)));
    }
    *tries += 1;
    if *tries > TRIES_PER_POLL {
        cx.waker().wake_by_ref();
        return After::Return(Poll::Pending);
    }
    if let Err(e) = inner.sock.net.prepare_wait(interest) {
        return After::Return(Poll::Ready(Ok(fail(e))));
    }
    // The socket makes every call for real (`Calls::Real`), and the wait
    // after a try checks the truth; the poll after this one, if it comes
    // before anything happened, only asks the cheap wait (`still_parked`).
    // (Answering `would-block` from the reactor's cache, as UDP receives
    // do, measured no faster here: see BENCHMARKS.md, "WASI 0.3 guests".)
    match inner.sock.net.poll_ready(cx, interest) {
        Poll::Ready(_) => After::Retry,
        Poll::Pending => {
            *parked = true;
            After::Return(Poll::Pending)
        }
    }
}

/// Whether a poll that follows one which ended waiting ([`wait`]) should
/// return `Pending` again without trying: nothing the socket reports for
/// `interest` has happened since. wasmtime polls a stream's producer or
/// consumer first inside the guest's read or write, with a waker that
/// wakes nothing, and at once again from its event loop with the real one:
/// the try in between would only repeat the `would-block` (a system call
/// per wait). The provider's cheap wait ([`NetSocket::poll_wait`]) tells,
/// registering this poll's waker; a spurious "ready" costs one try. A
/// cancelling guest's poll always tries.
///
/// [`NetSocket::poll_wait`]: crate::net::NetSocket::poll_wait
fn still_parked(
    inner: &Inner,
    cx: &mut Context<'_>,
    interest: Readiness,
    finish: bool,
    parked: &mut bool,
) -> bool {
    if !std::mem::take(parked) || finish {
        return false;
    }
    *parked = inner.sock.net.poll_wait(cx, interest).is_pending();
    *parked
}

/// The stream `listen` returns: each read takes one connection the policy
/// admits (refused peers are closed unseen) and hands it to the guest as a
/// new socket.
pub(crate) struct Listener<T> {
    shared: Shared,
    getter: for<'a> fn(&'a mut T) -> WasockCtxView<'a>,
    /// While the system is out of descriptors or buffers, the next try
    /// waits for this: the connection stays queued until it can be taken.
    backoff: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The last poll ended waiting ([`still_parked`]).
    parked: bool,
    /// The backoff is for the instance's socket limit: its refusal was
    /// counted and logged once, at the start of the wait.
    at_limit: bool,
}

/// How long a listener waits before trying again when the system is out
/// of descriptors or buffers, or the instance at its socket limit.
const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(10);

impl<T> Listener<T> {
    /// Wait [`ACCEPT_BACKOFF`] before the next try (`cx` woken then).
    fn back_off(&mut self, cx: &mut Context<'_>) -> Poll<wasmtime::Result<StreamResult>> {
        let mut sleep = Box::pin(tokio::time::sleep(ACCEPT_BACKOFF));
        let _ = sleep.as_mut().poll(cx);
        self.backoff = Some(sleep);
        Poll::Pending
    }

    pub(crate) fn new(shared: Shared, getter: for<'a> fn(&'a mut T) -> WasockCtxView<'a>) -> Self {
        Listener {
            shared,
            getter,
            backoff: None,
            parked: false,
            at_limit: false,
        }
    }
}

impl<T: 'static> StreamProducer<T> for Listener<T> {
    type Item = Resource<TcpSocket>;
    type Buffer = Option<Resource<TcpSocket>>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, T>,
        mut dst: Destination<'a, Self::Item, Self::Buffer>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        if let Some(backoff) = this.backoff.as_mut() {
            if finish {
                this.at_limit = false;
                return Poll::Ready(Ok(StreamResult::Cancelled));
            }
            if backoff.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.backoff = None;
        }
        let shared = this.shared.clone();
        let Ok(mut inner) = shared.lock() else {
            return Poll::Ready(Ok(StreamResult::Dropped));
        };
        let gate = shared.gate.clone();
        // A zero-length read asks whether a connection is waiting: one the
        // policy admits is taken and kept for the next read.
        let probe = dst.remaining(&mut store) == Some(0);
        if still_parked(&inner, cx, Readiness::READABLE, finish, &mut this.parked) {
            return Poll::Pending;
        }
        let mut tries = 0;
        loop {
            // A connection is taken, or a zero-length read told of one,
            // only with a place for it among the instance's sockets. At the
            // limit it stays queued, where the peer waits as for a full
            // backlog: the read waits for one to come, then backs off
            // until the guest closes a socket, as when the system is out
            // of descriptors (the refusal counted and logged once a wait).
            let slot = {
                let ctx = &*(this.getter)(store.data_mut()).ctx;
                match ctx.try_socket_slot() {
                    Some(slot) => slot,
                    None if finish => {
                        this.at_limit = false;
                        return Poll::Ready(Ok(StreamResult::Cancelled));
                    }
                    None if !connection_waits(&mut inner, cx) => {
                        this.parked = true;
                        return Poll::Pending;
                    }
                    None => {
                        if !std::mem::replace(&mut this.at_limit, true) {
                            let _ = ctx.refuse_socket();
                        }
                        return this.back_off(cx);
                    }
                }
            };
            this.at_limit = false;
            let taken = if probe {
                if stream::accept_ready(&gate, &mut inner.sock) {
                    return Poll::Ready(Ok(StreamResult::Completed));
                }
                Err(ErrorCode::WouldBlock)
            } else {
                stream::try_accept(&gate, &mut inner.sock)
            };
            match taken {
                Ok(Some((net, _peer))) => {
                    let view = (this.getter)(store.data_mut());
                    let ctx = &*view.ctx;
                    let sock = GuestSocket::new(ctx, slot, net, State::Connected);
                    let family = sock.family;
                    let conn = Shared::new(sock, ctx.gate.clone());
                    let socket = view.table.push(TcpSocket::connected(conn, family))?;
                    dst.set_buffer(Some(socket));
                    return Poll::Ready(Ok(StreamResult::Completed));
                }
                // A refused peer was closed unseen: try the next.
                Ok(None) => continue,
                Err(ErrorCode::WouldBlock) => {
                    match wait(
                        &mut inner,
                        cx,
                        Readiness::READABLE,
                        finish,
                        &mut tries,
                        &mut this.parked,
                        fatal_accept,
                    ) {
                        After::Retry => continue,
                        After::Return(r) => return r,
                    }
                }
                // The system is out of descriptors or buffers: the
                // connection waits in the queue, and so does the read.
                Err(ErrorCode::NewSocketLimit | ErrorCode::NoBufferSpace) => {
                    if finish {
                        return Poll::Ready(Ok(StreamResult::Cancelled));
                    }
                    return this.back_off(cx);
                }
                // The listener itself is unusable: the stream ends.
                Err(e @ (ErrorCode::InvalidArgument | ErrorCode::NotSupported)) => {
                    return Poll::Ready(Ok(fatal_accept(e)));
                }
                // Any other error belongs to one connection (Linux passes
                // those on from accept: ECONNABORTED, EPROTO, ENETDOWN,
                // EHOSTUNREACH, ...): skip it, as the WIT asks.
                Err(_) => continue,
            }
        }
    }
}

/// Whether a connection waits to be taken: one taken ahead of a read, or
/// the listener readable (if not, `cx` is woken when one comes). A socket
/// that cannot wait says yes, so that the accept reports its error.
fn connection_waits(inner: &mut Inner, cx: &mut Context<'_>) -> bool {
    if inner.sock.pending_accept.is_some() {
        return true;
    }
    if inner.sock.net.prepare_wait(Readiness::READABLE).is_err() {
        return true;
    }
    inner
        .sock
        .net
        .poll_ready(cx, Readiness::READABLE)
        .is_ready()
}

/// An accept error that ends the listener's stream (the socket itself gone
/// bad): said in the log, since the stream cannot carry it.
fn fatal_accept(e: ErrorCode) -> StreamResult {
    tracing::warn!(
        target: "wasock::sockets",
        error = %e,
        "a WASI 0.3 listener's stream of connections ended on an accept error"
    );
    StreamResult::Dropped
}

/// The stream `receive` returns: each read receives what the socket has,
/// into the guest's buffer. It ends at the peer's end of stream (the
/// future says `ok`) or an error (the future says which); dropping it
/// shuts the receiving direction.
pub(crate) struct Receiver {
    shared: Shared,
    outcome: Outcome,
    max_read: usize,
    /// The last poll ended waiting ([`still_parked`]).
    parked: bool,
}

impl Receiver {
    pub(crate) fn new(shared: Shared, outcome: Outcome, max_recv: usize) -> Receiver {
        Receiver {
            shared,
            outcome,
            max_read: max_recv.clamp(1, READ_CHUNK),
            parked: false,
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if self.outcome.open() {
            // The guest dropped the stream before its end: it wants no more
            // (`shutdown(SHUT_RD)`); what is queued is discarded.
            if let Ok(mut inner) = self.shared.lock()
                && !inner.read_closed
            {
                inner.read_closed = true;
                let _ = inner.sock.net.shutdown(Shutdown::Receive);
            }
            self.outcome.end(Ok(()));
        }
    }
}

impl<T: 'static> StreamProducer<T> for Receiver {
    type Item = u8;
    type Buffer = Option<u8>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, T>,
        dst: Destination<'a, Self::Item, Self::Buffer>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        if !this.outcome.open() {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        let shared = this.shared.clone();
        let Ok(mut inner) = shared.lock() else {
            return Poll::Ready(Ok(this.outcome.end(Err(ErrorCode::Unknown))));
        };
        let room = dst.remaining(&mut store);
        let mut tries = 0;
        // Unless the guest asks for zero bytes, the receive writes straight
        // into its buffer (no copy through a vector of our own). A host
        // reader's buffer is zero-filled to the room asked for at every
        // poll: after a small read it gets a small room, as stream
        // receives do.
        let want = match room {
            Some(room) => room.min(this.max_read),
            None => stream::first_room(&inner.sock, this.max_read),
        };
        let mut direct = (want > 0).then(|| dst.as_direct(store, want));
        loop {
            if let Some(e) = inner.sock.pending_error.take() {
                return this.outcome.close(&mut inner, Direction::Receive, Err(e));
            }
            if still_parked(&inner, cx, Readiness::READABLE, finish, &mut this.parked) {
                return Poll::Pending;
            }
            match &mut direct {
                // A zero-length read: is there something to read (data,
                // the end, an error)?
                None => {
                    if inner.has(&shared.gate, Readiness::READABLE | Readiness::HANG_UP) {
                        return Poll::Ready(Ok(StreamResult::Completed));
                    }
                }
                Some(to) => {
                    let mem = to.remaining();
                    let want = want.min(mem.len());
                    let got = inner
                        .sock
                        .net
                        .try_recv_into(&mut mem[..want], RecvFlags::default());
                    match got {
                        // Nothing, with room: the peer ended the stream.
                        Ok(0) if want > 0 => {
                            return this.outcome.close(&mut inner, Direction::Receive, Ok(()));
                        }
                        Ok(n) => {
                            inner.sock.note_received(n);
                            to.mark_written(n.min(want));
                            return Poll::Ready(Ok(StreamResult::Completed));
                        }
                        Err(ErrorCode::WouldBlock) => {}
                        Err(e) => {
                            return this.outcome.close(&mut inner, Direction::Receive, Err(e));
                        }
                    }
                }
            }
            let outcome = &mut this.outcome;
            match wait(
                &mut inner,
                cx,
                Readiness::READABLE,
                finish,
                &mut tries,
                &mut this.parked,
                |e| outcome.end(Err(e)),
            ) {
                After::Retry => continue,
                After::Return(r) => return r,
            }
        }
    }
}

/// What `send` pipes the guest's stream into: each write goes from the
/// guest's buffer to the socket, as much as the socket takes. The guest
/// closing its end sends the FIN (`shutdown(SHUT_WR)`) and resolves the
/// future with `ok`; an error resolves it with the error.
pub(crate) struct Sender {
    shared: Shared,
    outcome: Outcome,
    /// The last poll ended waiting ([`still_parked`]).
    parked: bool,
}

impl Sender {
    pub(crate) fn new(shared: Shared, outcome: Outcome) -> Sender {
        Sender {
            shared,
            outcome,
            parked: false,
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if !self.outcome.open() {
            return;
        }
        // Everything written is in the socket: the guest's end of stream
        // is the connection's.
        let result = match self.shared.lock() {
            Ok(mut inner) if !inner.write_closed => {
                inner.write_closed = true;
                match inner.sock.net.shutdown(Shutdown::Send) {
                    Ok(()) | Err(ErrorCode::NotConnected) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Ok(_) => Ok(()),
            Err(_) => Err(ErrorCode::Unknown),
        };
        self.outcome.end(result);
    }
}

impl<T: 'static> StreamConsumer<T> for Sender {
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<T>,
        src: Source<Self::Item>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        if !this.outcome.open() {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        let shared = this.shared.clone();
        let Ok(mut inner) = shared.lock() else {
            return Poll::Ready(Ok(this.outcome.end(Err(ErrorCode::Unknown))));
        };
        let mut src = src.as_direct(store);
        let mut tries = 0;
        loop {
            if let Some(e) = inner.sock.pending_error.take() {
                return this.outcome.close(&mut inner, Direction::Send, Err(e));
            }
            if still_parked(&inner, cx, Readiness::WRITABLE, finish, &mut this.parked) {
                return Poll::Pending;
            }
            let bytes = src.remaining();
            if bytes.is_empty() {
                // A zero-length write: is there room?
                if inner.has(&shared.gate, Readiness::WRITABLE) {
                    return Poll::Ready(Ok(StreamResult::Completed));
                }
            } else {
                let len = bytes.len();
                match inner.sock.net.try_send(bytes, SendFlags::default()) {
                    Ok(n) => {
                        src.mark_read(n.min(len));
                        return Poll::Ready(Ok(StreamResult::Completed));
                    }
                    Err(ErrorCode::WouldBlock) => {}
                    Err(e) => {
                        return this.outcome.close(&mut inner, Direction::Send, Err(e));
                    }
                }
            }
            let outcome = &mut this.outcome;
            match wait(
                &mut inner,
                cx,
                Readiness::WRITABLE,
                finish,
                &mut tries,
                &mut this.parked,
                |e| outcome.end(Err(e)),
            ) {
                After::Retry => continue,
                After::Return(r) => return r,
            }
        }
    }
}
