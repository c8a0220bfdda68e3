//! The time an instance lives in. Every timeout the runtime keeps (send and
//! receive timeouts, `poll`'s timeout, `--timeout`, serve's drain) and the
//! guest's WASI clocks read the context's [`Clock`], never the wall clock
//! directly: under the simulator it is virtual.

use std::fmt::Debug;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::net::BoxFuture;

/// A source of time for one or many instances.
///
/// Instants are tokio's, and [`Clock::sleep_until`] must wake at the
/// clock's own idea of that instant. [`RealClock`] is the machine's time;
/// the simulator's clock is tokio's paused clock on the simulator's own
/// runtime, which advances only when every guest waits, so a run does not
/// depend on how fast the machine is. (WASI sleeps through `wasi:io`
/// pollables use tokio's timer, and so follow the same time.)
pub trait Clock: Debug + Send + Sync + 'static {
    /// The monotonic time now.
    fn now(&self) -> Instant;

    /// Wait until `at`.
    fn sleep_until(&self, at: Instant) -> BoxFuture<()>;

    /// The calendar time now (the guest's wall clock).
    fn system_time(&self) -> SystemTime;

    /// Time to let pass when a guest asks without waiting and finds nothing
    /// (a `poll` with timeout 0, a non-blocking call that would block).
    /// Real time passes anyway; a virtual clock that moves only when every
    /// guest waits would otherwise stand still for a guest that polls in a
    /// loop, and what it polls for would never come.
    fn spin_step(&self) -> Option<Duration> {
        None
    }
}

/// Let `clock`'s [`Clock::spin_step`] pass, if it has one.
pub(crate) async fn spin(clock: &dyn Clock) {
    if let Some(step) = clock.spin_step() {
        clock.sleep_until(clock.now() + step).await;
    }
}

/// The machine's clocks.
///
/// ```
/// use wasock_host::runtime::{Clock, RealClock};
///
/// let t = RealClock.now();
/// assert!(RealClock.now() >= t);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, at: Instant) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep_until(at))
    }

    fn system_time(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Run `f` until `deadline` on `clock` (`None`: for as long as it takes);
/// `Err(())` if the deadline came first. `f` is polled before the clock, so
/// a future that is ready at the deadline wins.
pub(crate) async fn until<T>(
    clock: &dyn Clock,
    deadline: Option<Instant>,
    f: impl Future<Output = T>,
) -> Result<T, ()> {
    let Some(at) = deadline else {
        return Ok(f.await);
    };
    let mut f = pin!(f);
    let mut sleep = clock.sleep_until(at);
    poll_fn(|cx| {
        if let Poll::Ready(v) = f.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        sleep.as_mut().poll(cx).map(|()| Err(()))
    })
    .await
}

/// Run `f` for at most `timeout` on `clock`.
pub(crate) async fn within<T>(
    clock: &dyn Clock,
    timeout: Option<Duration>,
    f: impl Future<Output = T>,
) -> Result<T, ()> {
    let deadline = timeout.map(|t| clock.now().checked_add(t));
    match deadline {
        // Too far to represent: never.
        Some(None) => Ok(f.await),
        Some(at) => until(clock, at, f).await,
        None => Ok(f.await),
    }
}

/// A context's clock as the guest's WASI clocks.
pub(crate) struct WasiClocks {
    clock: std::sync::Arc<dyn Clock>,
    origin: Instant,
}

impl WasiClocks {
    /// WASI clocks reading `clock`; the monotonic one starts at 0 now.
    pub(crate) fn new(clock: std::sync::Arc<dyn Clock>) -> WasiClocks {
        let origin = clock.now();
        WasiClocks { clock, origin }
    }

    /// Install both on `builder`.
    pub(crate) fn install(
        clock: &std::sync::Arc<dyn Clock>,
        builder: &mut wasmtime_wasi::WasiCtxBuilder,
    ) {
        builder
            .monotonic_clock(WasiClocks::new(clock.clone()))
            .wall_clock(WasiClocks::new(clock.clone()));
    }
}

impl wasmtime_wasi::HostMonotonicClock for WasiClocks {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        let elapsed = self.clock.now().saturating_duration_since(self.origin);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}

impl wasmtime_wasi::HostWallClock for WasiClocks {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.clock
            .system_time()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }
}
