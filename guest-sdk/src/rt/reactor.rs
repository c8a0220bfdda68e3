//! The reactor: which tasks wait on which sockets, and the one `poll` call
//! per idle turn that wakes them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::mem::ManuallyDrop;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::Socket;
use crate::bindings::wasock::sockets::poll::{PollEntry, poll};
use crate::bindings::wasock::sockets::types::{ErrorCode, Readiness};

/// Most sockets waited on at once: the host's default `poll` entry limit.
/// One more wait fails (with an error saying so) instead of making a `poll`
/// call the host would refuse.
pub const MAX_WAITING_SOCKETS: usize = 65536;

struct Waiter {
    handle: u32,
    interest: Readiness,
    waker: Waker,
}

#[derive(Default)]
struct Table {
    /// Waiters by key; a key is never reused while its waiter lives.
    waiters: BTreeMap<u64, Waiter>,
    /// How many waiters each socket has.
    sockets: BTreeMap<u32, usize>,
    /// Waiters taken because the `poll` call itself failed, with its error:
    /// they get it instead of trying again (which would fail the same way,
    /// round and round).
    failed: BTreeMap<u64, ErrorCode>,
    next: u64,
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
    TABLE.with(|t| t.borrow().waiters.len())
}

/// A place in the reactor's table for one waiter on one socket: empty,
/// registered (with the latest waker), or fired. Dropping it removes the
/// registration. Whoever holds it must keep the socket alive meanwhile
/// (declare it before the socket, so that it drops first).
#[derive(Debug, Default)]
pub(crate) struct Registration {
    key: Option<u64>,
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
            match self.key.and_then(|k| t.waiters.get_mut(&k)) {
                Some(w) => {
                    if !w.waker.will_wake(cx.waker()) {
                        w.waker = cx.waker().clone();
                    }
                    // Interest may change between calls on one socket.
                    w.interest = interest;
                    true
                }
                None => false,
            }
        });
        if registered {
            return Poll::Pending;
        }
        if let Some(key) = self.key.take() {
            // The reactor took the registration: it fired, or `poll` failed.
            let failed = TABLE.with(|t| t.borrow_mut().failed.remove(&key));
            return Poll::Ready(match failed {
                Some(code) => crate::error::io(Err(code)),
                None => Ok(()),
            });
        }
        let key = TABLE.with(|t| {
            let mut t = t.borrow_mut();
            if !t.sockets.contains_key(&handle) && t.sockets.len() >= MAX_WAITING_SOCKETS {
                return Err(io::Error::other(format!(
                    "more than {MAX_WAITING_SOCKETS} sockets waited on at once (the host's poll limit); wait on fewer"
                )));
            }
            let key = t.next;
            t.next += 1;
            t.waiters.insert(
                key,
                Waiter {
                    handle,
                    interest,
                    waker: cx.waker().clone(),
                },
            );
            *t.sockets.entry(handle).or_default() += 1;
            Ok(key)
        });
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
            TABLE.with(|t| {
                let mut t = t.borrow_mut();
                remove(&mut t, key);
                t.failed.remove(&key);
            });
        }
    }
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

fn remove(t: &mut Table, key: u64) -> Option<Waiter> {
    let w = t.waiters.remove(&key)?;
    if let Some(n) = t.sockets.get_mut(&w.handle) {
        *n -= 1;
        if *n == 0 {
            t.sockets.remove(&w.handle);
        }
    }
    Some(w)
}

/// One idle turn: a single `poll` over every socket waited on, interests
/// merged per socket, until one is ready or `deadline` passes; then wake
/// the waiters whose interest holds. `false` if there is nothing to wait
/// for at all (no socket and no deadline).
pub(crate) fn turn(deadline: Option<Instant>) -> bool {
    let merged: Vec<(u32, Readiness)> = TABLE.with(|t| {
        let t = t.borrow();
        let mut m: BTreeMap<u32, Readiness> = BTreeMap::new();
        for w in t.waiters.values() {
            *m.entry(w.handle).or_insert(Readiness::empty()) |= w.interest;
        }
        m.into_iter().collect()
    });
    // With no socket to look at, the call still waits for the deadline (or,
    // with one already past, gives the host a turn: under a simulator, the
    // only way time passes for a program that is never idle).
    if merged.is_empty() && deadline.is_none() {
        return false;
    }
    let timeout = deadline.map(|d| {
        let left = d.saturating_duration_since(Instant::now());
        u64::try_from(left.max(Duration::ZERO).as_nanos()).unwrap_or(u64::MAX)
    });
    // SAFETY: each handle belongs to a socket that a live `Ready` future
    // borrows (a future unregisters when dropped), so the handle is valid
    // for this call; `ManuallyDrop` keeps these borrowed copies from
    // closing it.
    let sockets: Vec<ManuallyDrop<Socket>> = merged
        .iter()
        .map(|(h, _)| ManuallyDrop::new(unsafe { Socket::from_handle(*h) }))
        .collect();
    let entries: Vec<PollEntry<'_>> = sockets
        .iter()
        .zip(&merged)
        .map(|(s, (_, interest))| PollEntry {
            socket: s,
            interest: *interest,
        })
        .collect();
    let results = match poll(&entries, timeout) {
        Ok(r) => r,
        Err(code) => {
            // Every waiter gets the error (the next call would fail alike).
            let woken: Vec<Waker> = TABLE.with(|t| {
                let mut t = t.borrow_mut();
                let keys: Vec<u64> = t.waiters.keys().copied().collect();
                keys.into_iter()
                    .filter_map(|k| {
                        let w = remove(&mut t, k)?;
                        t.failed.insert(k, code);
                        Some(w.waker)
                    })
                    .collect()
            });
            for w in woken {
                w.wake();
            }
            return true;
        }
    };
    let ready: BTreeMap<u32, Readiness> = merged
        .iter()
        .zip(results)
        .filter(|(_, r)| !r.is_empty())
        .map(|((h, _), r)| (*h, r))
        .collect();
    if ready.is_empty() {
        return true;
    }
    let woken: Vec<Waker> = TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let keys: Vec<u64> = t
            .waiters
            .iter()
            .filter(|(_, w)| {
                ready
                    .get(&w.handle)
                    .is_some_and(|r| r.intersects(wakes_on(w.interest)))
            })
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|k| remove(&mut t, k).map(|w| w.waker))
            .collect()
    });
    for w in woken {
        w.wake();
    }
    true
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
