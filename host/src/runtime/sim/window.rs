//! What crashes, clock skews and pauses share: each strikes one host from
//! `at` until an end (a restart, a restore, a resume) or for good, and a
//! host's schedule of one kind is checked and looked up the same way.

use std::time::Duration;

/// How a kind of window is checked and named in errors.
pub(super) struct Kind {
    /// The window, as errors name it: "crash".
    pub name: &'static str,
    /// More than one: "crashes".
    pub plural: &'static str,
    /// Its end: "restart".
    pub end: &'static str,
    /// What holds during it: "the host is down".
    pub during: &'static str,
    /// Why nothing may follow one that never ends: "which has no restart
    /// (the host is down for good from then on)".
    pub endless: &'static str,
    /// Whether one may begin at its guest's start and at the end of the
    /// one before (a pause may; a crash must come after them).
    pub at_boundaries: bool,
}

/// Whether `windows` (`(at, end)`, in order of `at`) can happen to one
/// host whose guest starts at `start` (`None`: no bound): each end after
/// its `at`, none before the start, none overlapping the one before, and
/// none after one that never ends. The error says which and why.
pub(super) fn check(
    kind: &Kind,
    start: Option<Duration>,
    windows: impl IntoIterator<Item = (Duration, Option<Duration>)>,
) -> Result<(), String> {
    let Kind { name, end, .. } = kind;
    // Whether `t` comes too early against `bound`.
    let early = |t: Duration, bound: Duration| {
        if kind.at_boundaries {
            t < bound
        } else {
            t <= bound
        }
    };
    let mut before: Option<(Duration, Option<Duration>)> = None;
    for (at, until) in windows {
        if let Some(r) = until
            && r <= at
        {
            return Err(format!(
                "the {end} at {r:?} must come after the {name}'s at ({at:?})"
            ));
        }
        match before {
            None => {
                if let Some(s) = start
                    && early(at, s)
                {
                    let when = if kind.at_boundaries {
                        "comes before"
                    } else {
                        "must come after"
                    };
                    return Err(format!(
                        "a {name} at {at:?} {when} the guest's start at {s:?}"
                    ));
                }
            }
            Some((b, None)) => {
                return Err(format!(
                    "a {name} at {at:?} comes after the one at {b:?}, {}",
                    kind.endless
                ));
            }
            Some((b, Some(r))) if early(at, r) => {
                return Err(format!(
                    "a {name} at {at:?} comes while {} (from {b:?} to {r:?}); {} of one host \
                     may not overlap",
                    kind.during, kind.plural
                ));
            }
            Some(_) => {}
        }
        before = Some((at, until));
    }
    Ok(())
}

/// The item of `items` (in order of `at`, their windows not overlapping)
/// whose window, as `span` gives it, holds at `t`.
pub(super) fn holding<T>(
    items: &[T],
    t: Duration,
    span: impl Fn(&T) -> (Duration, Option<Duration>),
) -> Option<&T> {
    // The last to begin by `t` is the only one that can hold.
    let begun = items.partition_point(|i| span(i).0 <= t);
    let last = items[..begun].last()?;
    span(last).1.is_none_or(|end| t < end).then_some(last)
}
