//! Guest sockets: the runtime's state machine over a provider socket, and
//! the `socket` interface's host functions.
//!
//! The state machine gives every provider the same documented results for
//! operations in the wrong state, and keeps what the policy needs (how a
//! socket was bound, which peers it contacted).

pub(crate) mod datagram;
pub(crate) mod direct;
mod host;
pub(crate) mod options;
pub(crate) mod stream;
mod wait;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::net::{Calls, ErrorCode, Family, NetSocket, Readiness, SocketType};
use crate::policy::Operation;
use crate::runtime::admission::{Contacts, Gate};
use crate::runtime::budget::Share;
use crate::runtime::clock::Clock;
use crate::runtime::ctx::WasockCtx;

pub(crate) use wait::{Deadline, retry};

/// Where a socket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Opened, no address.
    Unbound,
    /// Bound by `bind`.
    Bound,
    /// Bound by the system during a connect or send-to: may never listen.
    ImplicitlyBound,
    /// Listening (stream).
    Listening,
    /// A non-blocking connect is under way (stream).
    Connecting,
    /// Connected (stream).
    Connected,
}

/// Serials of sockets, never reused (see [`GuestSocket::serial`]).
static SERIALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A socket in the guest's table.
pub struct GuestSocket {
    pub(crate) net: Box<dyn NetSocket>,
    /// Unique in the process: tells this socket from a later one that takes
    /// its place in the table (a poll set keeps table places, not borrows).
    pub(crate) serial: u64,
    pub(crate) family: Family,
    pub(crate) socket_type: SocketType,
    pub(crate) state: State,
    pub(crate) nonblocking: bool,
    /// Bytes the last stream receive returned (`u32::MAX` before the
    /// first): after a small one, the next reserves room for a small one
    /// rather than for all the guest asks (see `stream::recv`).
    pub(crate) last_recv: u32,
    pub(crate) recv_timeout: Option<Duration>,
    pub(crate) send_timeout: Option<Duration>,
    /// A datagram socket's default peer.
    pub(crate) peer: Option<SocketAddr>,
    /// Peers this datagram socket sent to: their replies are delivered
    /// without a `udp-recv` grant.
    pub(crate) contacted: Contacts,
    /// A connection taken from the queue by `poll` (to check it against the
    /// policy) and not yet returned by `accept`. Boxed: only listeners
    /// keep one, and every socket would pay for the room.
    pub(crate) pending_accept: Option<Box<stream::Connection>>,
    /// An error the system reported to a call that could not pass it on,
    /// kept for the next receive (or `take-error`), as the system would
    /// have: the outcome of a non-blocking connect that `poll` collected,
    /// an asynchronous error consumed while looking ahead (datagram), or
    /// the error that ended a wait-all receive that already had data.
    pub(crate) pending_error: Option<ErrorCode>,
    /// Buffer space asked for with the buffer-size options (receive, send);
    /// `buffers` holds their sum of the instance's `max_buffer_bytes`.
    pub(crate) buffers_asked: (u64, u64),
    pub(crate) buffers: Share,
    /// This socket's place among the instance's `max_sockets`.
    _slot: Share,
    /// The instance's clock, for timeouts.
    pub(crate) clock: Arc<dyn Clock>,
    /// Blocking calls wait in place first (`WasockCtx::waits_in_place`).
    pub(crate) waits_in_place: bool,
}

impl GuestSocket {
    /// A socket in the place `slot` reserved (see `WasockCtx::socket_slot`).
    pub(crate) fn new(
        ctx: &WasockCtx,
        slot: Share,
        net: Box<dyn NetSocket>,
        state: State,
    ) -> GuestSocket {
        GuestSocket {
            serial: SERIALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            family: net.family(),
            socket_type: net.socket_type(),
            net,
            state,
            nonblocking: false,
            last_recv: u32::MAX,
            recv_timeout: None,
            send_timeout: None,
            peer: None,
            contacted: ctx.gate.contacts(),
            pending_accept: None,
            pending_error: None,
            buffers_asked: (0, 0),
            buffers: ctx.buffers.empty_share(),
            _slot: slot,
            clock: ctx.clock.clone(),
            waits_in_place: ctx.waits_in_place,
        }
    }

    pub(crate) fn is_stream(&self) -> bool {
        self.socket_type == SocketType::Stream
    }

    pub(crate) fn recv_deadline(&self) -> Deadline {
        Deadline::after(&*self.clock, self.recv_timeout)
    }

    pub(crate) fn send_deadline(&self) -> Deadline {
        Deadline::after(&*self.clock, self.send_timeout)
    }

    pub(crate) fn bind(&mut self, ctx: &WasockCtx, addr: SocketAddr) -> Result<(), ErrorCode> {
        if Family::of(&addr) != self.family {
            return Err(ErrorCode::AddressFamilyNotSupported);
        }
        if self.state != State::Unbound {
            return Err(ErrorCode::InvalidArgument);
        }
        let op = if self.is_stream() {
            Operation::TcpBind
        } else {
            Operation::UdpBind
        };
        ctx.check(op, addr)?;
        self.net.bind(addr)?;
        self.state = State::Bound;
        Ok(())
    }

    /// The conditions that hold now, as the guest sees them: a listener is
    /// readable only with a connection the policy admits, a datagram socket
    /// only with a datagram it may receive, and a finished non-blocking
    /// connect has its outcome collected.
    pub(crate) fn readiness(&mut self, gate: &Gate) -> Readiness {
        self.with_real_calls(|s| s.readiness_now(gate))
    }

    /// Run `f` with the provider making every system call (as for a
    /// non-blocking socket), whatever the guest's mode: looking ahead must
    /// see the truth, not a cached readiness.
    pub(crate) fn with_real_calls<R>(&mut self, f: impl FnOnce(&mut GuestSocket) -> R) -> R {
        self.net.set_calls(Calls::Real);
        let r = f(self);
        self.net.set_calls(self.calls());
        r
    }

    /// Remember the size of the last receive that got something (see
    /// `stream::first_room`).
    pub(crate) fn note_received(&mut self, n: usize) {
        self.last_recv = u32::try_from(n).unwrap_or(u32::MAX);
    }

    /// Put the socket in the guest's non-blocking or blocking mode, and
    /// tell the provider how its calls may answer in that mode.
    pub(crate) fn set_nonblocking(&mut self, on: bool) {
        self.nonblocking = on;
        self.net.set_calls(self.calls());
    }

    /// How the provider's calls may answer for the guest's mode.
    pub(crate) fn calls(&self) -> Calls {
        if self.nonblocking {
            Calls::Real
        } else {
            Calls::Waiting
        }
    }

    fn readiness_now(&mut self, gate: &Gate) -> Readiness {
        match self.state {
            State::Listening => {
                let mut r = self.net.readiness().and(Readiness::ERROR);
                if stream::accept_ready(gate, self) {
                    r |= Readiness::READABLE;
                }
                r
            }
            State::Connecting => {
                let r = self.net.readiness();
                stream::refresh_connect(self);
                r
            }
            _ => {
                if !self.is_stream() {
                    let _waiting = datagram::drop_unadmitted(gate, self);
                }
                let r = self.net.readiness();
                self.with_kept_error(r)
            }
        }
    }

    /// [`GuestSocket::readiness`] for a wait on `wanted`: a bound datagram
    /// socket waited on only for receiving is looked at with one peek at its
    /// queue, which says all a receive needs (a datagram the guest may hear,
    /// or an error), instead of that and the readiness of every direction.
    pub(crate) fn readiness_for(&mut self, gate: &Gate, wanted: Readiness) -> Readiness {
        if self.is_stream() || self.state == State::Unbound || wanted.contains(Readiness::WRITABLE)
        {
            return self.readiness(gate);
        }
        let waiting = self.with_real_calls(|s| datagram::drop_unadmitted(gate, s));
        self.with_kept_error(if waiting {
            Readiness::READABLE
        } else {
            Readiness::EMPTY
        })
    }

    /// [`GuestSocket::readiness`], given what the provider reported a
    /// moment ago (`seen`, from a wait that just ended): for a connected
    /// stream the provider's conditions are the guest's, so there is no
    /// need to ask again; other sockets are filtered as usual.
    pub(crate) fn readiness_after(
        &mut self,
        gate: &Gate,
        seen: Readiness,
        wanted: Readiness,
    ) -> Readiness {
        if self.is_connected_stream() {
            return self.with_kept_error(seen);
        }
        self.readiness_for(gate, wanted)
    }

    /// A connected stream socket: one whose provider readiness is the
    /// guest's, unfiltered.
    pub(crate) fn is_connected_stream(&self) -> bool {
        self.is_stream() && self.state == State::Connected
    }

    /// `r`, and what a kept error adds: the next call reports it at once.
    fn with_kept_error(&self, r: Readiness) -> Readiness {
        if self.pending_error.is_some() {
            r | Readiness::READABLE | Readiness::ERROR
        } else {
            r
        }
    }

    /// Check a destination: its family, and that it is a real destination
    /// (not the unspecified address in any spelling, `::ffff:0.0.0.0`
    /// included, which Linux would take for this machine; not port 0).
    pub(crate) fn check_destination(&self, addr: &SocketAddr) -> Result<(), ErrorCode> {
        if Family::of(addr) != self.family {
            return Err(ErrorCode::AddressFamilyNotSupported);
        }
        if crate::policy::no_destination(*addr).is_some() {
            return Err(ErrorCode::AddressNotAvailable);
        }
        Ok(())
    }
}
