//! A watch on the simulator's virtual clock, from a thread of its own. The
//! simulator's time moves only when every guest waits; a guest that
//! computes without ever waiting (or guests that trade messages taking no
//! time, for ever) holds it still, and the run would go on without a word.
//! The watch says so, and lets the run go on.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as WallInstant};

use tokio::runtime::Handle;
use tokio::time::Instant;

/// Wall time with virtual time standing still before the warning, unless
/// a simulation sets its own (`Simulation::stall_warning`).
pub(crate) const STALL_AFTER: Duration = Duration::from_secs(10);

/// The host whose guest's task the runtime ran last: while virtual time
/// stands still, the guest that keeps it still is the one that runs.
/// Hosts are numbered as they are [`tracked`]; a poll notes its host's
/// number, and only a warning reads the name.
#[derive(Clone, Default)]
pub(crate) struct LastRun {
    /// The number of the host polled last, plus one (0: none yet).
    last: Arc<AtomicUsize>,
    /// Each tracked host's name, by number.
    names: Arc<Mutex<Vec<String>>>,
}

impl LastRun {
    fn name(&self) -> String {
        let Some(i) = self.last.load(Ordering::Relaxed).checked_sub(1) else {
            return String::new();
        };
        self.names
            .lock()
            .ok()
            .and_then(|names| names.get(i).cloned())
            .unwrap_or_default()
    }
}

/// `task`, noting `host` in `last` each time it is polled.
pub(crate) fn tracked<F: Future>(
    host: String,
    last: LastRun,
    task: F,
) -> impl Future<Output = F::Output> {
    let number = last.names.lock().map_or(0, |mut names| {
        names.push(host);
        names.len()
    });
    let mut task = Box::pin(task);
    std::future::poll_fn(move |cx| {
        last.last.store(number, Ordering::Relaxed);
        task.as_mut().poll(cx)
    })
}

/// What the watch hears: the run's end, or the virtual time a look read.
pub(crate) enum Heard {
    Done,
    Now(Instant),
}

/// Says [`Heard::Done`] when dropped: the run ended, however it ended.
pub(crate) struct EndOfRun(pub(crate) Sender<Heard>);

impl Drop for EndOfRun {
    fn drop(&mut self) {
        let _ = self.0.send(Heard::Done);
    }
}

/// Watch the virtual clock of `rt` until [`Heard::Done`] comes on `heard`
/// (at once: the run's end never waits for a look); warn each time it has
/// stood still for `after` of wall time. The host whose guest ran last the
/// first time it did, if it ever did.
///
/// The clock is read by a task spawned on `rt`, one at a time, a few
/// times per `after`: it only reads the time, so what the guests see does
/// not change. While a look goes unanswered (the runtime is held), the
/// clock counts as standing still.
pub(crate) fn watch(
    rt: &Handle,
    after: Duration,
    ask: &Sender<Heard>,
    heard: &Receiver<Heard>,
    last_run: &LastRun,
) -> Option<String> {
    let look_every = (after / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
    let mut last: Option<Instant> = None;
    let mut still_since = WallInstant::now();
    let mut asked = false;
    let mut warned = false;
    let mut first: Option<String> = None;
    loop {
        match heard.recv_timeout(look_every) {
            Ok(Heard::Done) | Err(RecvTimeoutError::Disconnected) => return first,
            Ok(Heard::Now(now)) => {
                asked = false;
                if last != Some(now) {
                    last = Some(now);
                    still_since = WallInstant::now();
                    warned = false;
                }
            }
            Err(RecvTimeoutError::Timeout) if !asked => {
                asked = true;
                let answer = ask.clone();
                rt.spawn(async move {
                    let _ = answer.send(Heard::Now(Instant::now()));
                });
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        if !warned && still_since.elapsed() >= after {
            warned = true;
            let host = last_run.name();
            first.get_or_insert_with(|| host.clone());
            tracing::warn!(
                target: "wasock::sim",
                "virtual time has not moved for {} s of wall time: a guest computes without ever waiting (a loop that never blocks), or guests trade messages that take no time, for ever; the guest that ran last is host {host:?}'s. The run goes on; give that guest's host a `fuel` limit to stop it there, or links some latency",
                after.as_secs_f64()
            );
        }
    }
}
