//! Hosts whose programs stop for a while and then go on, unaware: a
//! `SIGSTOP`, a long garbage-collection pause, a virtual machine
//! descheduled. The host stays up: its sockets keep what arrives (up to
//! their buffers) and its peers see no end, only silence. Time passes for
//! the stopped guest as for everyone (its monotonic clock included), so
//! when it goes on, its timers are late and its beliefs about time stale:
//! what breaks leases that rely on a holder noticing its own expiry.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use super::Crash;
use super::life::sleep_since;
use super::transcript::{Recorder, What};
use super::window;
use crate::net::BoxFuture;
use crate::runtime::clock::Clock;

/// A host's guest stopped from `at` until `resume` (virtual time since the
/// start; `None`: for the rest of the run), its host still up.
///
/// ```
/// use std::time::Duration;
/// use wasock_host::runtime::Pause;
///
/// let s = Duration::from_secs;
/// let pauses = [
///     Pause { at: s(5), resume: Some(s(8)) },
///     Pause { at: s(8), resume: None },
/// ];
/// assert!(Pause::check_schedule(s(1), &pauses).is_ok());
/// assert!(Pause::check_schedule(s(1), &[pauses[1], pauses[0]]).is_err());
/// // Not before its guest starts.
/// assert!(Pause::check_schedule(s(6), &pauses).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// When the guest stops.
    pub at: Duration,
    /// When it goes on (`None`: never).
    pub resume: Option<Duration>,
}

impl Pause {
    /// Whether `pauses` can happen to a guest that starts at `start`, in
    /// order: none before the start, each resume after its `at`, each
    /// pause at or after the resume before it, and none after a pause that
    /// never ends. The error says which and why.
    pub fn check_schedule(start: Duration, pauses: &[Pause]) -> Result<(), String> {
        let kind = window::Kind {
            name: "pause",
            plural: "pauses",
            end: "resume",
            during: "the guest is stopped",
            endless: "which never ends (give that one a resume)",
            at_boundaries: true,
        };
        window::check(&kind, Some(start), pauses.iter().map(|p| (p.at, p.resume)))
    }

    /// Whether each of `pauses` begins while its host is up, as `crashes`
    /// take it down and bring it back: a host that is down has
    /// no guest to stop. (A crash during a pause ends the pause.)
    pub fn check_against_crashes(pauses: &[Pause], crashes: &[Crash]) -> Result<(), String> {
        for p in pauses {
            if let Some(c) = crashes.iter().find(|c| c.holds_at(p.at)) {
                let (back, instead) = match c.restart {
                    Some(r) => (
                        format!("back at {r:?}"),
                        "pause it before the crash or after the restart",
                    ),
                    None => ("never back".to_string(), "pause it before the crash"),
                };
                return Err(format!(
                    "a pause at {:?} comes while the host is down (crashed at {:?}, {back}): \
                     a host that is down has no guest to stop; {instead}",
                    p.at, c.at
                ));
            }
        }
        Ok(())
    }

    /// The pause of `pauses` (in order, not overlapping) in force at `t`.
    fn holding(pauses: &[Pause], t: Duration) -> Option<&Pause> {
        window::holding(pauses, t, |p| (p.at, p.resume))
    }
}

/// Run `f`, except while one of `pauses` (in order, counted from
/// `origin`) is in force: then it is not polled at all, whatever wakes it,
/// until the pause ends. A future polled late sees what it waited for as
/// ready and its timers as due, as a process does after `SIGCONT`.
pub(super) async fn pausable<F: Future>(
    clock: &dyn Clock,
    origin: Instant,
    pauses: &[Pause],
    f: F,
) -> F::Output {
    // Most guests have no pauses: nothing to look at on each poll.
    if pauses.is_empty() {
        return f.await;
    }
    let mut f = pin!(f);
    // The wait for the end of the pause in force, and that end.
    let mut waiting: Option<(Duration, BoxFuture<()>)> = None;
    poll_fn(|cx| {
        loop {
            let t = clock.now().saturating_duration_since(origin);
            let Some(pause) = Pause::holding(pauses, t) else {
                waiting = None;
                return f.as_mut().poll(cx);
            };
            // Stopped for good: nothing will poll it again.
            let Some(resume) = pause.resume else {
                return Poll::Pending;
            };
            if waiting.as_ref().is_none_or(|(end, _)| *end != resume) {
                let wake = match origin.checked_add(resume) {
                    Some(at) => clock.sleep_until(at),
                    None => Box::pin(std::future::pending()),
                };
                waiting = Some((resume, wake));
            }
            let Some((_, wake)) = waiting.as_mut() else {
                return Poll::Pending;
            };
            match wake.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                // Over: look again (the next pause may begin at once).
                Poll::Ready(()) => waiting = None,
            }
        }
    })
    .await
}

/// The pauses of `pauses` that begin during one life of the guest, from
/// its `start` until its host's crash at `end` (`None`: to the run's end).
/// A crash ends the pause in force with the guest it stopped: the guest
/// started again after it is not stopped by a pause that began before.
pub(super) fn of_life(pauses: &[Pause], start: Duration, end: Option<Duration>) -> Vec<Pause> {
    pauses
        .iter()
        .filter(|p| p.at >= start && end.is_none_or(|e| p.at < e))
        .copied()
        .collect()
}

/// Write `pauses` of `host`'s guest (those of one life) into the
/// transcript at their times. It runs beside the guest and is dropped with
/// it, so neither a pause after the guest has ended nor the end of a pause
/// its host's crash cut short is written. Never completes.
pub(super) async fn announce(
    recorder: &Recorder,
    host: &str,
    clock: &dyn Clock,
    origin: Instant,
    pauses: &[Pause],
) -> Infallible {
    for p in pauses {
        sleep_since(clock, origin, p.at).await;
        recorder.record(host, What::Pause(true));
        let Some(resume) = p.resume else { break };
        sleep_since(clock, origin, resume).await;
        recorder.record(host, What::Pause(false));
    }
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn pause(at: u64, resume: Option<u64>) -> Pause {
        Pause {
            at: S(at),
            resume: resume.map(S),
        }
    }

    #[test]
    fn every_bad_schedule_is_refused_saying_why() {
        assert_eq!(
            Pause::check_schedule(
                S(1),
                &[pause(1, Some(2)), pause(2, Some(3)), pause(9, None)]
            ),
            Ok(())
        );
        let cases: [(&[Pause], &str); 4] = [
            (&[pause(0, Some(3))], "before the guest's start at 1s"),
            (&[pause(3, Some(3))], "must come after the pause's at"),
            (&[pause(1, None), pause(5, Some(6))], "never ends"),
            (&[pause(1, Some(5)), pause(4, Some(6))], "may not overlap"),
        ];
        for (pauses, why) in cases {
            let err = Pause::check_schedule(S(1), pauses).unwrap_err();
            assert!(err.contains(why), "{pauses:?}: {err}");
        }
    }

    /// A future that counts its polls and is ready at 10 s is not polled
    /// from 2 s to 5 s nor from 5 s to 7 s (two pauses back to back),
    /// however often it is woken, and ends at 10 s.
    #[test]
    fn a_paused_future_is_not_polled_until_the_pause_ends() {
        super::super::in_virtual_time(|clock, origin| async move {
            let polls = std::cell::RefCell::new(Vec::new());
            // Ready at 10 s; asks to be polled again every 100 ms.
            let ticking = poll_fn(|cx| {
                let t = clock.now().saturating_duration_since(origin);
                polls.borrow_mut().push(t);
                if t >= S(10) {
                    return Poll::Ready(t);
                }
                let waker = cx.waker().clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    waker.wake();
                });
                Poll::Pending
            });
            let pauses = [pause(2, Some(5)), pause(5, Some(7))];
            let ended = pausable(&*clock, origin, &pauses, ticking).await;
            assert_eq!(ended, S(10));
            let polls = polls.borrow();
            assert!(polls.iter().all(|t| *t < S(2) || *t >= S(7)), "{polls:?}");
            assert!(polls.contains(&S(7)), "not polled at the resume: {polls:?}");
        });
    }
}
