//! The reactor: which tasks wait on which sockets, and the one wait on a
//! host-kept poll set per idle turn that wakes them.
//!
//! The set is one-shot: a socket is armed in it (with the interests of all
//! its waiters merged) when a task starts waiting on it, and leaves it when
//! the host reports it. So a turn tells the host only what changed since
//! the last one, and the host looks only at sockets that had an event: a
//! turn costs what the ready sockets cost, however many wait.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::mem::{self, ManuallyDrop};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::Socket;
use crate::bindings::wasock::sockets::poll::{PollChange, PollEvent, PollSet};
use crate::bindings::wasock::sockets::types::{ErrorCode, Readiness};

/// Most sockets waited on at once: the host's default limit of sockets in
/// one poll set ([`crate::poll::MAX_POLL_ENTRIES`]). One more wait fails
/// (with an error saying so) instead of a change the host would refuse.
pub const MAX_WAITING_SOCKETS: usize = crate::poll::MAX_POLL_ENTRIES;

/// Most sockets one turn takes from the host.
const MAX_EVENTS: u32 = 1024;

/// How long one turn waits when only a task waiting for draining is left
/// (the host ends the wait early when draining begins).
const DRAIN_WAIT: Duration = Duration::from_secs(3600);

/// Why a waiter was taken without its socket becoming ready.
#[derive(Clone, Copy)]
enum Failure {
    /// The host's wait failed with this code.
    Wait(ErrorCode),
    /// The host refused to watch the socket: its poll set was full (it
    /// held this many sockets). The host's limit may be below
    /// [`MAX_WAITING_SOCKETS`] (an embedder's choice), and a socket armed
    /// for a wait that was since dropped stays counted until it becomes
    /// ready or is closed.
    Full(u32),
}

impl Failure {
    fn error(self) -> io::Error {
        match self {
            Failure::Wait(code) => io::Error::from(code),
            Failure::Full(held) => io::Error::other(format!(
                "the host's poll set is full (it holds {held} sockets, as many as the host allows): this socket cannot be waited on now; wait on fewer sockets at once"
            )),
        }
    }
}

struct Waiter {
    /// Never reused while the waiter lives.
    serial: u64,
    interest: Readiness,
    waker: Waker,
}

/// A waiter's place: its socket's handle and its serial.
type Key = (u32, u64);

/// The waiters of one socket, in the order they came.
#[derive(Default)]
struct Watched {
    waiters: Vec<Waiter>,
    /// Listed in [`Table::dirty`].
    dirty: bool,
}

#[derive(Default)]
struct Table {
    /// Waiters by their socket's handle (handles are small numbers the
    /// host reuses, so a vector indexed by them stays small).
    sockets: Vec<Watched>,
    /// Sockets with at least one waiter.
    watched: usize,
    /// Waiters in all.
    waiters: usize,
    /// Sockets whose waiters changed since the host last heard of them:
    /// the next turn arms them in the set with their merged interest.
    dirty: Vec<u32>,
    /// Waiters taken because the wait itself failed, with why: they get
    /// that error instead of trying again (which would fail the same way,
    /// round and round).
    failed: BTreeMap<Key, Failure>,
    next: u64,
    /// The host's poll set, made at the first turn.
    set: Option<PollSet>,
}

impl Table {
    fn socket(&mut self, handle: u32) -> &mut Watched {
        let i = handle as usize;
        if i >= self.sockets.len() {
            self.sockets.resize_with(i + 1, Watched::default);
        }
        &mut self.sockets[i]
    }

    fn waiter(&mut self, (handle, serial): Key) -> Option<&mut Waiter> {
        self.sockets
            .get_mut(handle as usize)?
            .waiters
            .iter_mut()
            .find(|w| w.serial == serial)
    }

    fn mark_dirty(&mut self, handle: u32) {
        let s = self.socket(handle);
        if !mem::replace(&mut s.dirty, true) {
            self.dirty.push(handle);
        }
    }

    /// Register a waiter on `handle`: its key, or an error when that would
    /// wait on more sockets than the host's set takes. This and
    /// [`Table::take`] are the only places that add or remove waiters, so
    /// the counts cannot drift from them.
    fn add(&mut self, handle: u32, interest: Readiness, waker: Waker) -> io::Result<Key> {
        let first = self.socket(handle).waiters.is_empty();
        if first && self.watched >= MAX_WAITING_SOCKETS {
            return Err(io::Error::other(format!(
                "more than {MAX_WAITING_SOCKETS} sockets waited on at once (the host's poll limit); wait on fewer"
            )));
        }
        let serial = self.next;
        self.next += 1;
        self.socket(handle).waiters.push(Waiter {
            serial,
            interest,
            waker,
        });
        self.waiters += 1;
        if first {
            self.watched += 1;
        }
        self.mark_dirty(handle);
        Ok((handle, serial))
    }

    /// Take out the waiters of `handle` that `pick` chooses, giving each
    /// waker to `taken`; with `why`, each gets that failure. Whether
    /// waiters are left on the socket.
    fn take(
        &mut self,
        handle: u32,
        mut pick: impl FnMut(&Waiter) -> bool,
        why: Option<Failure>,
        mut taken: impl FnMut(Waker),
    ) -> bool {
        let Some(s) = self.sockets.get_mut(handle as usize) else {
            return false;
        };
        let before = s.waiters.len();
        for w in s.waiters.extract_if(.., |w| pick(w)) {
            if let Some(why) = why {
                self.failed.insert((handle, w.serial), why);
            }
            taken(w.waker);
        }
        let left = s.waiters.len();
        self.waiters -= before - left;
        if before > 0 && left == 0 {
            self.watched -= 1;
        }
        left > 0
    }
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// How many registrations the reactor holds now (tasks waiting on a
/// socket). After every waiting future is dropped this is 0.
///
/// ```no_run
/// assert_eq!(wasock::rt::waiting(), 0);
/// ```
pub fn waiting() -> usize {
    TABLE.with(|t| t.borrow().waiters)
}

/// A place in the reactor's table for one waiter on one socket: empty,
/// registered (with the latest waker), or fired. Dropping it removes the
/// registration. Whoever holds it must keep the socket alive meanwhile
/// (declare it before the socket, so that it drops first).
#[derive(Debug, Default)]
pub(crate) struct Registration {
    key: Option<Key>,
}

impl Registration {
    /// Ready once `socket` has been ready for `interest` (or hung up, or has
    /// an error) since the last time this returned ready; the caller then
    /// retries its operation, and calls again if it would still block.
    pub(crate) fn poll_ready(
        &mut self,
        socket: &Socket,
        interest: Readiness,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let handle = socket.handle();
        let registered = TABLE.with(|t| {
            let mut t = t.borrow_mut();
            let Some(w) = self.key.and_then(|k| t.waiter(k)) else {
                return false;
            };
            if !w.waker.will_wake(cx.waker()) {
                w.waker = cx.waker().clone();
            }
            // Interest may change between calls on one socket.
            if w.interest != interest {
                w.interest = interest;
                t.mark_dirty(handle);
            }
            true
        });
        if registered {
            return Poll::Pending;
        }
        if let Some(key) = self.key.take() {
            // The reactor took the registration: it fired, or `poll` failed.
            let failed = TABLE.with(|t| t.borrow_mut().failed.remove(&key));
            return Poll::Ready(match failed {
                Some(why) => Err(why.error()),
                None => Ok(()),
            });
        }
        let key = TABLE.with(|t| t.borrow_mut().add(handle, interest, cx.waker().clone()));
        match key {
            Ok(key) => {
                self.key = Some(key);
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let (handle, serial) = key;
            TABLE.with(|t| {
                let mut t = t.borrow_mut();
                t.take(handle, |w| w.serial == serial, None, drop);
                t.failed.remove(&key);
            });
        }
    }
}

/// Forget every waiter of `socket`, which is about to close. Futures that
/// were leaked (`mem::forget`, never dropped) keep their registrations;
/// without this, a turn could name the closed handle to the host (a trap)
/// or one the host has given to another socket since. Every async socket
/// calls it when dropped, before its socket closes.
pub(crate) fn forget(socket: &Socket) {
    let handle = socket.handle();
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        t.take(handle, |_| true, None, drop);
        t.failed.retain(|(h, _), _| *h != handle);
    });
}

/// Run `op` until it does not say `would-block`, waiting for `interest` on
/// `socket` between tries.
pub(crate) async fn retry<T>(
    socket: &Socket,
    interest: Readiness,
    mut op: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    let mut reg = Registration::default();
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::future::poll_fn(|cx| reg.poll_ready(socket, interest, cx)).await?;
            }
            r => return r,
        }
    }
}

/// Give every waiter `code` and wake it.
fn fail_all(code: ErrorCode) {
    let sockets = TABLE.with(|t| t.borrow().sockets.len());
    fail(0..sockets as u32, Failure::Wait(code));
}

/// Give the waiters of the sockets `handles` `why`, and wake them.
fn fail(handles: impl IntoIterator<Item = u32>, why: Failure) {
    let mut woken = Vec::new();
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        for handle in handles {
            t.take(handle, |_| true, Some(why), |w| woken.push(w));
        }
    });
    for w in woken {
        w.wake();
    }
}

/// One idle turn: arm the sockets whose waiters changed, wait on the set
/// until one is ready or `deadline` passes, and wake the waiters whose
/// interest holds. `false` if there is nothing to wait for at all (no
/// socket, no deadline, and no task waiting for the host to drain).
pub(crate) fn turn(deadline: Option<Instant>) -> bool {
    let (changed, set, waiting) = TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let t = &mut *t;
        let changed: Vec<(u32, Readiness)> = t
            .dirty
            .drain(..)
            .filter_map(|h| {
                let s = t.sockets.get_mut(h as usize)?;
                s.dirty = false;
                // A socket whose waiters all left needs no change.
                if s.waiters.is_empty() {
                    return None;
                }
                let merged = s
                    .waiters
                    .iter()
                    .fold(Readiness::empty(), |m, w| m | w.interest);
                // An empty interest would take the socket out of the set:
                // a waiter for nothing in particular waits for an error
                // (and, as with `poll`, a hang-up).
                Some((
                    h,
                    if merged.is_empty() {
                        Readiness::ERROR
                    } else {
                        merged
                    },
                ))
            })
            .collect();
        (changed, t.set.take(), t.waiters > 0)
    });
    // With no socket to wait on, the call still waits for the deadline (or,
    // with one already past, gives the host a turn: under a simulator, the
    // only way time passes for a program that is never idle). A task
    // waiting for the host to drain waits on the host itself: an hour at a
    // time, which the host ends early when draining begins.
    let deadline = match deadline {
        None if !waiting && super::drain::waiting() => Some(Instant::now() + DRAIN_WAIT),
        d => d,
    };
    if !waiting && deadline.is_none() {
        TABLE.with(|t| t.borrow_mut().set = set);
        return false;
    }
    // The clock is read once per turn (each read is a host call).
    let timeout = timeout_until(deadline);
    let set = match set {
        Some(set) => set,
        None => match PollSet::create() {
            Ok(set) => set,
            Err(code) => {
                fail_all(code);
                return true;
            }
        },
    };
    let result = if waiting {
        wait_on(&set, &changed, timeout)
    } else {
        // Only time to wait for: the set holds nothing of use.
        crate::bindings::wasock::sockets::poll::poll(&[], timeout).map(|_| Vec::new())
    };
    TABLE.with(|t| t.borrow_mut().set = Some(set));
    let events = match result {
        Ok(events) => events,
        Err(code) => {
            // Every waiter gets the error (the next call would fail alike).
            fail_all(code);
            return true;
        }
    };
    // Only a wait that may block can be the one the host ends for draining.
    if events.is_empty() && timeout != Some(0) {
        super::drain::after_empty_turn();
    }
    let mut woken = Vec::with_capacity(events.len());
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        for event in events {
            let Ok(handle) = u32::try_from(event.key) else {
                continue;
            };
            let on = |w: &Waiter| event.ready.intersects(wakes_on(w.interest));
            // The host took the socket out of the set: the waiters it did
            // not wake are armed again at the next turn.
            if t.take(handle, on, None, |w| woken.push(w)) {
                t.mark_dirty(handle);
            }
        }
    });
    for w in woken {
        w.wake();
    }
    true
}

/// Arm `changed` in `set` and wait up to `timeout`.
///
/// A host whose limit on sockets in a set is below
/// [`MAX_WAITING_SOCKETS`] (an embedder's choice) refuses a change that
/// would go past it with `invalid-argument`. The changes then go one at a
/// time without waiting: the sockets the host takes are waited on as
/// usual, and the waiters of those it refuses get an error that says so;
/// nothing else is disturbed.
fn wait_on(
    set: &PollSet,
    changed: &[(u32, Readiness)],
    timeout: Option<u64>,
) -> Result<Vec<PollEvent>, ErrorCode> {
    match arm(set, changed, timeout) {
        Err(ErrorCode::InvalidArgument) if !changed.is_empty() => {}
        r => return r,
    }
    let mut events = Vec::new();
    let mut refused = Vec::new();
    let mut held = None;
    for one in changed {
        match arm(set, std::slice::from_ref(one), Some(0)) {
            Ok(ready) => events.extend(ready),
            Err(ErrorCode::InvalidArgument) => {
                // What the set held when it first said no (reported
                // entries leave it as the loop goes on).
                held.get_or_insert_with(|| set.len());
                refused.push(one.0);
            }
            Err(code) => return Err(code),
        }
    }
    if let Some(held) = held {
        fail(refused, Failure::Full(held));
        return Ok(events);
    }
    if events.is_empty() {
        return arm(set, &[], timeout);
    }
    Ok(events)
}

/// A wait's timeout in nanoseconds: what is left until `deadline` (none
/// waits without limit).
fn timeout_until(deadline: Option<Instant>) -> Option<u64> {
    deadline.map(|d| {
        let left = d.saturating_duration_since(Instant::now());
        u64::try_from(left.as_nanos()).unwrap_or(u64::MAX)
    })
}

/// One wait on `set`, applying `changed` first.
fn arm(
    set: &PollSet,
    changed: &[(u32, Readiness)],
    timeout: Option<u64>,
) -> Result<Vec<PollEvent>, ErrorCode> {
    // SAFETY: each handle has a waiter, so its socket is open: a waiter
    // leaves the table when its future is dropped, and every waiter of a
    // socket leaves when the socket is dropped ([`forget`], before it
    // closes), even if its future was leaked. `ManuallyDrop` keeps these
    // borrowed copies from closing it.
    let sockets: Vec<ManuallyDrop<Socket>> = changed
        .iter()
        .map(|(h, _)| ManuallyDrop::new(unsafe { Socket::from_handle(*h) }))
        .collect();
    let changes: Vec<PollChange<'_>> = sockets
        .iter()
        .zip(changed)
        .map(|(s, (h, interest))| PollChange {
            socket: s,
            interest: *interest,
            key: u64::from(*h),
        })
        .collect();
    set.wait(&changes, timeout, MAX_EVENTS)
}

/// What ends a wait for `interest`: itself, an error, and the peer's end
/// for a receive (a send into a full buffer cannot go on because of it, so
/// a writer is not woken for it, as the host's `poll` does not report it
/// to an entry that asks only for `writable`).
fn wakes_on(interest: Readiness) -> Readiness {
    let mut on = interest | Readiness::ERROR;
    if interest.contains(Readiness::READABLE) || interest.is_empty() {
        on |= Readiness::HANG_UP;
    }
    on
}
