//! `wasock:sockets/drain`: a serving host tells the instances it runs that
//! it has begun to shut down, so that a handler holding an idle
//! keep-alive connection closes it instead of waiting out the drain
//! timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

use super::bindings::wasock::sockets::drain::Host;
use super::ctx::WasockCtxView;

/// The switch a serving host flips when it begins to drain, shared by the
/// instances it runs ([`WasockCtxBuilder::drain`]). Cloning gives another
/// handle on the same switch.
///
/// [`WasockCtxBuilder::drain`]: super::WasockCtxBuilder::drain
///
/// ```
/// use wasock_host::runtime::{DrainSignal, WasockCtx};
///
/// let drain = DrainSignal::new();
/// let ctx = WasockCtx::builder().drain(drain.clone()).build();
/// // Later, on SIGTERM: the instance's `draining()` answers true from now on.
/// drain.start();
/// assert!(drain.has_started());
/// # drop(ctx);
/// ```
#[derive(Debug, Clone)]
pub struct DrainSignal(Arc<watch::Sender<bool>>);

impl DrainSignal {
    /// A switch not yet flipped.
    pub fn new() -> DrainSignal {
        DrainSignal(Arc::new(watch::Sender::new(false)))
    }

    /// Begin draining: every instance built with this signal learns of it
    /// (see `wit/drain.wit`). Flipping it again does nothing.
    pub fn start(&self) {
        self.0
            .send_if_modified(|begun| !std::mem::replace(begun, true));
    }

    /// Whether [`start`](Self::start) was called.
    pub fn has_started(&self) -> bool {
        *self.0.borrow()
    }

    /// One instance's view of the switch.
    pub(crate) fn watch(&self) -> DrainWatch {
        DrainWatch {
            begun: self.0.subscribe(),
            told: AtomicBool::new(false),
        }
    }
}

impl Default for DrainSignal {
    fn default() -> Self {
        DrainSignal::new()
    }
}

/// One instance's view of a [`DrainSignal`]: whether draining has begun,
/// and whether a wait of the instance has been ended early for it yet
/// (once, as `wit/drain.wit` says).
#[derive(Debug)]
pub(crate) struct DrainWatch {
    begun: watch::Receiver<bool>,
    told: AtomicBool,
}

impl DrainWatch {
    pub(crate) fn has_begun(&self) -> bool {
        *self.begun.borrow()
    }

    /// Completes when draining has begun and no wait of this instance was
    /// ended for it before; it then counts as told. Never completes
    /// otherwise. Cancel-safe: dropped before completing, it tells nothing.
    pub(crate) async fn tell(&self) {
        if self.told.load(Ordering::Relaxed) {
            return std::future::pending().await;
        }
        let mut begun = self.begun.clone();
        if begun.wait_for(|b| *b).await.is_err() {
            // The signal is gone without draining: nothing will come.
            return std::future::pending().await;
        }
        if self.told.swap(true, Ordering::Relaxed) {
            // Another wait of the instance was told first.
            std::future::pending::<()>().await;
        }
    }
}

impl Host for WasockCtxView<'_> {
    fn draining(&mut self) -> wasmtime::Result<bool> {
        Ok(self.ctx.drain.as_ref().is_some_and(DrainWatch::has_begun))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::DrainSignal;
    use crate::runtime::clock::{Clock, RealClock};
    use crate::runtime::poll::{EndsEarly, Pass, passes};

    /// Long enough that a wait ended by its deadline cannot pass for one
    /// ended early (the test gives up well before it).
    const HOUR: Duration = Duration::from_secs(3600);
    const PATIENCE: Duration = Duration::from_secs(30);

    /// A wait of `idle` passes up to `deadline` from now, told by `signal`.
    async fn idle_wait(
        watch: &super::DrainWatch,
        deadline: Duration,
    ) -> Result<Option<u8>, tokio::time::error::Elapsed> {
        let clock = RealClock;
        let early = EndsEarly {
            interrupt: None,
            drain: Some(watch),
        };
        let at = Some(clock.now() + deadline);
        tokio::time::timeout(PATIENCE, passes(&clock, early, at, |_| Pass::Idle)).await
    }

    #[tokio::test]
    async fn draining_ends_the_wait_in_progress() {
        let signal = DrainSignal::new();
        let watch = signal.watch();
        let start = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            signal.start();
        };
        let (waited, ()) = tokio::join!(idle_wait(&watch, HOUR), start);
        assert_eq!(waited, Ok(None), "the wait in progress ends, empty");
    }

    #[tokio::test]
    async fn draining_ends_one_wait_that_finds_nothing_and_no_other() {
        let signal = DrainSignal::new();
        let watch = signal.watch();
        let clock = RealClock;
        // Before: an idle wait runs to its deadline.
        let before = clock.now();
        assert_eq!(idle_wait(&watch, Duration::from_millis(20)).await, Ok(None));
        assert!(clock.now() - before >= Duration::from_millis(20));
        signal.start();
        // A wait that finds something returns it, and does not take the
        // early end.
        let early = EndsEarly {
            interrupt: None,
            drain: Some(&watch),
        };
        let found = passes(&clock, early, Some(clock.now() + HOUR), |_| {
            Pass::Found(7u8)
        })
        .await;
        assert_eq!(found, Some(7));
        // The next idle wait ends at once, empty.
        assert_eq!(idle_wait(&watch, HOUR).await, Ok(None));
        // Once only: the one after runs to its deadline again.
        let before = clock.now();
        assert_eq!(idle_wait(&watch, Duration::from_millis(20)).await, Ok(None));
        assert!(clock.now() - before >= Duration::from_millis(20));
        // Every instance hears of it once: a second watch of the signal.
        assert_eq!(idle_wait(&signal.watch(), HOUR).await, Ok(None));
    }
}
