//! Tasks waiting for the serving host to begin draining
//! (`wasock:sockets/drain`, see [`crate::handler::draining`]).
//!
//! The host ends a wait of the instance early, with nothing ready, when
//! draining begins; after such an empty turn the reactor asks the host
//! ([`after_empty_turn`]) and wakes these tasks. The host is asked only
//! while a task waits here, and only through the function the waiting
//! future was made with, so a guest that never waits for draining does not
//! import the interface at all.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

struct Drain {
    /// How to ask the host; set when a waiting future is made.
    ask: Option<fn() -> bool>,
    /// The host said so: never asked again.
    begun: bool,
    /// Whether the host may have begun since it was last asked: at first,
    /// and after each turn whose wait the host may have ended for it. A
    /// waiting future asks only then, so one made per read (raced against
    /// it) costs no host call.
    stale: bool,
    waiters: BTreeMap<u64, Waker>,
    next: u64,
}

thread_local! {
    static DRAIN: RefCell<Drain> = const {
        RefCell::new(Drain {
            ask: None,
            begun: false,
            stale: true,
            waiters: BTreeMap::new(),
            next: 0,
        })
    };
}

/// Whether a task waits for draining (the reactor then keeps waiting
/// even with no socket or timer to wait on: the host ends such a wait).
pub(crate) fn waiting() -> bool {
    DRAIN.with(|d| !d.borrow().waiters.is_empty())
}

/// After a turn whose wait may have been ended for draining (it found
/// nothing): ask the host if tasks wait for it, and wake them if it has
/// begun; otherwise the next waiting future asks.
pub(crate) fn after_empty_turn() {
    let ask = DRAIN.with(|d| {
        let mut d = d.borrow_mut();
        if d.begun {
            return None;
        }
        if d.waiters.is_empty() {
            d.stale = true;
            return None;
        }
        d.stale = false;
        d.ask
    });
    let Some(ask) = ask else { return };
    if !ask() {
        return;
    }
    let woken: Vec<Waker> = DRAIN.with(|d| {
        let mut d = d.borrow_mut();
        d.begun = true;
        std::mem::take(&mut d.waiters).into_values().collect()
    });
    for w in woken {
        w.wake();
    }
}

/// Completes once the host has begun draining; see
/// [`crate::handler::draining`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Draining {
    key: Option<u64>,
}

impl Draining {
    /// A future that asks the host with `ask` (kept for the reactor too).
    pub(crate) fn new(ask: fn() -> bool) -> Draining {
        DRAIN.with(|d| d.borrow_mut().ask = Some(ask));
        Draining { key: None }
    }
}

impl Future for Draining {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let key = DRAIN.with(|d| {
            let mut d = d.borrow_mut();
            if !d.begun && d.stale {
                d.stale = false;
                d.begun = d.ask.is_some_and(|ask| ask());
            }
            if d.begun {
                if let Some(key) = self.key.take() {
                    d.waiters.remove(&key);
                }
                return None;
            }
            let key = self.key.unwrap_or_else(|| {
                d.next += 1;
                d.next
            });
            match d.waiters.get_mut(&key) {
                Some(w) if w.will_wake(cx.waker()) => {}
                Some(w) => *w = cx.waker().clone(),
                None => {
                    d.waiters.insert(key, cx.waker().clone());
                }
            }
            Some(key)
        });
        match key {
            Some(key) => {
                self.key = Some(key);
                Poll::Pending
            }
            None => Poll::Ready(()),
        }
    }
}

impl Drop for Draining {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            DRAIN.with(|d| d.borrow_mut().waiters.remove(&key));
        }
    }
}
