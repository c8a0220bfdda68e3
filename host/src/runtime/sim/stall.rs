//! A watch on the simulator's virtual clock, from a thread of its own. The
//! simulator's time moves only when every guest waits; a guest that
//! computes without ever waiting (or guests that trade messages taking no
//! time, for ever) holds it still, and the run would go on without a word.
//! The watch says so, and lets the run go on.

use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant as WallInstant};

use tokio::runtime::Handle;
use tokio::time::Instant;

/// Wall time with virtual time standing still before the warning, unless
/// a simulation sets its own (`Simulation::stall_warning`).
pub(crate) const STALL_AFTER: Duration = Duration::from_secs(10);

/// Watch the virtual clock of `rt` (the simulator's runtime) until `done`
/// says the run is over (a message, or its sender dropped); warn each time
/// it has stood still for `after` of wall time. Whether it ever did.
///
/// The clock is read by a task spawned on `rt` once a look, a few times
/// per `after`: it only reads the time, so what the guests see does not
/// change. A look that gets no answer (the runtime is held) counts as
/// standing still.
pub(crate) fn watch(rt: &Handle, after: Duration, done: &Receiver<()>) -> bool {
    let look_every = (after / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
    let mut last: Option<Instant> = None;
    let mut still_since = WallInstant::now();
    let mut warned = false;
    let mut ever = false;
    loop {
        match done.recv_timeout(look_every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return ever,
        }
        let (tx, rx) = channel();
        rt.spawn(async move {
            let _ = tx.send(Instant::now());
        });
        let now = rx.recv_timeout(look_every).ok();
        if now.is_some() && now != last {
            last = now;
            still_since = WallInstant::now();
            warned = false;
            continue;
        }
        if !warned && still_since.elapsed() >= after {
            warned = true;
            ever = true;
            tracing::warn!(
                target: "wasock::sim",
                "virtual time has not moved for {} s of wall time: a guest computes without ever waiting (a loop that never blocks), or guests trade messages that take no time, for ever. The run goes on; give that guest's host a `fuel` limit to stop it there, or links some latency",
                after.as_secs_f64()
            );
        }
    }
}
