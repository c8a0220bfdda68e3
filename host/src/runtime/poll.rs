//! The `poll` interface: wait on many sockets at once.

use std::future::poll_fn;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::admission::Gate;
use super::bindings::wasock::sockets::poll::{Host, PollEntry};
use super::bindings::wasock::sockets::types::Readiness;
use super::clock::{Clock, spin, until};
use super::convert::{readiness_from_net, readiness_to_net};
use super::ctx::WasockCtxView;
use super::drain::DrainWatch;
use super::error::SocketResult;
use super::socket::GuestSocket;
use crate::net::{ErrorCode, Readiness as NetReadiness};

impl Host for WasockCtxView<'_> {
    async fn poll(
        &mut self,
        entries: Vec<PollEntry>,
        timeout: Option<u64>,
    ) -> SocketResult<Vec<Readiness>> {
        if entries.is_empty() && timeout.is_none() {
            return Err(ErrorCode::InvalidArgument.into());
        }
        self.ctx.note_poll();
        if entries.len() > self.ctx.limits.max_poll_entries {
            return Err(ErrorCode::InvalidArgument.into());
        }
        // Resolve every handle first: an unknown one traps, whatever else
        // is ready.
        for e in &entries {
            self.table.get(&e.socket)?;
        }
        let interests: Vec<NetReadiness> = entries
            .iter()
            .map(|e| readiness_to_net(e.interest))
            .collect();
        let clock = self.ctx.clock.clone();
        let deadline = timeout.and_then(|ns| clock.now().checked_add(Duration::from_nanos(ns)));
        if timeout == Some(0) {
            // A check: the truth of every entry, now.
            let mut out = Vec::with_capacity(entries.len());
            for (e, interest) in entries.iter().zip(&interests) {
                let sock = self.table.get_mut(&e.socket)?;
                sock.net.prepare_wait(*interest)?;
                let wanted = interest.wakes_on();
                out.push(readiness_from_net(
                    sock.readiness_for(&self.ctx.gate, wanted).and(wanted),
                ));
            }
            spin(&*clock).await;
            return Ok(out);
        }
        // One pass over the entries per wake-up. A socket the provider has
        // seen no event on costs no system call (it registers for the next
        // one); only those that woke are looked at closely.
        let (table, gate) = (&mut *self.table, &self.ctx.gate);
        let found = passes(&*clock, self.ctx.ends_early(), deadline, |cx| {
            let mut out = Vec::with_capacity(entries.len());
            let (mut any, mut woke) = (false, false);
            for (e, interest) in entries.iter().zip(&interests) {
                let sock = match table.get_mut(&e.socket) {
                    Ok(sock) => sock,
                    Err(err) => return Pass::Found(Err(err.into())),
                };
                if let Err(err) = sock.net.prepare_wait(*interest) {
                    return Pass::Found(Err(err.into()));
                }
                let now = match look(sock, gate, cx, *interest) {
                    Poll::Ready(now) => {
                        woke = true;
                        now
                    }
                    Poll::Pending => NetReadiness::EMPTY,
                };
                any |= !now.is_empty();
                out.push(readiness_from_net(now));
            }
            if any {
                Pass::Found(Ok(out))
            } else if woke {
                // Something changed that the guest may not see (a refused
                // peer dropped, a stale event): look again.
                Pass::Again
            } else {
                Pass::Idle
            }
        })
        .await;
        found.unwrap_or_else(|| Ok(vec![Readiness::empty(); entries.len()]))
    }
}

/// What one pass of a wait over its sockets found.
pub(super) enum Pass<T> {
    /// What the wait returns.
    Found(T),
    /// Nothing yet, but a socket woke with nothing to show (a refused peer
    /// dropped, a stale event): pass again at once.
    Again,
    /// Nothing; every socket looked at is registered for its next event.
    Idle,
}

/// What ends an instance's wait early, with nothing ready (see
/// `WasockCtx::ends_early`).
pub(crate) struct EndsEarly<'a> {
    /// Notified when the thread that owns the store needs it back (see
    /// `runtime::bridge`).
    pub(super) interrupt: Option<&'a Notify>,
    /// The serving host's shutdown: told once (see `wit/drain.wit`).
    pub(super) drain: Option<&'a DrainWatch>,
}

impl EndsEarly<'_> {
    fn never(&self) -> bool {
        self.interrupt.is_none() && self.drain.is_none()
    }

    /// Completes when the wait should end.
    async fn happens(&self) {
        let interrupt = async {
            match self.interrupt {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        let drain = async {
            match self.drain {
                Some(d) => d.tell().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = interrupt => {}
            () = drain => {}
        }
    }
}

/// The one wait loop of `poll` and `poll-set.wait`: passes of `pass` until
/// one finds something, or `None` once `deadline` passes on `clock` or
/// `early` happens (a pass that finds something at the same moment wins).
///
/// Before each pass the task yields, so that the runtime takes in the
/// events that came while the guest ran and the sockets that became ready
/// are seen now rather than on the next call. (A socket whose event is not
/// taken in yet may show nothing while others are reported; the next call
/// reports it, as the WIT says.) A pass is one step, however many sockets
/// it looks at: it runs outside tokio's cooperative budget, which would
/// otherwise make every readiness check past the 128th say "pending"
/// unseen, and leave the sockets late in the list unlooked-at while the
/// early ones keep the guest busy.
pub(super) async fn passes<T>(
    clock: &dyn Clock,
    early: EndsEarly<'_>,
    deadline: Option<Instant>,
    mut pass: impl FnMut(&mut Context<'_>) -> Pass<T>,
) -> Option<T> {
    loop {
        tokio::task::yield_now().await;
        let looked = poll_fn(|cx| match pass(cx) {
            Pass::Found(v) => Poll::Ready(Some(v)),
            Pass::Again => Poll::Ready(None),
            Pass::Idle => Poll::Pending,
        });
        let waited = until(clock, deadline, tokio::task::unconstrained(looked));
        let waited = if early.never() {
            waited.await
        } else {
            tokio::select! {
                biased;
                waited = waited => waited,
                () = early.happens() => return None,
            }
        };
        match waited {
            Ok(Some(v)) => return Some(v),
            // The wait is not over, but its time may be: a socket that
            // keeps waking with nothing the guest wants must not hold the
            // guest past its timeout.
            Ok(None) if deadline.is_some_and(|d| clock.now() >= d) => return None,
            Ok(None) => {}
            Err(()) => return None,
        }
    }
}

/// What `sock` lets the guest do of `interest` (with what always wakes a
/// wait: [`NetReadiness::wakes_on`]), if anything changed: `Pending` (with
/// `cx` registered) while the provider has seen nothing new. What the
/// runtime keeps itself (an error for the next call, a connection for the
/// next accept) holds at once.
pub(super) fn look(
    sock: &mut GuestSocket,
    gate: &Gate,
    cx: &mut Context<'_>,
    interest: NetReadiness,
) -> Poll<NetReadiness> {
    let wanted = interest.wakes_on();
    let kept = sock.pending_error.is_some()
        || (sock.pending_accept.is_some() && interest.contains(NetReadiness::READABLE));
    if kept {
        return Poll::Ready(sock.readiness_for(gate, wanted).and(wanted));
    }
    if !sock.is_connected_stream() {
        // Listeners, datagram and connecting sockets: what the runtime
        // filters (refused peers) is seen only by looking. A connected
        // stream's events say all there is.
        let now = sock.readiness_for(gate, wanted).and(wanted);
        if !now.is_empty() {
            return Poll::Ready(now);
        }
    }
    sock.net
        .poll_ready(cx, interest)
        .map(|seen| sock.readiness_after(gate, seen, wanted).and(wanted))
}
