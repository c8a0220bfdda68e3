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
