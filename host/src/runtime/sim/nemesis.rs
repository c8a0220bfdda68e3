//! Faults drawn from the seed (a "nemesis", as Jepsen calls it): instead of
//! a hand-written schedule of partitions and crashes, kinds of fault, the
//! hosts they strike, and how often and how long. The schedule is drawn
//! before the run from the simulation's seed, one fault at a time, so a
//! seed that fails repeats exactly, and a sweep over seeds tries many
//! schedules. A simulation may have several nemeses, each drawing from a
//! stream of its own, whose faults overlap. Drawing is a pure function of the seed and the scenario
//! ([`Nemesis::draw`]); the faults it draws are ordinary partitions,
//! crashes and clock skews, in the transcript as those are.

use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};

use super::skew::MAX_CLOCK_OFFSET;
use super::{ClockSkew, Crash, Offset, Partition, Pause};

/// A kind of fault the [`Nemesis`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The hosts split into two random halves, cut off from each other
    /// both ways.
    Partition,
    /// One random host cut off from all the others, both ways.
    Isolate,
    /// What one random host sends to the others is dropped; what they send
    /// it still arrives (see [`Partition::one_way`]).
    OneWay,
    /// One random host that runs a guest crashes, and restarts when the
    /// fault ends (see [`Crash`]).
    Crash,
    /// One random host that runs a guest has its wall clock set ahead or
    /// behind by up to [`Nemesis::skew`], and back on true time when the
    /// fault ends (see [`ClockSkew`]).
    Clock,
    /// One random host that runs a guest has it stopped, its host still
    /// up, until the fault ends (see [`Pause`]).
    Pause,
}

impl Fault {
    /// The name a scenario gives it (`partition`, `isolate`, `one-way`,
    /// `crash`, `clock`, `pause`).
    pub fn name(self) -> &'static str {
        match self {
            Fault::Partition => "partition",
            Fault::Isolate => "isolate",
            Fault::OneWay => "one-way",
            Fault::Crash => "crash",
            Fault::Clock => "clock",
            Fault::Pause => "pause",
        }
    }

    /// The kind a scenario names, if any.
    pub fn from_name(name: &str) -> Option<Fault> {
        [
            Fault::Partition,
            Fault::Isolate,
            Fault::OneWay,
            Fault::Crash,
            Fault::Clock,
            Fault::Pause,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }
}

/// Random faults, one at a time: after a quiet gap, a fault of a kind
/// drawn from `faults` strikes hosts drawn from `hosts` and lasts a while;
/// then the next gap. Gaps and lengths are drawn from half to one and a
/// half times `every` and `lasting`, in whole milliseconds. A nemesis
/// that could draw more than 100,000 faults in its window is refused.
///
/// ```
/// use std::time::Duration;
/// use wasock_host::runtime::{Fault, Nemesis, Simulation};
///
/// let mut sim = Simulation::new(7);
/// // ... hosts "a", "b" and "c" with their guests ...
/// sim.nemesis(Nemesis {
///     faults: vec![Fault::Partition, Fault::Crash],
///     hosts: vec!["a".into(), "b".into(), "c".into()],
///     every: Duration::from_secs(5),
///     lasting: Duration::from_secs(2),
///     ..Nemesis::default()
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nemesis {
    /// The kinds of fault to draw from, each as likely as the others
    /// (name one twice to make it twice as likely).
    pub faults: Vec<Fault>,
    /// The hosts it strikes, by name (empty: every host). Partitions
    /// split these hosts among themselves; the other hosts are not cut
    /// off.
    pub hosts: Vec<String>,
    /// No fault begins before this.
    pub start: Duration,
    /// No fault begins after this (`None`: the run's deadline). A fault
    /// that began heals or restarts when it ends, even past it.
    pub stop: Option<Duration>,
    /// The mean quiet time before each fault.
    pub every: Duration,
    /// The mean length of a fault.
    pub lasting: Duration,
    /// The farthest a [`Fault::Clock`] sets a wall clock off true time,
    /// either way. Offsets are drawn in whole milliseconds from 1 ms up to
    /// this, about as often in each power of two (1 ms, 2–3 ms, 4–7 ms,
    /// and so on), so that small skews come as often as large ones.
    pub skew: Duration,
}

impl Default for Nemesis {
    /// Every kind of network fault and crashes (not clock skews or
    /// pauses, which came later: name [`Fault::Clock`] and [`Fault::Pause`]
    /// to draw them; a default that grew would draw other faults for
    /// seeds already recorded), on every host, from the start to the
    /// deadline, a fault every 10 s lasting 5 s (on average); a skew of
    /// up to a minute.
    fn default() -> Nemesis {
        Nemesis {
            faults: vec![
                Fault::Partition,
                Fault::Isolate,
                Fault::OneWay,
                Fault::Crash,
            ],
            hosts: Vec::new(),
            start: Duration::ZERO,
            stop: None,
            every: Duration::from_secs(10),
            lasting: Duration::from_secs(5),
            skew: Duration::from_secs(60),
        }
    }
}

/// Most faults one nemesis may draw: past it the schedule would outweigh
/// the run (every packet is checked against every partition).
pub(crate) const MAX_FAULTS: u128 = 100_000;

/// Why a nemesis cannot strike, and the setting at fault (`faults`,
/// `hosts`, `start`, `stop`, `every`, `lasting` or `skew`).
#[derive(Debug)]
pub(crate) struct Refusal {
    /// The setting at fault.
    pub field: &'static str,
    /// Why.
    pub why: String,
}

fn refuse(field: &'static str, why: String) -> Result<(), Refusal> {
    Err(Refusal { field, why })
}

/// A host the nemesis may strike, as the simulation knows it.
pub(crate) struct Target<'a> {
    /// Its name.
    pub name: &'a str,
    /// What is scheduled for its guest, if it runs one.
    pub guest: Option<Schedule<'a>>,
}

/// A guest's start, and the crashes and clock skews written for its host.
#[derive(Clone, Copy)]
pub(crate) struct Schedule<'a> {
    /// When the guest starts.
    pub start: Duration,
    /// Its host's crashes, in order of time.
    pub crashes: &'a [Crash],
    /// Its host's clock skews, in order of time.
    pub skews: &'a [ClockSkew],
    /// Its guest's pauses, in order of time.
    pub pauses: &'a [Pause],
}

/// The schedule a [`Nemesis`] drew.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Drawn {
    /// Partitions, in order of time.
    pub partitions: Vec<Partition>,
    /// Crashes, by host name, in order of time.
    pub crashes: Vec<(String, Crash)>,
    /// Clock skews, by host name, in order of time.
    pub skews: Vec<(String, ClockSkew)>,
    /// Pauses, by host name, in order of time.
    pub pauses: Vec<(String, Pause)>,
}

impl Nemesis {
    /// Check the nemesis against the simulation's hosts and a run that
    /// ends at `deadline`: the hosts it names exist, each kind of fault
    /// has hosts to strike, its window is not empty, and it cannot draw
    /// more than [`MAX_FAULTS`].
    pub(crate) fn check(&self, targets: &[Target<'_>], deadline: Duration) -> Result<(), Refusal> {
        if self.faults.is_empty() {
            return refuse(
                "faults",
                "it has no faults to draw from; name at least one of partition, isolate, \
                 one-way, crash, clock, pause"
                    .to_string(),
            );
        }
        for (field, mean) in [("every", self.every), ("lasting", self.lasting)] {
            if mean < Duration::from_millis(1) {
                return refuse(
                    field,
                    format!(
                        "{field} ({mean:?}) must be 1 ms at least: faults are drawn in whole \
                         milliseconds"
                    ),
                );
            }
        }
        let names: Vec<&str> = targets.iter().map(|t| t.name).collect();
        if let Some(missing) = self.hosts.iter().find(|h| !names.contains(&h.as_str())) {
            return refuse(
                "hosts",
                format!("it names host {missing:?}, which the simulation does not have"),
            );
        }
        let end = self.end(deadline);
        if self.start >= end {
            let (field, what) = match self.stop {
                Some(stop) if stop <= self.start => ("stop", format!("its stop ({stop:?})")),
                _ => ("start", format!("the run's end ({deadline:?})")),
            };
            return refuse(
                field,
                format!(
                    "no fault could begin: its start ({:?}) is not before {what}",
                    self.start
                ),
            );
        }
        // The shortest a gap and a fault can be, and so the most faults.
        let shortest = (self.every.as_millis() / 2).max(1) + (self.lasting.as_millis() / 2).max(1);
        let most = (end - self.start).as_millis() / shortest;
        if most > MAX_FAULTS {
            return refuse(
                "every",
                format!(
                    "it could draw up to {most} faults from {:?} to {end:?}, and {MAX_FAULTS} is \
                     the most: make every or lasting longer, or give it a stop",
                    self.start
                ),
            );
        }
        if self.faults.contains(&Fault::Clock) {
            if self.skew < Duration::from_millis(1) {
                return refuse(
                    "skew",
                    format!(
                        "skew ({:?}) must be 1 ms at least: offsets are drawn in whole \
                         milliseconds",
                        self.skew
                    ),
                );
            }
            if self.skew > MAX_CLOCK_OFFSET {
                return refuse(
                    "skew",
                    format!(
                        "skew ({:?}) is more than a century ({MAX_CLOCK_OFFSET:?}), the most",
                        self.skew
                    ),
                );
            }
        }
        let struck: Vec<&Target<'_>> = self.struck(targets).collect();
        let on_one_host = |f: &Fault| matches!(f, Fault::Crash | Fault::Clock | Fault::Pause);
        if struck.len() < 2 && !self.faults.iter().all(on_one_host) {
            return refuse(
                "hosts",
                format!(
                    "a partition, isolate or one-way fault needs two hosts to cut apart, and \
                     it strikes {}",
                    struck.len()
                ),
            );
        }
        if let Some(f) = self.faults.iter().find(|f| on_one_host(f))
            && !struck.iter().any(|t| t.guest.is_some())
        {
            return refuse(
                "hosts",
                format!(
                    "a {} fault needs a host that runs a guest among the hosts it strikes, and \
                     none does",
                    f.name()
                ),
            );
        }
        Ok(())
    }

    /// After this no fault begins.
    fn end(&self, deadline: Duration) -> Duration {
        self.stop.map_or(deadline, |s| s.min(deadline))
    }

    fn struck<'t, 'a>(
        &'t self,
        targets: &'t [Target<'a>],
    ) -> impl Iterator<Item = &'t Target<'a>> + 't {
        targets
            .iter()
            .filter(|t| self.hosts.is_empty() || self.hosts.iter().any(|h| h == t.name))
    }

    /// Draw the schedule for a run of `seed` that ends at `deadline`.
    /// Faults never overlap: the next gap begins when a fault ends. A
    /// crash drawn for a host whose own crash schedule it would overlap
    /// (or before its guest starts) goes to another host that runs a
    /// guest, and is left out when none can take it; so does a clock
    /// skew that would overlap one written for its host.
    #[cfg(test)]
    pub(crate) fn draw(&self, seed: u64, targets: &[Target<'_>], deadline: Duration) -> Drawn {
        let mut drawn = Drawn::default();
        self.draw_into(seed, 0, targets, deadline, &mut drawn);
        drawn
    }

    /// As [`draw`](Self::draw), for the `nth` of a simulation's nemeses
    /// (each from a random stream of its own; the first's is the one a
    /// lone nemesis draws from), adding to what the nemeses before it
    /// drew: its faults may overlap theirs, but not its crashes or clock
    /// skews of a host theirs struck at the same time.
    pub(crate) fn draw_into(
        &self,
        seed: u64,
        nth: usize,
        targets: &[Target<'_>],
        deadline: Duration,
        drawn: &mut Drawn,
    ) {
        let struck: Vec<&Target<'_>> = self.struck(targets).collect();
        let mut rng = nemesis_rng(seed, nth);
        let end = self.end(deadline);
        let mut t = self.start;
        while let Some(from) = t.checked_add(around(&mut rng, self.every)) {
            if from >= end || self.faults.is_empty() || struck.is_empty() {
                break;
            }
            let len = around(&mut rng, self.lasting);
            let kind = self.faults[below(&mut rng, self.faults.len())];
            let Some(to) = from.checked_add(len) else {
                break;
            };
            let one = below(&mut rng, struck.len());
            let rest = |i: usize| -> Vec<String> {
                struck
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, h)| h.name.to_string())
                    .collect()
            };
            match kind {
                Fault::Partition | Fault::Isolate | Fault::OneWay if struck.len() >= 2 => {
                    let (a, b) = if kind == Fault::Partition {
                        halves(&mut rng, &struck)
                    } else {
                        (vec![struck[one].name.to_string()], rest(one))
                    };
                    drawn.partitions.push(Partition {
                        a,
                        b,
                        start: from,
                        heal: Some(to),
                        one_way: kind == Fault::OneWay,
                    });
                }
                Fault::Crash => {
                    let crash = Crash {
                        at: from,
                        restart: Some(to),
                    };
                    if let Some(h) = one_of(&mut rng, &struck, |h| can_crash(h, drawn, crash)) {
                        drawn.crashes.push((h, crash));
                    }
                }
                Fault::Clock => {
                    let by = log_uniform(&mut rng, self.skew);
                    let offset = if below(&mut rng, 2) == 0 {
                        Offset::Ahead(by)
                    } else {
                        Offset::Behind(by)
                    };
                    let skew = ClockSkew {
                        at: from,
                        offset,
                        restore: Some(to),
                    };
                    if let Some(h) = one_of(&mut rng, &struck, |h| can_skew(h, drawn, skew)) {
                        drawn.skews.push((h, skew));
                    }
                }
                Fault::Pause => {
                    let pause = Pause {
                        at: from,
                        resume: Some(to),
                    };
                    if let Some(h) = one_of(&mut rng, &struck, |h| can_pause(h, drawn, pause)) {
                        drawn.pauses.push((h, pause));
                    }
                }
                _ => {}
            }
            t = to;
        }
    }
}

/// The name of one of `struck` that `can` take a fault, each as likely,
/// or `None` when none can (drawing nothing then).
fn one_of(
    rng: &mut rand::rngs::StdRng,
    struck: &[&Target<'_>],
    can: impl Fn(&Target<'_>) -> bool,
) -> Option<String> {
    let takers: Vec<&Target<'_>> = struck.iter().copied().filter(|h| can(h)).collect();
    if takers.is_empty() {
        return None;
    }
    Some(takers[below(rng, takers.len())].name.to_string())
}

/// Whether `host` runs a guest whose schedule, with the crashes drawn for
/// it so far, can take `crash`.
fn can_crash(host: &Target<'_>, drawn: &Drawn, crash: Crash) -> bool {
    let Some(Schedule {
        start,
        crashes: own,
        skews,
        pauses,
    }) = host.guest
    else {
        return false;
    };
    let mine = |n: &String| n == host.name;
    // Nor may it take the host down when one of its clock skews or
    // pauses begins (another nemesis's, or its own): that fault would
    // strike a host that is down.
    let begins = skews
        .iter()
        .map(|s| s.at)
        .chain(pauses.iter().map(|p| p.at))
        .chain(
            drawn
                .skews
                .iter()
                .filter(|(n, _)| mine(n))
                .map(|(_, s)| s.at),
        )
        .chain(
            drawn
                .pauses
                .iter()
                .filter(|(n, _)| mine(n))
                .map(|(_, p)| p.at),
        );
    let down = |t: Duration| crash.at <= t && crash.restart.is_none_or(|r| t < r);
    if begins.into_iter().any(down) {
        return false;
    }
    let mut all: Vec<Crash> = own.to_vec();
    all.extend(
        drawn
            .crashes
            .iter()
            .filter(|(n, _)| mine(n))
            .map(|(_, c)| *c),
    );
    all.push(crash);
    all.sort_by_key(|c| c.at);
    Crash::check_schedule(start, &all).is_ok()
}

/// Whether `host` runs a guest whose clock skews, with those drawn for it
/// so far, leave room for `skew`, and is up when it begins (a skew of a
/// host that is down would be a fault nobody sees).
fn can_skew(host: &Target<'_>, drawn: &Drawn, skew: ClockSkew) -> bool {
    let Some(schedule) = host.guest else {
        return false;
    };
    if down_at(host, drawn, skew.at) {
        return false;
    }
    let mine = |n: &String| n == host.name;
    let mut all: Vec<ClockSkew> = schedule.skews.to_vec();
    all.extend(drawn.skews.iter().filter(|(n, _)| mine(n)).map(|(_, s)| *s));
    all.push(skew);
    all.sort_by_key(|s| s.at);
    ClockSkew::check_schedule(&all).is_ok()
}

/// Whether `host` runs a guest whose pauses, with those drawn for it so
/// far, leave room for `pause`, and is up when it begins.
fn can_pause(host: &Target<'_>, drawn: &Drawn, pause: Pause) -> bool {
    let Some(schedule) = host.guest else {
        return false;
    };
    if down_at(host, drawn, pause.at) {
        return false;
    }
    let mine = |n: &String| n == host.name;
    let mut all: Vec<Pause> = schedule.pauses.to_vec();
    all.extend(
        drawn
            .pauses
            .iter()
            .filter(|(n, _)| mine(n))
            .map(|(_, p)| *p),
    );
    all.push(pause);
    all.sort_by_key(|p| p.at);
    Pause::check_schedule(schedule.start, &all).is_ok()
}

/// Whether `host` is down at `t`, by its own crashes or those drawn.
fn down_at(host: &Target<'_>, drawn: &Drawn, t: Duration) -> bool {
    let own = host.guest.map_or(&[][..], |g| g.crashes);
    let theirs = drawn
        .crashes
        .iter()
        .filter(|(n, _)| n == host.name)
        .map(|(_, c)| c);
    own.iter().chain(theirs).any(|c| c.holds_at(t))
}

/// An offset from 1 ms to `most` (at least 1 ms), in whole milliseconds,
/// about as likely in each power of two: small skews, which break leases
/// and timeouts, as often as large ones (Jepsen draws its clock bumps on
/// an exponential scale too). Integer arithmetic only, so that every
/// machine draws the same.
fn log_uniform(rng: &mut rand::rngs::StdRng, most: Duration) -> Duration {
    let most = u64::try_from(most.as_millis()).unwrap_or(u64::MAX).max(1);
    let powers = 64 - most.leading_zeros() as usize;
    let low = 1u64 << below(rng, powers);
    // Within [low, 2 low), and not past `most`.
    let span = usize::try_from(low.min(most - low + 1)).unwrap_or(usize::MAX);
    Duration::from_millis(low + below(rng, span) as u64)
}

/// The nemesis's random stream: ChaCha12 keyed by the seed and a word of
/// its own, apart from the links' and the guests' streams: its draws take
/// none of theirs.
fn nemesis_rng(seed: u64, nth: usize) -> rand::rngs::StdRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(b"nemesis\0");
    // The first nemesis's key is the one a lone nemesis always had.
    key[16..24].copy_from_slice(&(nth as u64).to_le_bytes());
    rand::rngs::StdRng::from_seed(key)
}

/// A number in `0..n` (`n` > 0).
fn below(rng: &mut rand::rngs::StdRng, n: usize) -> usize {
    // Multiply-shift: unbiased enough for choosing among hosts.
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// A duration from half to one and a half of `mean`, in whole
/// milliseconds, at least 1 ms.
fn around(rng: &mut rand::rngs::StdRng, mean: Duration) -> Duration {
    let ms = mean.as_millis().max(1);
    let low = (ms / 2).max(1);
    let span = ms.max(1) as usize + 1;
    let ms = low + below(rng, span) as u128;
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// The hosts shuffled and split into two halves (the first the smaller,
/// when their number is odd).
fn halves(rng: &mut rand::rngs::StdRng, hosts: &[&Target<'_>]) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = hosts.iter().map(|h| h.name.to_string()).collect();
    for i in (1..names.len()).rev() {
        names.swap(i, below(rng, i + 1));
    }
    let b = names.split_off(names.len() / 2);
    (names, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets<'a>(crashes: &'a [Crash]) -> Vec<Target<'a>> {
        targets_skewed(crashes, &[])
    }

    /// Hosts a, b, d run guests (b's starts at 1 s, with `crashes` and
    /// `skews` of its own); c runs nothing.
    fn targets_skewed<'a>(crashes: &'a [Crash], skews: &'a [ClockSkew]) -> Vec<Target<'a>> {
        let plain = Schedule {
            start: Duration::ZERO,
            crashes: &[],
            skews: &[],
            pauses: &[],
        };
        vec![
            Target {
                name: "a",
                guest: Some(plain),
            },
            Target {
                name: "b",
                guest: Some(Schedule {
                    start: Duration::from_secs(1),
                    crashes,
                    skews,
                    pauses: &[],
                }),
            },
            Target {
                name: "c",
                guest: None,
            },
            Target {
                name: "d",
                guest: Some(plain),
            },
        ]
    }

    fn every_kind() -> Nemesis {
        Nemesis {
            every: Duration::from_secs(4),
            lasting: Duration::from_secs(2),
            ..Nemesis::default()
        }
    }

    #[test]
    fn a_seed_draws_one_schedule_and_another_seed_another() {
        let t = targets(&[]);
        let n = every_kind();
        let one = n.draw(1, &t, Duration::from_secs(600));
        assert_eq!(one, n.draw(1, &t, Duration::from_secs(600)));
        assert_ne!(one, n.draw(2, &t, Duration::from_secs(600)));
        // 600 s at one fault per 6 s on average: about a hundred, of
        // every kind.
        let faults = one.partitions.len() + one.crashes.len();
        assert!((70..=130).contains(&faults), "{faults}");
        assert!(one.partitions.iter().any(|p| p.one_way));
        assert!(one.partitions.iter().any(|p| !p.one_way && p.a.len() == 1));
        assert!(
            one.partitions
                .iter()
                .any(|p| p.a.len() == 2 && p.b.len() == 2)
        );
        assert!(!one.crashes.is_empty());
    }

    #[test]
    fn faults_come_one_at_a_time_within_their_window_and_each_heals() {
        let t = targets(&[]);
        let n = Nemesis {
            start: Duration::from_secs(10),
            stop: Some(Duration::from_secs(200)),
            ..every_kind()
        };
        let d = n.draw(3, &t, Duration::from_secs(600));
        let mut spans: Vec<(Duration, Duration)> = d
            .partitions
            .iter()
            .map(|p| (p.start, p.heal.unwrap()))
            .chain(d.crashes.iter().map(|(_, c)| (c.at, c.restart.unwrap())))
            .collect();
        spans.sort();
        assert!(!spans.is_empty());
        for (from, to) in &spans {
            assert!(*from > Duration::from_secs(10) && *from < Duration::from_secs(200));
            assert!(to > from);
            assert!(*to - *from >= Duration::from_secs(1) && *to - *from <= Duration::from_secs(3));
            assert_eq!(from.subsec_nanos() % 1_000_000, 0);
        }
        for w in spans.windows(2) {
            assert!(w[0].1 < w[1].0, "overlap: {w:?}");
        }
        // Partitions split the struck hosts among themselves.
        for p in &d.partitions {
            assert_eq!(p.a.len() + p.b.len(), 4, "{p:?}");
            assert!(p.a.iter().all(|h| !p.b.contains(h)));
        }
    }

    #[test]
    fn crashes_strike_only_guests_and_fit_their_own_schedules() {
        // Host b's own crash from 50 s to 400 s: no drawn crash of b may
        // overlap it; host c runs nothing and never crashes.
        let own = [Crash {
            at: Duration::from_secs(50),
            restart: Some(Duration::from_secs(400)),
        }];
        let t = targets(&own);
        let n = Nemesis {
            faults: vec![Fault::Crash],
            ..every_kind()
        };
        let d = n.draw(4, &t, Duration::from_secs(600));
        assert!(d.partitions.is_empty());
        assert!(d.crashes.len() > 50, "{}", d.crashes.len());
        for (host, c) in &d.crashes {
            assert_ne!(host, "c");
            if host == "b" {
                let r = c.restart.unwrap();
                assert!(
                    r < Duration::from_secs(50) || c.at > Duration::from_secs(400),
                    "{c:?}"
                );
                assert!(c.at > Duration::from_secs(1));
            }
        }
        assert!(d.crashes.iter().any(|(h, _)| h == "b"));
    }

    #[test]
    fn a_nemesis_that_cannot_strike_is_refused_with_the_reason() {
        let t = targets(&[]);
        let hour = Duration::from_secs(3600);
        let check = |n: Nemesis| n.check(&t, hour).unwrap_err().why;
        assert!(
            check(Nemesis {
                faults: vec![],
                ..every_kind()
            })
            .contains("no faults")
        );
        assert!(
            check(Nemesis {
                every: Duration::ZERO,
                ..every_kind()
            })
            .contains("every")
        );
        assert!(
            check(Nemesis {
                hosts: vec!["x".into()],
                ..every_kind()
            })
            .contains("host \"x\"")
        );
        assert!(
            check(Nemesis {
                hosts: vec!["a".into()],
                ..every_kind()
            })
            .contains("needs two hosts")
        );
        assert!(
            check(Nemesis {
                faults: vec![Fault::Crash],
                hosts: vec!["c".into()],
                ..every_kind()
            })
            .contains("runs a guest")
        );
        assert!(
            check(Nemesis {
                lasting: Duration::from_micros(500),
                ..every_kind()
            })
            .contains("lasting (500µs) must be 1 ms at least")
        );
        let stop = |start: u64, stop: Option<u64>| Nemesis {
            start: Duration::from_secs(start),
            stop: stop.map(Duration::from_secs),
            ..every_kind()
        };
        let r = stop(10, Some(10)).check(&t, hour).unwrap_err();
        assert_eq!(r.field, "stop", "{}", r.why);
        let r = stop(3600, None).check(&t, hour).unwrap_err();
        assert_eq!(r.field, "start", "{}", r.why);
        // An unbounded run with no stop, or a rhythm too fast for its
        // window: refused, not drawn for ever.
        let r = every_kind().check(&t, Duration::MAX).unwrap_err();
        assert!(r.why.contains("the most"), "{}", r.why);
        let fast = Nemesis {
            every: Duration::from_millis(1),
            lasting: Duration::from_millis(1),
            ..every_kind()
        };
        assert!(check(fast.clone()).contains("could draw up to 1800000 faults"));
        fast.check(&t, Duration::from_secs(60)).unwrap();
        every_kind().check(&t, hour).unwrap();
        // Drawing past Duration's end stops rather than overflowing.
        let late = Nemesis {
            start: Duration::MAX - Duration::from_secs(30),
            ..every_kind()
        };
        assert!(late.draw(1, &t, Duration::MAX).partitions.len() < 10);
        assert_eq!(Fault::from_name("one-way"), Some(Fault::OneWay));
        assert_eq!(Fault::from_name("clock"), Some(Fault::Clock));
        assert_eq!(Fault::from_name("split"), None);
    }

    /// The schedule a seed draws is part of what a seed means: a failing
    /// seed recorded once must fail again after wasock changes. Pinned
    /// when clock faults came (the `tcp-nemesis` example's transcripts for
    /// seeds 11 and 4242 were byte for byte the same before and after).
    #[test]
    fn a_seed_draws_what_it_drew_before() {
        let d = every_kind().draw(1, &targets(&[]), Duration::from_secs(60));
        let ms = |d: Duration| d.as_millis();
        let faults: Vec<String> = d
            .partitions
            .iter()
            .map(|p| {
                format!(
                    "{}..{} {:?}|{:?}{}",
                    ms(p.start),
                    ms(p.heal.unwrap()),
                    p.a,
                    p.b,
                    if p.one_way { " one-way" } else { "" }
                )
            })
            .chain(
                d.crashes
                    .iter()
                    .map(|(h, c)| format!("{}..{} crash {h}", ms(c.at), ms(c.restart.unwrap()))),
            )
            .collect();
        assert_eq!(
            faults,
            [
                r#"5502..7560 ["b", "a"]|["d", "c"]"#,
                r#"12051..14484 ["b"]|["a", "c", "d"]"#,
                r#"17703..19163 ["d"]|["a", "b", "c"] one-way"#,
                r#"21984..23118 ["d", "a"]|["b", "c"]"#,
                r#"44537..47217 ["d"]|["a", "b", "c"] one-way"#,
                "27416..30383 crash b",
                "35869..38732 crash b",
                "51565..53561 crash a",
                "57231..59266 crash d",
            ]
        );
    }

    #[test]
    fn several_nemeses_draw_apart_and_never_double_a_hosts_crash() {
        let t = targets(&[]);
        let hour = Duration::from_secs(3600);
        let crashes = Nemesis {
            faults: vec![Fault::Crash],
            ..every_kind()
        };
        // The first of several draws what a lone nemesis draws.
        let mut both = Drawn::default();
        crashes.draw_into(9, 0, &t, hour, &mut both);
        assert_eq!(both, crashes.draw(9, &t, hour));
        let first = both.crashes.len();
        crashes.draw_into(9, 1, &t, hour, &mut both);
        let second = &both.crashes[first..];
        assert!(!second.is_empty());
        // Its own stream: not the first's faults again.
        assert_ne!(second, &both.crashes[..second.len().min(first)]);
        // Faults of the two overlap in time, but no host is crashed twice
        // at once.
        let mut overlaps = 0;
        for (h, c) in second {
            let r = c.restart.unwrap();
            overlaps += both.crashes[..first]
                .iter()
                .filter(|(_, o)| o.at < r && c.at < o.restart.unwrap())
                .count();
            let mut own: Vec<Crash> = both
                .crashes
                .iter()
                .filter(|(n, _)| n == h)
                .map(|(_, c)| *c)
                .collect();
            own.sort_by_key(|c| c.at);
            let start = if h == "b" {
                Duration::from_secs(1)
            } else {
                Duration::ZERO
            };
            assert_eq!(Crash::check_schedule(start, &own), Ok(()), "{h}");
        }
        assert!(
            overlaps > 0,
            "the two nemeses' crashes never overlapped in time"
        );
    }

    /// A second nemesis's crash never takes a host down when the first's
    /// pause or clock skew of it begins, so neither strikes a host that
    /// is down.
    #[test]
    fn a_crash_of_another_nemesis_leaves_a_pause_or_skew_its_host() {
        let t = targets(&[]);
        let hour = Duration::from_secs(3600);
        let mut drawn = Drawn::default();
        for (nth, faults) in [vec![Fault::Pause, Fault::Clock], vec![Fault::Crash]]
            .into_iter()
            .enumerate()
        {
            let n = Nemesis {
                faults,
                hosts: vec!["a".into()],
                ..every_kind()
            };
            n.draw_into(12, nth, &t, hour, &mut drawn);
        }
        let begins: Vec<Duration> = drawn
            .pauses
            .iter()
            .map(|(_, p)| p.at)
            .chain(drawn.skews.iter().map(|(_, s)| s.at))
            .collect();
        assert!(begins.len() > 100 && drawn.crashes.len() > 100);
        for (_, c) in &drawn.crashes {
            let r = c.restart.unwrap();
            assert!(
                !begins.iter().any(|t| c.at <= *t && *t < r),
                "crash {c:?} covers the start of a pause or skew"
            );
        }
    }

    #[test]
    fn pause_faults_stop_one_running_guest_at_a_time_and_end() {
        // Host b is down from 450 s to 550 s: no pause of b begins then.
        let down = [Crash {
            at: Duration::from_secs(450),
            restart: Some(Duration::from_secs(550)),
        }];
        let t = targets(&down);
        let n = Nemesis {
            faults: vec![Fault::Pause],
            hosts: vec!["b".into(), "c".into()],
            ..every_kind()
        };
        n.check(&t, Duration::from_secs(600)).unwrap();
        let d = n.draw(6, &t, Duration::from_secs(600));
        assert!(d.pauses.len() > 50, "{}", d.pauses.len());
        let mut spans = Vec::new();
        for (host, p) in &d.pauses {
            // c runs nothing: nothing to stop.
            assert_eq!(host, "b");
            assert!(!(Duration::from_secs(450)..Duration::from_secs(550)).contains(&p.at));
            spans.push((p.at, p.resume.unwrap()));
        }
        for w in spans.windows(2) {
            assert!(w[0].1 < w[1].0, "overlap: {w:?}");
        }
        let r = Nemesis {
            hosts: vec!["c".into()],
            ..n
        }
        .check(&t, Duration::from_secs(600))
        .unwrap_err();
        assert!(
            r.why
                .contains("a pause fault needs a host that runs a guest"),
            "{}",
            r.why
        );
    }

    #[test]
    fn clock_faults_skew_guests_clocks_within_the_skew_and_restore_them() {
        // Host b's own skew from 50 s to 400 s: no drawn skew of b may
        // overlap it; nor begin while b is down (crashed from 450 s to
        // 550 s); host c runs nothing and keeps true time.
        let own = [ClockSkew {
            at: Duration::from_secs(50),
            offset: Offset::Ahead(Duration::from_secs(3)),
            restore: Some(Duration::from_secs(400)),
        }];
        let down = [Crash {
            at: Duration::from_secs(450),
            restart: Some(Duration::from_secs(550)),
        }];
        let t = targets_skewed(&down, &own);
        let n = Nemesis {
            faults: vec![Fault::Clock],
            skew: Duration::from_secs(20),
            ..every_kind()
        };
        let d = n.draw(5, &t, Duration::from_secs(600));
        assert_eq!(d, n.draw(5, &t, Duration::from_secs(600)));
        assert!(d.partitions.is_empty() && d.crashes.is_empty());
        assert!(d.skews.len() > 50, "{}", d.skews.len());
        let (mut ahead, mut behind) = (0, 0);
        for (host, s) in &d.skews {
            assert_ne!(host, "c");
            let r = s.restore.unwrap();
            if host == "b" {
                assert!(r <= Duration::from_secs(50) || s.at >= Duration::from_secs(400));
                assert!(!(Duration::from_secs(450)..Duration::from_secs(550)).contains(&s.at));
            }
            let by = s.offset.magnitude();
            assert!(
                by >= Duration::from_millis(1) && by <= Duration::from_secs(20),
                "{s:?}"
            );
            assert_eq!(by.subsec_nanos() % 1_000_000, 0);
            match s.offset {
                Offset::Ahead(_) => ahead += 1,
                Offset::Behind(_) => behind += 1,
            }
        }
        assert!(ahead > 10 && behind > 10, "{ahead} ahead, {behind} behind");
        assert!(d.skews.iter().any(|(h, _)| h == "b"));
        // A clock fault alone strikes one host at a time: one host is
        // enough, as long as it runs a guest.
        let one = Nemesis {
            hosts: vec!["a".into()],
            ..n.clone()
        };
        one.check(&t, Duration::from_secs(600)).unwrap();
        let none = Nemesis {
            hosts: vec!["c".into()],
            ..n.clone()
        };
        let r = none.check(&t, Duration::from_secs(600)).unwrap_err();
        assert!(
            r.why
                .contains("a clock fault needs a host that runs a guest"),
            "{}",
            r.why
        );
        for (skew, why) in [
            (Duration::from_micros(10), "must be 1 ms at least"),
            (
                MAX_CLOCK_OFFSET + Duration::from_secs(1),
                "more than a century",
            ),
        ] {
            let r = Nemesis { skew, ..n.clone() }
                .check(&t, Duration::from_secs(600))
                .unwrap_err();
            assert_eq!((r.field, r.why.contains(why)), ("skew", true), "{}", r.why);
        }
        // Without a clock fault the skew is not looked at.
        Nemesis {
            skew: Duration::ZERO,
            ..every_kind()
        }
        .check(&t, Duration::from_secs(600))
        .unwrap();
    }
}
