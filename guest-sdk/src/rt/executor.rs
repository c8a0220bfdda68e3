//! The executor: a queue of tasks woken by their wakers, run by
//! [`block_on`] until its future is done.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use super::{reactor, timer};

type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Task ids woken and not yet run. A waker may be called from anywhere
/// (it must be `Send`), so this is behind a lock; the component has one
/// thread, so it is never contended.
static WOKEN: Mutex<VecDeque<usize>> = Mutex::new(VecDeque::new());

/// The id of `block_on`'s own future.
const ROOT: usize = usize::MAX;

struct TaskWaker(usize);

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if let Ok(mut q) = WOKEN.lock() {
            q.push_back(self.0);
        }
    }
}

struct Task {
    future: LocalFuture,
    waker: Waker,
    /// Which task this is, among all that ever used its slot.
    serial: u64,
}

/// A place in the task table.
enum Slot {
    /// Free for a new task.
    Free,
    /// Its task is being polled (taken out, so that it may spawn others).
    Running,
    /// A task waiting to be woken.
    Parked(Task),
}

thread_local! {
    /// Spawned tasks by id; a finished task's slot is reused.
    static TASKS: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
    /// Whether a `block_on` is running.
    static RUNNING: RefCell<bool> = const { RefCell::new(false) };
    /// The next task's serial number.
    static SERIAL: RefCell<u64> = const { RefCell::new(0) };
    /// The serial of the task being polled, and whether it was aborted
    /// meanwhile (by itself: nothing else runs).
    static CURRENT: RefCell<Option<(u64, bool)>> = const { RefCell::new(None) };
}

/// Spawn `future` as a task of the running [`block_on`]; it runs whenever
/// it can make progress, until it finishes or `block_on` returns.
///
/// ```no_run
/// wasock::rt::block_on(async {
///     let task = wasock::rt::spawn(async { 6 * 7 });
///     assert_eq!(task.await, 42);
/// });
/// ```
///
/// # Panics
///
/// Outside [`block_on`].
pub fn spawn<F: Future + 'static>(future: F) -> JoinHandle<F::Output> {
    assert!(
        RUNNING.with(|r| *r.borrow()),
        "wasock::rt::spawn called outside wasock::rt::block_on"
    );
    let state = Rc::new(RefCell::new(JoinState {
        value: None,
        waker: None,
        done: false,
        aborted: false,
    }));
    let serial = SERIAL.with(|s| {
        let mut s = s.borrow_mut();
        *s += 1;
        *s
    });
    // Moved in, not made in the task: dropped with it however it ends.
    let ended = Ended(state.clone());
    let wrapped = async move {
        let ended = ended;
        let v = future.await;
        ended.0.borrow_mut().value = Some(v);
    };
    let id = TASKS.with(|t| {
        let mut tasks = t.borrow_mut();
        let id = tasks
            .iter()
            .position(|s| matches!(s, Slot::Free))
            .unwrap_or(tasks.len());
        let task = Slot::Parked(Task {
            future: Box::pin(wrapped),
            waker: Waker::from(Arc::new(TaskWaker(id))),
            serial,
        });
        if id == tasks.len() {
            tasks.push(task);
        } else {
            tasks[id] = task;
        }
        id
    });
    if let Ok(mut q) = WOKEN.lock() {
        q.push_back(id);
    }
    JoinHandle { state, id, serial }
}

/// How many spawned tasks are unfinished (0 outside [`block_on`]).
///
/// ```no_run
/// assert_eq!(wasock::rt::tasks(), 0);
/// ```
pub fn tasks() -> usize {
    TASKS.with(|t| {
        t.borrow()
            .iter()
            .filter(|s| !matches!(s, Slot::Free))
            .count()
    })
}

struct JoinState<T> {
    value: Option<T>,
    waker: Option<Waker>,
    done: bool,
    /// Stopped before it finished: it will never have a value.
    aborted: bool,
}

/// A task's end, however it comes: its value in (done), or it stopped
/// (aborted); the waiting join handle is woken either way.
struct Ended<T>(Rc<RefCell<JoinState<T>>>);

impl<T> Drop for Ended<T> {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.0.borrow_mut();
            if s.value.is_some() {
                s.done = true;
            } else {
                s.aborted = true;
            }
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A spawned task's result: await it (once: after giving the value it
/// stays pending). Dropping it lets the task run on, detached, as tokio's
/// does (not as async-task's, whose drop cancels); [`JoinHandle::abort`]
/// stops it. A task that panics ends the whole instance (a WebAssembly
/// panic aborts): there is no `JoinError`.
pub struct JoinHandle<T> {
    state: Rc<RefCell<JoinState<T>>>,
    id: usize,
    serial: u64,
}

impl<T> JoinHandle<T> {
    /// Whether the task has finished.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let t = wasock::rt::spawn(async {});
    /// wasock::rt::yield_now().await;
    /// println!("{}", t.is_finished());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn is_finished(&self) -> bool {
        let s = self.state.borrow();
        s.done || s.aborted
    }

    /// Stop the task: its future is dropped (with every socket wait and
    /// timer it holds) at once, or, if it is the task running now, when it
    /// next yields.
    ///
    /// ```no_run
    /// wasock::rt::block_on(async {
    ///     let t = wasock::rt::spawn(wasock::rt::sleep(std::time::Duration::from_secs(60)));
    ///     t.abort();
    /// });
    /// ```
    pub fn abort(self) {
        abort(self.id, self.serial);
    }

    /// A handle that stops the task without the join handle (as tokio's
    /// `abort_handle`): clone it, keep it where the task is not awaited.
    /// Awaiting this join handle after an abort through it panics (there
    /// is no `JoinError`: the task has no value to give).
    ///
    /// ```no_run
    /// wasock::rt::block_on(async {
    ///     let t = wasock::rt::spawn(wasock::rt::sleep(std::time::Duration::from_secs(60)));
    ///     let stop = t.abort_handle();
    ///     stop.abort();
    ///     assert!(stop.is_finished());
    /// });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            id: self.id,
            serial: self.serial,
        }
    }
}

/// Stops a spawned task from anywhere in the program, without its
/// [`JoinHandle`] ([`JoinHandle::abort_handle`], [`JoinSet::spawn`](super::JoinSet::spawn)).
#[derive(Clone)]
pub struct AbortHandle {
    id: usize,
    serial: u64,
}

impl AbortHandle {
    /// Stop the task, as [`JoinHandle::abort`] does; nothing if it has
    /// finished already.
    ///
    /// ```no_run
    /// wasock::rt::block_on(async {
    ///     let t = wasock::rt::spawn(async {});
    ///     t.abort_handle().abort();
    /// });
    /// ```
    pub fn abort(&self) {
        abort(self.id, self.serial);
    }

    /// Whether the task has ended: finished, or stopped.
    ///
    /// ```no_run
    /// wasock::rt::block_on(async {
    ///     let t = wasock::rt::spawn(async {});
    ///     let h = t.abort_handle();
    ///     wasock::rt::yield_now().await;
    ///     assert!(h.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        TASKS.with(|t| {
            !matches!(t.borrow().get(self.id), Some(Slot::Parked(task)) if task.serial == self.serial)
                && !CURRENT.with(|c| c.borrow().is_some_and(|(s, _)| s == self.serial))
        })
    }
}

impl std::fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AbortHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Stop task `serial` in slot `id`, if it still runs (see
/// [`JoinHandle::abort`]).
fn abort(id: usize, serial: u64) {
    CURRENT.with(|c| {
        if let Some((running, aborted)) = c.borrow_mut().as_mut()
            && *running == serial
        {
            *aborted = true;
        }
    });
    let taken = TASKS.with(|t| {
        let mut tasks = t.borrow_mut();
        let slot = tasks.get_mut(id)?;
        match slot {
            Slot::Parked(task) if task.serial == serial => {
                match std::mem::replace(slot, Slot::Free) {
                    Slot::Parked(task) => Some(task),
                    _ => None,
                }
            }
            _ => None,
        }
    });
    // Dropped outside the table's borrow: the future's drop may touch the
    // runtime.
    drop(taken);
}

impl<T> Future for JoinHandle<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.state.borrow_mut();
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None if s.aborted => {
                panic!(
                    "awaited a task that was stopped through its AbortHandle: it has no value (wasock::rt has no JoinError)"
                )
            }
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Give the other ready tasks a turn.
///
/// ```no_run
/// wasock::rt::block_on(async {
///     for _ in 0..1000 {
///         wasock::rt::yield_now().await;
///     }
/// });
/// ```
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Run `future` to its end, and every task spawned meanwhile while it runs.
/// Tasks still unfinished when it ends are dropped.
///
/// ```no_run
/// let n = wasock::rt::block_on(async { 1 + 1 });
/// assert_eq!(n, 2);
/// ```
///
/// # Panics
///
/// When nested, or when every task waits and nothing (no socket, no timer)
/// could ever wake one: the program would otherwise wait for ever.
pub fn block_on<F: Future>(future: F) -> F::Output {
    assert!(
        !RUNNING.with(|r| r.replace(true)),
        "wasock::rt::block_on called inside block_on"
    );
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            RUNNING.with(|r| *r.borrow_mut() = false);
            let tasks = TASKS.with(|t| std::mem::take(&mut *t.borrow_mut()));
            drop(tasks);
            if let Ok(mut q) = WOKEN.lock() {
                q.clear();
            }
        }
    }
    let _reset = Reset;
    let mut future = std::pin::pin!(future);
    let root_waker = Waker::from(Arc::new(TaskWaker(ROOT)));
    let mut root_woken = true;
    // The pass's queue, swapped with the shared one so that both keep their
    // room from pass to pass.
    let mut woken = VecDeque::new();
    loop {
        if root_woken {
            root_woken = false;
            let mut cx = Context::from_waker(&root_waker);
            if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
                return v;
            }
        }
        // One pass over the tasks woken before it began: a task that wakes
        // itself again (a yield) runs again next pass, after the others, the
        // timers and the sockets have had their turn.
        std::mem::swap(
            &mut woken,
            &mut *WOKEN.lock().unwrap_or_else(|p| p.into_inner()),
        );
        for id in woken.drain(..) {
            if id == ROOT {
                root_woken = true;
            } else {
                run_task(id);
            }
        }
        timer::fire_due();
        let busy = root_woken || WOKEN.lock().is_ok_and(|q| !q.is_empty());
        if busy {
            // Still work to do: look at the sockets without waiting, so that
            // tasks waiting on them (or on timers) are not starved by busy
            // ones.
            if reactor::waiting() > 0 || timer::next_deadline().is_some() {
                reactor::turn(Some(Instant::now()));
            }
            continue;
        }
        let deadline = timer::next_deadline();
        if !reactor::turn(deadline) {
            panic!(
                "wasock::rt::block_on: every task is waiting and nothing can wake one (no socket is waited on, no timer is set)"
            );
        }
    }
}

/// Poll task `id` once, if it is parked (a stale wake-up for a finished
/// task, or one already running, does nothing).
fn run_task(id: usize) {
    let taken = TASKS.with(|t| {
        let mut tasks = t.borrow_mut();
        let slot = tasks.get_mut(id)?;
        match std::mem::replace(slot, Slot::Running) {
            Slot::Parked(task) => Some(task),
            other => {
                *slot = other;
                None
            }
        }
    });
    let Some(mut task) = taken else { return };
    let mut cx = Context::from_waker(&task.waker);
    CURRENT.with(|c| *c.borrow_mut() = Some((task.serial, false)));
    let done = task.future.as_mut().poll(&mut cx).is_ready();
    let aborted = CURRENT.with(|c| c.borrow_mut().take().is_some_and(|(_, a)| a));
    let task = TASKS.with(|t| {
        let mut slots = t.borrow_mut();
        match slots.get_mut(id) {
            Some(s) if done || aborted => {
                *s = Slot::Free;
                Some(task)
            }
            Some(s) => {
                *s = Slot::Parked(task);
                None
            }
            None => Some(task),
        }
    });
    drop(task);
}
