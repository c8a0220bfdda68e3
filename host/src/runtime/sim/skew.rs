//! Hosts whose wall clocks read wrong for a while: an NTP step, an
//! operator's `date -s`, a virtual machine resumed with a stale clock.
//! Only the calendar clock moves (`SystemTime`, `wasi:clocks/wall-clock`,
//! `CLOCK_REALTIME`); the monotonic clock, timeouts and sleeps run on in
//! virtual time, as they do on a real machine when its clock is set. What
//! a host's clock reads is a pure function of virtual time and its
//! schedule, so a run repeats.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::life::sleep_since;
use super::transcript::{Recorder, What};
use super::window;
use crate::net::BoxFuture;
use crate::runtime::clock::Clock;

/// The farthest a simulated host's wall clock may be set off true time: a
/// century.
pub const MAX_CLOCK_OFFSET: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// How far a host's wall clock reads from true (virtual) time.
///
/// ```
/// use std::time::Duration;
/// use wasock_host::runtime::Offset;
///
/// assert_eq!(Offset::Behind(Duration::from_millis(1500)).to_string(), "1.500 s behind");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    /// It reads later than true time by this much.
    Ahead(Duration),
    /// It reads earlier than true time by this much.
    Behind(Duration),
}

impl Offset {
    /// How far, either way.
    pub fn magnitude(self) -> Duration {
        match self {
            Offset::Ahead(d) | Offset::Behind(d) => d,
        }
    }

    /// `t` as a clock this far off reads it. A clock set back past the
    /// epoch reads the epoch.
    fn apply(self, t: SystemTime) -> SystemTime {
        match self {
            Offset::Ahead(d) => t.checked_add(d).unwrap_or(t),
            Offset::Behind(d) => t
                .checked_sub(d)
                .filter(|t| *t >= SystemTime::UNIX_EPOCH)
                .unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (d, way) = match self {
            Offset::Ahead(d) => (d, "ahead"),
            Offset::Behind(d) => (d, "behind"),
        };
        write!(f, "{:.3} s {way}", d.as_secs_f64())
    }
}

/// One host's wall clock set off true time: from `at` it reads `offset`
/// from true time, and from `restore`, if any, true time again.
///
/// ```
/// use std::time::Duration;
/// use wasock_host::runtime::{ClockSkew, Offset};
///
/// let s = Duration::from_secs;
/// let skews = [
///     ClockSkew { at: s(5), offset: Offset::Ahead(s(30)), restore: Some(s(10)) },
///     ClockSkew { at: s(20), offset: Offset::Behind(s(2)), restore: None },
/// ];
/// assert!(ClockSkew::check_schedule(&skews).is_ok());
/// assert!(ClockSkew::check_schedule(&[skews[1], skews[0]]).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSkew {
    /// When the clock is set off (virtual time since the start).
    pub at: Duration,
    /// How far from true time it reads from then on.
    pub offset: Offset,
    /// When it reads true time again (`None`: for the rest of the run).
    pub restore: Option<Duration>,
}

impl ClockSkew {
    /// Whether `skews` can happen to one host, in order: each restore
    /// after its `at`, each skew after the one before it is restored
    /// (skews of one host do not overlap), none after a skew that is never
    /// restored, and no offset past [`MAX_CLOCK_OFFSET`]. The error says which
    /// and why.
    pub fn check_schedule(skews: &[ClockSkew]) -> Result<(), String> {
        if let Some(s) = skews
            .iter()
            .find(|s| s.offset.magnitude() > MAX_CLOCK_OFFSET)
        {
            return Err(format!(
                "an offset of {:?} is more than a century ({MAX_CLOCK_OFFSET:?}), the most",
                s.offset.magnitude()
            ));
        }
        let kind = window::Kind {
            name: "skew",
            plural: "skews",
            end: "restore",
            during: "the clock is still off",
            endless: "which is never restored (give that one a restore)",
            at_boundaries: true,
        };
        window::check(&kind, None, skews.iter().map(|s| (s.at, s.restore)))
    }

    /// The skew of `skews` (in order, not overlapping) that holds at `t`.
    fn holding(skews: &[ClockSkew], t: Duration) -> Option<&ClockSkew> {
        window::holding(skews, t, |s| (s.at, s.restore))
    }
}

/// A host's clock: the simulation's, with its wall clock set off true
/// time as its schedule says.
#[derive(Debug)]
pub(super) struct SkewedClock {
    inner: Arc<dyn Clock>,
    origin: Instant,
    skews: Vec<ClockSkew>,
}

impl SkewedClock {
    /// `inner` with `skews` (checked, in order of time) counted from
    /// `origin`.
    pub(super) fn new(inner: Arc<dyn Clock>, origin: Instant, skews: Vec<ClockSkew>) -> Self {
        SkewedClock {
            inner,
            origin,
            skews,
        }
    }
}

impl Clock for SkewedClock {
    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn sleep_until(&self, at: Instant) -> BoxFuture<()> {
        self.inner.sleep_until(at)
    }

    fn system_time(&self) -> SystemTime {
        let t = self.inner.now().saturating_duration_since(self.origin);
        let truth = self.inner.system_time();
        match ClockSkew::holding(&self.skews, t) {
            Some(s) => s.offset.apply(truth),
            None => truth,
        }
    }

    fn spin_step(&self) -> Option<Duration> {
        self.inner.spin_step()
    }
}

/// Write `host`'s skews into the transcript at their times.
pub(super) async fn announce(
    recorder: Recorder,
    host: String,
    clock: Arc<dyn Clock>,
    origin: Instant,
    skews: Vec<ClockSkew>,
) {
    for s in skews {
        sleep_since(&*clock, origin, s.at).await;
        recorder.record(&host, What::Clock(Some(s.offset)));
        let Some(restore) = s.restore else { return };
        sleep_since(&*clock, origin, restore).await;
        recorder.record(&host, What::Clock(None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn skew(at: u64, offset: Offset, restore: Option<u64>) -> ClockSkew {
        ClockSkew {
            at: S(at),
            offset,
            restore: restore.map(S),
        }
    }

    #[test]
    fn a_schedule_in_order_without_overlaps_is_accepted() {
        let ok = [
            skew(1, Offset::Ahead(S(30)), Some(2)),
            skew(2, Offset::Behind(S(5)), Some(9)),
            skew(10, Offset::Ahead(MAX_CLOCK_OFFSET), None),
        ];
        assert_eq!(ClockSkew::check_schedule(&ok), Ok(()));
        assert_eq!(ClockSkew::check_schedule(&[]), Ok(()));
    }

    #[test]
    fn every_bad_schedule_is_refused_saying_why() {
        let cases: [(&[ClockSkew], &str); 4] = [
            (
                &[skew(3, Offset::Ahead(S(1)), Some(3))],
                "must come after the skew's at",
            ),
            (
                &[
                    skew(1, Offset::Ahead(S(1)), None),
                    skew(5, Offset::Ahead(S(1)), Some(6)),
                ],
                "never restored",
            ),
            (
                &[
                    skew(1, Offset::Ahead(S(1)), Some(5)),
                    skew(4, Offset::Behind(S(1)), Some(6)),
                ],
                "may not overlap",
            ),
            (
                &[skew(1, Offset::Behind(MAX_CLOCK_OFFSET + S(1)), None)],
                "more than a century",
            ),
        ];
        for (skews, why) in cases {
            let err = ClockSkew::check_schedule(skews).unwrap_err();
            assert!(err.contains(why), "{skews:?}: {err}");
        }
    }

    #[test]
    fn the_wall_clock_is_off_only_while_a_skew_holds() {
        super::super::in_virtual_time(|real, origin| async move {
            let clock = SkewedClock::new(
                real.clone(),
                origin,
                vec![
                    skew(1, Offset::Ahead(S(30)), Some(2)),
                    skew(3, Offset::Behind(S(7)), None),
                ],
            );
            // The difference, in whole seconds, between the skewed wall
            // clock and the true one, read one after the other (the real
            // clock moves in between; by far less than a second).
            let off = || {
                let (skewed, truth) = (clock.system_time(), real.system_time());
                match skewed.duration_since(truth) {
                    Ok(d) => d.as_secs_f64().round() as i64,
                    Err(e) => -(e.duration().as_secs_f64().round() as i64),
                }
            };
            let mut seen = Vec::new();
            for t in [0, 1, 2, 3, 100] {
                tokio::time::sleep_until(origin + S(t)).await;
                seen.push(off());
                assert_eq!(clock.now(), real.now(), "the monotonic clock is true");
            }
            assert_eq!(seen, [0, 30, 0, -7, -7]);
        });
    }

    #[test]
    fn a_clock_set_back_past_the_epoch_reads_the_epoch() {
        let t = SystemTime::UNIX_EPOCH + S(5);
        assert_eq!(Offset::Behind(S(6)).apply(t), SystemTime::UNIX_EPOCH);
        assert_eq!(Offset::Ahead(S(6)).apply(t), SystemTime::UNIX_EPOCH + S(11));
        assert_eq!(Offset::Ahead(S(2)).to_string(), "2.000 s ahead");
    }
}
