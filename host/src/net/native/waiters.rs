//! Every task waiting on one direction of a native socket.
//!
//! tokio's `poll_read_ready` and `poll_write_ready` keep one waker per
//! direction: a second task waiting in the same direction would take the
//! first one's wake-up. The provider contract lets any number of tasks wait
//! (see `NetSocket::poll_ready`), so the socket gives tokio a waker of its
//! own for each direction, which wakes every task that waited there since
//! the last wake-up.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Wake, Waker};

use crate::net::WakerList;

/// The tasks waiting in one direction.
#[derive(Default)]
struct Waiters(Mutex<WakerList>);

impl Waiters {
    fn wake_all(&self) {
        // Taken under the lock, woken outside it.
        let taken = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
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

/// One direction's waiters, and the waker tokio is given for them all.
pub(super) struct Direction {
    waiters: Arc<Waiters>,
    waker: Waker,
}

impl Default for Direction {
    fn default() -> Direction {
        let waiters = Arc::new(Waiters::default());
        Direction {
            waker: Waker::from(waiters.clone()),
            waiters,
        }
    }
}

impl Direction {
    /// Count `cx`'s task among the waiters, and return the context to
    /// poll tokio with. The task is added before tokio is asked, so that a
    /// wake-up between the two cannot be missed (the cost: one spurious
    /// wake-up, if an event comes after tokio said ready).
    pub(super) fn join(&self, cx: &Context<'_>) -> Context<'_> {
        let made_room = self
            .waiters
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(cx.waker());
        if let Some(list) = made_room {
            list.wake();
        }
        self.context()
    }

    /// The context to poll tokio with for a look that adds no task: it
    /// leaves the waiters' waker in tokio's slot, as a wait does.
    pub(super) fn context(&self) -> Context<'_> {
        Context::from_waker(&self.waker)
    }

    /// Wake every waiter: the registration they waited on is gone, and
    /// they must wait on the new one.
    pub(super) fn wake_all(&self) {
        self.waiters.wake_all();
    }
}
