//! A set of spawned tasks whose results come back as they finish.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};

use super::executor::{AbortHandle, JoinHandle, spawn};

struct Shared<T> {
    /// Results of finished tasks not yet taken, in the order they finished.
    done: VecDeque<T>,
    /// The unfinished tasks, by their key in this set.
    running: HashMap<u64, JoinHandle<()>>,
    next_key: u64,
    /// The task waiting in [`JoinSet::join_next`].
    waker: Option<Waker>,
}

/// Tasks spawned together, their results taken in the order they finish,
/// as with tokio's `JoinSet`. Dropping the set, or
/// [`abort_all`](JoinSet::abort_all), stops the tasks still running.
///
/// Unlike tokio's: [`join_next`](JoinSet::join_next) gives the value
/// itself, not a `Result` (a task that panics ends the whole instance, and
/// a stopped task gives nothing); a stopped task leaves the set at once.
/// The set belongs to the
/// [`block_on`](super::block_on) its tasks were spawned in: its tasks end
/// with it.
///
/// ```no_run
/// use std::time::Duration;
/// use wasock::rt::{JoinSet, block_on, sleep};
/// block_on(async {
///     let mut set = JoinSet::new();
///     for ms in [30, 10, 20] {
///         set.spawn(async move {
///             sleep(Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(ms) = set.join_next().await {
///         order.push(ms);
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
pub struct JoinSet<T> {
    shared: Rc<RefCell<Shared<T>>>,
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    ///
    /// ```no_run
    /// let set = wasock::rt::JoinSet::<u32>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> JoinSet<T> {
        JoinSet {
            shared: Rc::new(RefCell::new(Shared {
                done: VecDeque::new(),
                running: HashMap::new(),
                next_key: 0,
                waker: None,
            })),
        }
    }

    /// Spawn `future` as a task of the running
    /// [`block_on`](super::block_on), its result kept in this set; the
    /// handle stops that task alone (it then leaves the set, with no
    /// result).
    ///
    /// ```no_run
    /// wasock::rt::block_on(async {
    ///     let mut set = wasock::rt::JoinSet::new();
    ///     set.spawn(async { 1 });
    ///     let slow = set.spawn(async {
    ///         wasock::rt::sleep(std::time::Duration::from_secs(60)).await;
    ///         2
    ///     });
    ///     slow.abort();
    ///     assert_eq!(set.join_next().await, Some(1));
    ///     assert_eq!(set.join_next().await, None);
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// Outside [`block_on`](super::block_on).
    pub fn spawn<F: Future<Output = T> + 'static>(&mut self, future: F) -> AbortHandle {
        let key = {
            let mut s = self.shared.borrow_mut();
            s.next_key += 1;
            s.next_key
        };
        // Weak: a task whose set is gone has nowhere to put its result
        // (and the set's drop stopped it anyway).
        let set: Weak<RefCell<Shared<T>>> = Rc::downgrade(&self.shared);
        // Leaves the set when the task ends, however it ends (stopped
        // before its first poll too: it is moved in, not made there).
        let leave = Leave { set, key };
        let handle = spawn(async move {
            let leave = leave;
            let value = future.await;
            if let Some(set) = leave.set.upgrade() {
                set.borrow_mut().done.push_back(value);
            }
        });
        let abort = handle.abort_handle();
        // The task has not run yet: spawning only queues it.
        self.shared.borrow_mut().running.insert(key, handle);
        abort
    }

    /// The next result, waiting for a task to finish; `None` when the set
    /// is empty.
    ///
    /// ```no_run
    /// wasock::rt::block_on(async {
    ///     let mut set = wasock::rt::JoinSet::<()>::new();
    ///     assert_eq!(set.join_next().await, None);
    /// });
    /// ```
    pub async fn join_next(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| {
            let mut s = self.shared.borrow_mut();
            if let Some(v) = s.done.pop_front() {
                return Poll::Ready(Some(v));
            }
            if s.running.is_empty() {
                return Poll::Ready(None);
            }
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// The next result if a task has finished, without waiting.
    ///
    /// ```no_run
    /// let mut set = wasock::rt::JoinSet::<u32>::new();
    /// assert_eq!(set.try_join_next(), None);
    /// ```
    pub fn try_join_next(&mut self) -> Option<T> {
        self.shared.borrow_mut().done.pop_front()
    }

    /// Wait for every task; their results in the order they finished.
    ///
    /// ```no_run
    /// wasock::rt::block_on(async {
    ///     let mut set = wasock::rt::JoinSet::new();
    ///     set.spawn(async { 2 });
    ///     assert_eq!(set.join_all().await, [2]);
    /// });
    /// ```
    pub async fn join_all(mut self) -> Vec<T> {
        let mut all = Vec::with_capacity(self.len());
        while let Some(v) = self.join_next().await {
            all.push(v);
        }
        all
    }

    /// Stop every task still running; results already in stay to be
    /// taken, and a stopped task gives none.
    ///
    /// ```no_run
    /// wasock::rt::block_on(async {
    ///     let mut set = wasock::rt::JoinSet::new();
    ///     set.spawn(wasock::rt::sleep(std::time::Duration::from_secs(60)));
    ///     set.abort_all();
    ///     assert_eq!(set.join_next().await, None);
    /// });
    /// ```
    pub fn abort_all(&mut self) {
        self.stop_running();
    }

    /// How many tasks are in the set: running, or finished with a result
    /// not yet taken.
    ///
    /// ```no_run
    /// assert_eq!(wasock::rt::JoinSet::<()>::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        let s = self.shared.borrow();
        s.running.len() + s.done.len()
    }

    /// Whether the set holds no task and no result.
    ///
    /// ```no_run
    /// assert!(wasock::rt::JoinSet::<()>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A task's place in its set: dropped when the task ends (its result in,
/// or stopped), it takes the task out and wakes [`JoinSet::join_next`].
struct Leave<T> {
    set: Weak<RefCell<Shared<T>>>,
    key: u64,
}

impl<T> Drop for Leave<T> {
    fn drop(&mut self) {
        let Some(set) = self.set.upgrade() else {
            return;
        };
        let (gone, waker) = {
            let mut s = set.borrow_mut();
            (s.running.remove(&self.key), s.waker.take())
        };
        drop(gone);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> JoinSet<T> {
    fn stop_running(&self) {
        let running = std::mem::take(&mut self.shared.borrow_mut().running);
        // Aborted outside the set's borrow: a task's drop may touch it.
        for handle in running.into_values() {
            handle.abort();
        }
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.stop_running();
    }
}

impl<T> std::fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.shared.borrow();
        f.debug_struct("JoinSet")
            .field("running", &s.running.len())
            .field("finished", &s.done.len())
            .finish()
    }
}
