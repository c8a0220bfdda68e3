//! Every task waiting on one direction of a native socket.
//!
//! tokio's `poll_read_ready` and `poll_write_ready` keep one waker per
//! direction: a second task waiting in the same direction would take the
//! first one's wake-up. The provider contract lets any number of tasks wait
//! (see `NetSocket::poll_ready`). Until a second task waits, as is usual,
//! tokio is given the one task's waker, as if nothing stood between them,
//! and nothing is allocated; from then on until the socket is registered
//! anew, tokio is given a waker of the socket's own, which wakes every
//! task that waited since the last wake-up.

use std::mem;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Wake, Waker};

use crate::net::WakerList;

/// The tasks waiting in one direction, once there were several.
#[derive(Default)]
struct Waiters(Mutex<WakerList>);

impl Waiters {
    fn wake_all(&self) {
        // Taken under the lock, woken outside it.
        let taken = mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        taken.wake();
    }
}

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.wake_all();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_all();
    }
}

/// Who waits in one direction.
#[derive(Default)]
enum State {
    /// No one yet, or every waiter was handed over to a new registration.
    #[default]
    Idle,
    /// One task, whose own waker tokio holds (or held: it may have been
    /// woken since).
    One(Waker),
    /// Several tasks have waited since the socket was registered: tokio
    /// holds the list's waker.
    Many(Arc<Waiters>),
}

/// One direction of a socket: who waits there.
#[derive(Default)]
pub(super) struct Direction(Mutex<State>);

impl Direction {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Count `cx`'s task among the waiters, before tokio is asked (so that
    /// no wake-up between the two is missed). Returns the waker to give
    /// tokio in place of `cx`'s, once several tasks wait; `None` while
    /// `cx`'s task is the only one.
    pub(super) fn join(&self, cx: &Context<'_>) -> Option<Waker> {
        let waker = cx.waker();
        let mut state = self.state();
        let waiters = match &mut *state {
            State::Idle => {
                *state = State::One(waker.clone());
                return None;
            }
            State::One(one) if crate::net::wakers::same_task(one, waker) => return None,
            State::One(one) => {
                let mut list = WakerList::default();
                let _ = list.add(one);
                let waiters = Arc::new(Waiters(Mutex::new(list)));
                *state = State::Many(waiters.clone());
                waiters
            }
            State::Many(waiters) => waiters.clone(),
        };
        drop(state);
        let made_room = waiters
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(waker);
        if let Some(list) = made_room {
            list.wake();
        }
        Some(Waker::from(waiters))
    }

    /// Run `poll` (a look at tokio's readiness that adds no task) with
    /// the waker to leave in tokio's slot: the waiting task's, the list's,
    /// or, when no one waits, one that does nothing. The one task's waker
    /// is lent, not cloned (tokio's polls wake no one, so the lock may be
    /// held meanwhile).
    pub(super) fn looking<R>(&self, poll: impl FnOnce(&mut Context<'_>) -> R) -> R {
        let state = self.state();
        match &*state {
            State::Idle => poll(&mut Context::from_waker(Waker::noop())),
            State::One(one) => poll(&mut Context::from_waker(one)),
            State::Many(waiters) => {
                let waker = Waker::from(waiters.clone());
                drop(state);
                poll(&mut Context::from_waker(&waker))
            }
        }
    }

    /// Wake every waiter, and forget them: the registration they waited
    /// on is gone, and they must wait again.
    pub(super) fn hand_over(&self) {
        let taken = mem::take(&mut *self.state());
        match taken {
            State::Idle => {}
            State::One(one) => one.wake(),
            State::Many(waiters) => waiters.wake_all(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::wakers::tests::Count;

    fn task() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count::default());
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn one_task_keeps_its_own_waker_and_a_second_shares_one() {
        let d = Direction::default();
        let (a, wa) = task();
        let (b, wb) = task();
        assert!(d.join(&Context::from_waker(&wa)).is_none());
        assert!(d.join(&Context::from_waker(&wa)).is_none(), "the same task");
        let shared = d.join(&Context::from_waker(&wb)).expect("a second task");
        let again = d.join(&Context::from_waker(&wa)).expect("still several");
        assert!(shared.will_wake(&again), "one waker for them all");
        shared.wake();
        assert_eq!((a.get(), b.get()), (1, 1));
    }

    #[test]
    fn a_hand_over_wakes_whoever_waits() {
        let d = Direction::default();
        d.hand_over();
        let (a, wa) = task();
        assert!(d.join(&Context::from_waker(&wa)).is_none());
        assert!(d.looking(|cx| cx.waker().will_wake(&wa.clone())));
        d.hand_over();
        assert_eq!(a.get(), 1);
        assert!(
            d.looking(|cx| cx.waker().will_wake(Waker::noop())),
            "no one waits after the hand-over"
        );
        let (b, wb) = task();
        assert!(d.join(&Context::from_waker(&wa)).is_none());
        let _ = d.join(&Context::from_waker(&wb));
        d.hand_over();
        assert_eq!((a.get(), b.get()), (2, 1));
    }
}
