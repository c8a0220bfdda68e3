//! Timers: a heap of deadlines, fired by the executor between turns; the
//! nearest one bounds the reactor's `poll`.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Timers {
    /// (deadline, key), ordered: the first is the nearest.
    order: BTreeSet<(Instant, u64)>,
    wakers: BTreeMap<u64, Waker>,
    next: u64,
}

thread_local! {
    static TIMERS: RefCell<Timers> = RefCell::new(Timers::default());
}

/// The nearest deadline of a live timer.
pub(crate) fn next_deadline() -> Option<Instant> {
    TIMERS.with(|t| t.borrow().order.first().map(|(at, _)| *at))
}

/// Wake every timer whose deadline has passed, in deadline order (ties in
/// the order they were set).
pub(crate) fn fire_due() {
    let now = Instant::now();
    let due: Vec<Waker> = TIMERS.with(|t| {
        let mut t = t.borrow_mut();
        let mut out = Vec::new();
        while let Some(&(at, key)) = t.order.first() {
            if at > now {
                break;
            }
            t.order.remove(&(at, key));
            if let Some(w) = t.wakers.remove(&key) {
                out.push(w);
            }
        }
        out
    });
    for w in due {
        w.wake();
    }
}

/// A future that completes at a deadline. Dropping it cancels the timer.
#[derive(Debug)]
pub struct Sleep {
    at: Instant,
    key: Option<u64>,
}

/// Wait for `duration`.
///
/// ```no_run
/// use std::time::Duration;
/// wasock::rt::block_on(wasock::rt::sleep(Duration::from_millis(10)));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(after(Instant::now(), duration))
}

/// `at + d`, or about thirty years on when that cannot be represented (a
/// deadline that never comes, as `Duration::MAX` means).
fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(Duration::from_secs(86_400 * 365 * 30)))
        .unwrap_or(at)
}

/// Wait until `at`.
///
/// ```no_run
/// use std::time::{Duration, Instant};
/// let at = Instant::now() + Duration::from_millis(10);
/// wasock::rt::block_on(wasock::rt::sleep_until(at));
/// ```
pub fn sleep_until(at: Instant) -> Sleep {
    Sleep { at, key: None }
}

impl Sleep {
    /// When it completes.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let s = wasock::rt::sleep(std::time::Duration::from_secs(1));
    /// println!("{:?}", s.deadline());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn deadline(&self) -> Instant {
        self.at
    }

    /// Move the deadline (as a fresh timer).
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let mut s = wasock::rt::sleep(std::time::Duration::from_secs(60));
    /// s.reset(std::time::Instant::now());
    /// s.await;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn reset(&mut self, at: Instant) {
        // A task waiting on it keeps its waker: it is registered again at
        // the new deadline.
        let waker = self.key.take().and_then(|key| {
            let old = self.at;
            TIMERS.with(|t| {
                let mut t = t.borrow_mut();
                t.order.remove(&(old, key));
                t.wakers.remove(&key)
            })
        });
        self.at = at;
        if let Some(w) = waker {
            let key = TIMERS.with(|t| {
                let mut t = t.borrow_mut();
                let k = t.next;
                t.next += 1;
                t.order.insert((at, k));
                t.wakers.insert(k, w);
                k
            });
            self.key = Some(key);
        }
    }

    fn cancel(&mut self) {
        if let Some(key) = self.key.take() {
            let at = self.at;
            TIMERS.with(|t| {
                let mut t = t.borrow_mut();
                t.order.remove(&(at, key));
                t.wakers.remove(&key);
            });
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            self.cancel();
            return Poll::Ready(());
        }
        let at = self.at;
        let key = self.key;
        let key = TIMERS.with(|t| {
            let mut t = t.borrow_mut();
            match key {
                Some(k) if t.wakers.contains_key(&k) => {
                    t.wakers.insert(k, cx.waker().clone());
                    k
                }
                _ => {
                    let k = t.next;
                    t.next += 1;
                    t.order.insert((at, k));
                    t.wakers.insert(k, cx.waker().clone());
                    k
                }
            }
        });
        self.key = Some(key);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// [`timeout`]'s error: the deadline came first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}

/// Run `future` for at most `duration`: its output, or [`Elapsed`]. On
/// timeout the future is dropped, which cancels what it waited on.
///
/// ```no_run
/// use std::time::Duration;
/// use wasock::rt::{block_on, sleep, timeout};
/// let r = block_on(timeout(Duration::from_millis(5), sleep(Duration::from_secs(60))));
/// assert!(r.is_err());
/// ```
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Result<F::Output, Elapsed> {
    let mut future = std::pin::pin!(future);
    let mut timer = sleep(duration);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        Pin::new(&mut timer).poll(cx).map(|()| Err(Elapsed))
    })
    .await
}

/// Ticks every `period`, the first at once. What a late tick does to the
/// ones after it is its [`MissedTickBehavior`] (by default, as tokio's,
/// [`Burst`](MissedTickBehavior::Burst)).
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    next: Instant,
    sleep: Option<Sleep>,
    missed: MissedTickBehavior,
}

/// How late a tick may be taken and still count as on time (tokio's
/// tolerance).
const LATE: Duration = Duration::from_millis(5);

/// What an [`Interval`] does when a tick comes late (the program was busy
/// past the next tick's time), as tokio's enum of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Catch up: the ticks missed come at once, one per `tick`, until the
    /// interval is back on its schedule (the default).
    #[default]
    Burst,
    /// Start again from the late tick (one taken more than 5 ms after its
    /// time): the next comes a whole period after it was taken, and every
    /// later one shifts with it.
    Delay,
    /// Keep the schedule, leaving out the ticks missed: the next comes at
    /// the first scheduled time still ahead.
    Skip,
}

/// An [`Interval`] of `period` (which must not be zero).
///
/// ```no_run
/// use std::time::Duration;
/// wasock::rt::block_on(async {
///     let mut every = wasock::rt::interval(Duration::from_millis(100));
///     for _ in 0..3 {
///         every.tick().await;
///     }
/// });
/// ```
///
/// # Panics
///
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "an interval's period must not be zero");
    Interval {
        period,
        next: Instant::now(),
        sleep: None,
        missed: MissedTickBehavior::default(),
    }
}

impl Interval {
    /// Wait for the next tick; returns its scheduled instant.
    ///
    /// ```no_run
    /// # wasock::rt::block_on(async {
    /// let mut every = wasock::rt::interval(std::time::Duration::from_millis(10));
    /// let at = every.tick().await;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn tick(&mut self) -> Instant {
        let at = self.next;
        let sleep = self.sleep.get_or_insert_with(|| sleep_until(at));
        if sleep.deadline() != at {
            sleep.reset(at);
        }
        sleep.await_ref().await;
        self.sleep = None;
        let now = Instant::now();
        let on_time = after(at, self.period);
        self.next = match self.missed {
            // Late by more than tokio's tolerance: start again from now.
            MissedTickBehavior::Delay if now > after(at, LATE) => after(now, self.period),
            MissedTickBehavior::Skip if on_time < now => {
                let behind = now.duration_since(on_time).as_nanos() / self.period.as_nanos().max(1);
                on_time + self.period * u32::try_from(behind + 1).unwrap_or(u32::MAX)
            }
            _ => on_time,
        };
        at
    }

    /// Choose what a late tick does to the ones after it.
    ///
    /// ```no_run
    /// use wasock::rt::{MissedTickBehavior, interval};
    /// let mut every = interval(std::time::Duration::from_secs(1));
    /// every.set_missed_tick_behavior(MissedTickBehavior::Skip);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The interval's [`MissedTickBehavior`].
    ///
    /// ```no_run
    /// let every = wasock::rt::interval(std::time::Duration::from_secs(1));
    /// assert_eq!(every.missed_tick_behavior(), wasock::rt::MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// The interval's period.
    ///
    /// ```no_run
    /// let every = wasock::rt::interval(std::time::Duration::from_secs(1));
    /// assert_eq!(every.period(), std::time::Duration::from_secs(1));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl Sleep {
    fn await_ref(&mut self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| Pin::new(&mut *self).poll(cx))
    }
}
