//! The tasks waiting for one thing (a socket's readiness in one
//! direction): each kept once, all woken together.
//!
//! The provider contract lets any number of tasks wait on one socket (see
//! [`NetSocket::poll_ready`]); every provider keeps its waiters in these.
//!
//! [`NetSocket::poll_ready`]: super::NetSocket::poll_ready

use std::mem;
use std::task::Waker;

/// Most distinct wakers one list keeps. A task that stopped waiting (its
/// wait dropped) leaves its waker until the next wake-up; past this many,
/// all are woken at once, and those still waiting come back. The bound
/// must stay above the tasks that can wait on one socket in one direction
/// at once, or they would wake each other without end: the runtime's are
/// a blocking call, a `poll`, the instance's poll sets (16 at most), and
/// for WASI one stream, accept, or queue of calls per direction.
const MOST_KEPT: usize = 64;

/// Wakers of the tasks waiting for one thing.
#[derive(Default)]
pub(crate) struct WakerList(Vec<Waker>);

impl WakerList {
    /// Count `waker`'s task in (once, however often it waits). Returns the
    /// wakers that had to make room, for the caller to wake once it holds
    /// the list's lock no longer.
    #[must_use = "the wakers returned must be woken"]
    pub(crate) fn add(&mut self, waker: &Waker) -> Option<WakerList> {
        if self.0.iter().any(|w| same_task(w, waker)) {
            return None;
        }
        let full = (self.0.len() >= MOST_KEPT).then(|| mem::take(self));
        self.0.push(waker.clone());
        full
    }

    /// Wake every task, and forget them.
    pub(crate) fn wake(self) {
        for w in self.0 {
            w.wake();
        }
    }

    /// How many tasks are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Whether `kept`, a waker the list keeps, wakes the task `waker` does.
/// An executor may lend a task its waker under another vtable than the
/// clones it makes (tokio does: the lent one does not own a reference), so
/// `will_wake` alone would never match a kept clone, and the list would
/// keep a clone per wait. Such a waker is cloned to compare like with like.
pub(crate) fn same_task(kept: &Waker, waker: &Waker) -> bool {
    kept.data() == waker.data()
        && (kept.vtable() == waker.vtable() || kept.will_wake(&waker.clone()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker that counts its wake-ups.
    #[derive(Default)]
    pub(crate) struct Count(pub(crate) AtomicUsize);

    impl Count {
        pub(crate) fn get(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn each_task_is_kept_once_and_woken_once() {
        let (a, b) = (Arc::new(Count::default()), Arc::new(Count::default()));
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        let mut list = WakerList::default();
        for w in [&wa, &wb, &wa] {
            assert!(list.add(w).is_none());
        }
        assert_eq!(list.len(), 2, "a task waiting twice is kept once");
        list.wake();
        assert_eq!((a.get(), b.get()), (1, 1));
    }

    /// A task lent a waker that its clones do not match (as tokio lends
    /// one) is kept once however often it waits.
    #[test]
    fn a_lent_waker_and_its_clones_are_one_task() {
        use std::task::{RawWaker, RawWakerVTable};
        static OWNED: RawWakerVTable =
            RawWakerVTable::new(|p| RawWaker::new(p, &OWNED), |_| {}, |_| {}, |_| {});
        static LENT: RawWakerVTable =
            RawWakerVTable::new(|p| RawWaker::new(p, &OWNED), |_| {}, |_| {}, |_| {});
        static TASKS: [u8; 2] = [0, 1];
        // SAFETY: the vtables' functions do nothing with the pointer.
        let lent = |t: &'static u8| unsafe {
            Waker::from_raw(RawWaker::new(std::ptr::from_ref(t).cast(), &LENT))
        };
        let mut list = WakerList::default();
        for _ in 0..3 {
            assert!(list.add(&lent(&TASKS[0])).is_none());
        }
        assert_eq!(list.len(), 1, "one task waiting three times");
        assert!(list.add(&lent(&TASKS[1])).is_none());
        assert_eq!(list.len(), 2, "another task is another");
    }

    #[test]
    fn tasks_taken_out_are_woken_and_gone() {
        for n in [1, 3] {
            let counts: Vec<Arc<Count>> = (0..n).map(|_| Arc::default()).collect();
            let mut list = WakerList::default();
            for c in &counts {
                assert!(list.add(&Waker::from(c.clone())).is_none());
            }
            std::mem::take(&mut list).wake();
            assert_eq!(list.len(), 0, "{n} taken");
            assert!(counts.iter().all(|c| c.get() == 1), "{n} taken");
        }
    }

    #[test]
    fn tasks_past_the_limit_are_woken_not_lost() {
        let counts: Vec<Arc<Count>> = (0..=MOST_KEPT).map(|_| Arc::default()).collect();
        let mut list = WakerList::default();
        let mut made_room = None;
        for c in &counts {
            if let Some(full) = list.add(&Waker::from(c.clone())) {
                made_room = Some(full);
            }
        }
        made_room.expect("the list made room").wake();
        assert_eq!(list.len(), 1, "only the newest is kept");
        let woken = counts.iter().filter(|c| c.get() == 1).count();
        assert_eq!(woken, MOST_KEPT, "every one that made room was woken");
    }
}
