//! Running guests on the simulated network: a library API in the way
//! turmoil is used for native programs, and what `wasock sim` runs.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use wasock_host::net::sim::LinkConfig;
//! use wasock_host::policy::Policy;
//! use wasock_host::runtime::{Runner, SimGuest, Simulation};
//!
//! let runner = Runner::deterministic(&Runner::default_config())?;
//! let echo = runner.load("udp-echo.wasm".as_ref())?;
//! let client = runner.load("udp-ping.wasm".as_ref())?;
//! let mut sim = Simulation::new(7);
//! sim.default_link(LinkConfig { loss: 0.1, ..LinkConfig::default() });
//! let allow = |rules: &[&str]| -> anyhow::Result<Arc<Policy>> {
//!     let mut b = Policy::builder();
//!     for r in rules { b = b.allow(r)?; }
//!     Ok(Arc::new(b.build()))
//! };
//! sim.host("server", &["10.0.0.1".parse()?], Some(SimGuest::new(echo)
//!     .args(["10.0.0.1:7"])
//!     .policy(allow(&["udp-bind=10.0.0.1:7", "udp-recv=*"])?)
//!     .daemon()));
//! sim.host("client", &["10.0.0.2".parse()?], Some(SimGuest::new(client)
//!     .args(["10.0.0.1:7", "100"])
//!     .policy(allow(&["udp-send=10.0.0.1:7"])?)));
//! let run = sim.run(&runner, Duration::from_secs(60))?;
//! assert!(run.success());
//! print!("{}", run.transcript.render());
//! # Ok::<(), anyhow::Error>(())
//! ```

mod life;
pub(crate) mod nemesis;
mod output;
mod pause;
mod skew;
mod stall;
mod transcript;
mod window;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant as WallInstant, SystemTime};

use anyhow::Context as _;
use tokio::time::Instant;
use wasmtime::component::Component;

pub use nemesis::{Fault, Nemesis};
pub use pause::Pause;
pub use skew::{ClockSkew, MAX_CLOCK_OFFSET, Offset};
pub use transcript::{Entry, Transcript, What};

use self::transcript::Recorder;
use super::clock::{Clock, until};
use super::exit::GuestExit;
use super::limits::Limits;
use super::runner::Runner;
use crate::net::BoxFuture;
use crate::net::sim::{HostId, LinkConfig, Network, SimClock, SimNet};
use crate::policy::{Policy, SetBy};

/// The calendar time a simulation starts at, unless told otherwise:
/// 2026-01-01T00:00:00Z.
pub const DEFAULT_EPOCH_SECS: u64 = 1_767_225_600;

impl Clock for SimClock {
    fn now(&self) -> Instant {
        SimClock::now(self)
    }

    fn sleep_until(&self, at: Instant) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep_until(at))
    }

    fn system_time(&self) -> SystemTime {
        SimClock::system_time(self)
    }

    fn spin_step(&self) -> Option<Duration> {
        Some(SPIN_STEP)
    }
}

/// Virtual time a guest's look that finds nothing costs (see
/// [`Clock::spin_step`]): tokio's timer tick, the least a sleep can last.
const SPIN_STEP: Duration = Duration::from_millis(1);

/// A guest to run on a simulated host.
#[derive(Clone)]
pub struct SimGuest {
    component: Component,
    args: Vec<String>,
    env: Vec<(String, String)>,
    policy: Arc<Policy>,
    limits: Limits,
    start: Duration,
    daemon: bool,
    crashes: Vec<Crash>,
    skews: Vec<ClockSkew>,
    pauses: Vec<Pause>,
}

/// A crash of a guest's host: at `at` (virtual time) the host goes down,
/// its guest stops where it is and its sockets vanish with no FIN and no
/// reset; at `restart`, if any, the host is back and its guest starts
/// again from the beginning, with a fresh random stream and no sockets.
/// Peers see what a machine gone makes them see: silence and their
/// timeouts, then resets for what the restarted host no longer knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash {
    /// When the host goes down.
    pub at: Duration,
    /// When it comes back (`None`: never).
    pub restart: Option<Duration>,
}

impl Crash {
    /// Whether `crashes` can happen to a guest that starts at `start`, in
    /// order: each after the start and after the restart before it, each
    /// restart after its crash, and nothing after a crash with no
    /// restart. The error says which and why.
    pub fn check_schedule(start: Duration, crashes: &[Crash]) -> Result<(), String> {
        let kind = window::Kind {
            name: "crash",
            plural: "crashes",
            end: "restart",
            during: "the host is down",
            endless: "which has no restart (the host is down for good from then on)",
            at_boundaries: false,
        };
        window::check(
            &kind,
            Some(start),
            crashes.iter().map(|c| (c.at, c.restart)),
        )
    }

    /// Whether the host is down at `t` by this crash: from `at` until its
    /// restart.
    pub(crate) fn holds_at(&self, t: Duration) -> bool {
        self.at <= t && self.restart.is_none_or(|r| t < r)
    }
}

impl SimGuest {
    /// Run `component` (compiled on the runner the simulation will use),
    /// with no arguments, under a policy that denies everything.
    pub fn new(component: Component) -> SimGuest {
        SimGuest {
            component,
            args: Vec::new(),
            env: Vec::new(),
            policy: Arc::default(),
            limits: Limits::default(),
            start: Duration::ZERO,
            daemon: false,
            crashes: Vec::new(),
            skews: Vec::new(),
            pauses: Vec::new(),
        }
    }

    /// Its host crashes at `at` and, if `restart` is given, comes back
    /// then (see [`Crash`]); repeatable, in order of time. A crash must
    /// come after the guest's start and after the restart before it;
    /// [`Simulation::run`] refuses a schedule that does not. A crash
    /// after the guest has ended still takes the host down (its peers see
    /// it gone), and a restart then starts nothing.
    pub fn crash(mut self, at: Duration, restart: Option<Duration>) -> Self {
        self.crashes.push(Crash { at, restart });
        self
    }

    /// Its host's wall clock reads `offset` from true time from `at`, and
    /// true time again from `restore`, if given (see [`ClockSkew`]: its
    /// monotonic clock, timeouts and sleeps are not moved); repeatable,
    /// without overlaps ([`Simulation::run`] refuses a schedule that has
    /// them). The clock stays off across a crash, as a
    /// machine's own clock does.
    ///
    /// ```
    /// # fn demo(guest: wasock_host::runtime::SimGuest) -> wasock_host::runtime::SimGuest {
    /// use std::time::Duration;
    /// use wasock_host::runtime::Offset;
    ///
    /// // 30 s behind from 5 s to 20 s of virtual time.
    /// let s = Duration::from_secs;
    /// guest.skew_clock(s(5), Offset::Behind(s(30)), Some(s(20)))
    /// # }
    /// ```
    pub fn skew_clock(mut self, at: Duration, offset: Offset, restore: Option<Duration>) -> Self {
        self.skews.push(ClockSkew {
            at,
            offset,
            restore,
        });
        self
    }

    /// Its guest stops at `at` and goes on at `resume`, if given (see
    /// [`Pause`]): its host stays up, its sockets keep what arrives, and
    /// time passes for it as for everyone; repeatable, without overlaps,
    /// and not beginning while the host is down ([`Simulation::run`]
    /// refuses a schedule that has them). A crash during a pause ends it:
    /// the guest started again after the restart is not stopped.
    ///
    /// ```
    /// # fn demo(guest: wasock_host::runtime::SimGuest) -> wasock_host::runtime::SimGuest {
    /// use std::time::Duration;
    ///
    /// // A 4 s stop, as a long garbage-collection pause.
    /// guest.pause(Duration::from_secs(10), Some(Duration::from_secs(14)))
    /// # }
    /// ```
    pub fn pause(mut self, at: Duration, resume: Option<Duration>) -> Self {
        self.pauses.push(Pause { at, resume });
        self
    }

    /// Its arguments (after the program name, which is the host's name).
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Its environment.
    pub fn env(mut self, env: Vec<(String, String)>) -> Self {
        self.env = env;
        self
    }

    /// The policy its sockets are checked against.
    pub fn policy(mut self, policy: Arc<Policy>) -> Self {
        self.policy = policy;
        self
    }

    /// Its limits (a `timeout` is virtual time here).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// When it starts, in virtual time.
    pub fn start_at(mut self, start: Duration) -> Self {
        self.start = start;
        self
    }

    /// A service: the simulation does not wait for it to end, and stops
    /// it when every other guest has ended.
    pub fn daemon(mut self) -> Self {
        self.daemon = true;
        self
    }
}

/// Two sets of hosts cut off from each other for a while, both ways or
/// one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Hosts on one side, by name.
    pub a: Vec<String>,
    /// Hosts on the other side.
    pub b: Vec<String>,
    /// When it starts (virtual time).
    pub start: Duration,
    /// When it heals (`None`: never).
    pub heal: Option<Duration>,
    /// Only what `a`'s hosts send to `b`'s hosts is dropped; what `b`'s
    /// send to `a`'s arrives (an asymmetric partition). A stream across
    /// it fails both ways all the same: its acknowledgements are lost.
    pub one_way: bool,
}

struct HostSpec {
    name: String,
    addrs: Vec<IpAddr>,
    guest: Option<SimGuest>,
}

/// A simulated Internet and the guests on it: hosts with their addresses,
/// links, partitions and names, all decided by one seed.
pub struct Simulation {
    seed: u64,
    default_link: LinkConfig,
    hosts: Vec<HostSpec>,
    links: Vec<(String, String, LinkConfig)>,
    partitions: Vec<Partition>,
    nemeses: Vec<Nemesis>,
    names: Vec<(String, Vec<IpAddr>)>,
    epoch: SystemTime,
    verbose: bool,
    stall_after: Duration,
}

/// How a guest ended.
#[derive(Debug)]
pub enum Outcome {
    /// It ended (exit code, trap, limit).
    Ended(GuestExit),
    /// It was still running at the deadline (or, for a daemon, when the
    /// others had ended).
    Running,
    /// Its host crashed and did not come back ([`SimGuest::crash`]): not
    /// a failure of the guest's.
    Crashed,
}

/// What a simulation run gives back.
#[derive(Debug)]
pub struct SimRun {
    /// Everything that happened.
    pub transcript: Transcript,
    /// Each guest's outcome, by host name, in the order hosts were added.
    pub outcomes: Vec<(String, Outcome, bool)>,
    /// Virtual time that passed.
    pub virtual_elapsed: Duration,
    /// Wall-clock time the run took.
    pub wall_elapsed: Duration,
    /// Events the simulated network handled (every datagram and segment
    /// delivered, every timer): the work behind the transcript.
    pub events_processed: u64,
    /// Whether virtual time stood still for the stall warning's stretch of
    /// wall time at some point ([`Simulation::stall_warning`]): a guest
    /// computed without waiting. A warning was logged each time.
    pub stalled: bool,
    /// The host whose guest ran last when virtual time was first seen
    /// standing still: the one that kept it still, most likely.
    pub stalled_host: Option<String>,
    /// Where each guest's limits are set (its policy's), in the order of
    /// `outcomes`: what the account of a limit asks the user to change.
    set_by: Vec<SetBy>,
    /// When each guest that ended did, in virtual time since the start,
    /// in the order of `outcomes`.
    ended_at: Vec<Option<Duration>>,
    /// Whether the run was stopped before its end by the future given to
    /// [`Simulation::run_until_stopped`]: the transcript ends there, and
    /// the guests still running were stopped.
    pub interrupted: bool,
    /// How many faults the [`Nemesis`] drew (partitions and crashes, each
    /// in the transcript when it strikes).
    pub faults_drawn: usize,
}

impl SimRun {
    /// Whether every guest that is not a daemon exited with 0 by the
    /// deadline, and no daemon ended with anything else.
    pub fn success(&self) -> bool {
        self.first_failure().is_none()
    }

    /// The guest whose failure to report: one that is not a daemon and did
    /// not exit with 0 by the deadline, or a daemon that ended with anything
    /// but 0; and what became of it. The failure that came first in virtual
    /// time is named (the others most often follow from it; a guest still
    /// running at the deadline comes last), then the host added first.
    pub fn first_failure(&self) -> Option<(&str, String)> {
        let mut order: Vec<usize> = (0..self.outcomes.len()).collect();
        let when = |i: usize| self.ended_at.get(i).copied().flatten();
        order.sort_by_key(|&i| when(i).unwrap_or(Duration::MAX));
        order.into_iter().find_map(|i| {
            let (host, outcome, daemon) = &self.outcomes[i];
            let set_by = &self.set_by[i];
            let why = match outcome {
                Outcome::Ended(GuestExit::Exited(0)) => return None,
                Outcome::Ended(exit) if *daemon => {
                    format!(
                        "{} (a daemon, which should run until stopped)",
                        exit.describe_for(set_by)
                    )
                }
                Outcome::Ended(exit) => exit.describe_for(set_by),
                Outcome::Crashed => return None,
                Outcome::Running if *daemon => return None,
                Outcome::Running if self.interrupted => {
                    "still running when interrupted".to_string()
                }
                Outcome::Running => "still running at the deadline".to_string(),
            };
            Some((host.as_str(), why))
        })
    }
}

impl Simulation {
    /// An empty Internet whose faults all derive from `seed`, with
    /// [`LinkConfig::default`] between every two hosts.
    pub fn new(seed: u64) -> Simulation {
        Simulation {
            seed,
            default_link: LinkConfig::default(),
            hosts: Vec::new(),
            links: Vec::new(),
            partitions: Vec::new(),
            nemeses: Vec::new(),
            names: Vec::new(),
            epoch: SystemTime::UNIX_EPOCH + Duration::from_secs(DEFAULT_EPOCH_SECS),
            verbose: true,
            stall_after: stall::STALL_AFTER,
        }
    }

    /// How long virtual time may stand still, in wall time, before the run
    /// warns that a guest computes without waiting (10 s by default). The
    /// run goes on; [`SimRun::stalled`] says whether it happened.
    pub fn stall_warning(&mut self, after: Duration) -> &mut Self {
        self.stall_after = after;
        self
    }

    /// The link between hosts with no link of their own.
    pub fn default_link(&mut self, link: LinkConfig) -> &mut Self {
        self.default_link = link;
        self
    }

    /// Add a host named `name` with `addrs` (besides its loopback), running
    /// `guest` if given.
    pub fn host(&mut self, name: &str, addrs: &[IpAddr], guest: Option<SimGuest>) -> &mut Self {
        self.hosts.push(HostSpec {
            name: name.to_string(),
            addrs: addrs.to_vec(),
            guest,
        });
        self
    }

    /// The link between hosts `a` and `b` (both ways).
    pub fn link(&mut self, a: &str, b: &str, link: LinkConfig) -> &mut Self {
        self.links.push((a.to_string(), b.to_string(), link));
        self
    }

    /// Nothing crosses between hosts `a` and hosts `b` from `start` until
    /// `heal` (for ever if `None`).
    pub fn partition(
        &mut self,
        a: &[&str],
        b: &[&str],
        start: Duration,
        heal: Option<Duration>,
    ) -> &mut Self {
        self.cut(a, b, start, heal, false)
    }

    /// What hosts `from` send to hosts `to` is dropped from `start` until
    /// `heal` (for ever if `None`); what `to` sends to `from` still
    /// arrives. See [`Partition::one_way`].
    pub fn partition_one_way(
        &mut self,
        from: &[&str],
        to: &[&str],
        start: Duration,
        heal: Option<Duration>,
    ) -> &mut Self {
        self.cut(from, to, start, heal, true)
    }

    /// A partition described whole (both ways or one way, as
    /// [`Partition::one_way`] says).
    pub fn add_partition(&mut self, partition: Partition) -> &mut Self {
        self.partitions.push(partition);
        self
    }

    fn cut(
        &mut self,
        a: &[&str],
        b: &[&str],
        start: Duration,
        heal: Option<Duration>,
        one_way: bool,
    ) -> &mut Self {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        self.add_partition(Partition {
            a: own(a),
            b: own(b),
            start,
            heal,
            one_way,
        })
    }

    /// Faults drawn from the seed besides the scheduled ones: partitions,
    /// crashes and clock skews of random hosts at random times, one at a
    /// time (see [`Nemesis`]). Each call adds a nemesis with a random
    /// stream of its own (the first draws what a lone nemesis draws); the
    /// faults of different nemeses may overlap, as a clock skew during a
    /// partition, though one host never has two crashes or two clock
    /// skews at once. [`run`](Self::run) refuses a nemesis that names a
    /// host the simulation lacks, or that has no host to strike.
    ///
    /// ```
    /// use std::time::Duration;
    /// use wasock_host::runtime::{Fault, Nemesis, Simulation};
    ///
    /// let mut sim = Simulation::new(7);
    /// // ... hosts with their guests ...
    /// // Partitions, and beside them, clocks set off.
    /// sim.nemesis(Nemesis { faults: vec![Fault::Partition], ..Nemesis::default() })
    ///     .nemesis(Nemesis {
    ///         faults: vec![Fault::Clock],
    ///         skew: Duration::from_secs(5),
    ///         ..Nemesis::default()
    ///     });
    /// ```
    pub fn nemesis(&mut self, nemesis: Nemesis) -> &mut Self {
        self.nemeses.push(nemesis);
        self
    }

    /// Make `name` resolve to `addrs` (each host's own name resolves to its
    /// addresses already).
    pub fn name(&mut self, name: &str, addrs: &[IpAddr]) -> &mut Self {
        self.names.push((name.to_string(), addrs.to_vec()));
        self
    }

    /// The calendar time the guests' wall clocks start at.
    pub fn epoch(&mut self, epoch: SystemTime) -> &mut Self {
        self.epoch = epoch;
        self
    }

    /// Whether every datagram's fate is in the transcript (default yes).
    pub fn verbose(&mut self, verbose: bool) -> &mut Self {
        self.verbose = verbose;
        self
    }

    /// How far the simulation's calendar starts past the Unix epoch.
    fn since_1970(&self) -> Duration {
        self.epoch
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }

    /// Whether a wall clock set `offset` off at `at` would read before the
    /// Unix epoch.
    fn before_1970(&self, offset: Offset, at: Duration) -> bool {
        matches!(offset, Offset::Behind(d) if d > self.since_1970().saturating_add(at))
    }

    /// What the nemeses, if any, draw for a run that ends at `deadline`.
    fn drawn(&self, deadline: Duration) -> anyhow::Result<nemesis::Drawn> {
        let mut drawn = nemesis::Drawn::default();
        if self.nemeses.is_empty() {
            return Ok(drawn);
        }
        let targets: Vec<nemesis::Target<'_>> = self
            .hosts
            .iter()
            .map(|h| nemesis::Target {
                name: &h.name,
                guest: h.guest.as_ref().map(|g| nemesis::Schedule {
                    start: g.start,
                    crashes: &g.crashes,
                    skews: &g.skews,
                    pauses: &g.pauses,
                }),
            })
            .collect();
        let many = self.nemeses.len() > 1;
        for (nth, n) in self.nemeses.iter().enumerate() {
            let which = || {
                if many {
                    format!("nemesis {} of {}", nth + 1, self.nemeses.len())
                } else {
                    "the nemesis".to_string()
                }
            };
            n.check(&targets, deadline)
                .map_err(|r| anyhow::anyhow!("{}: {}", which(), r.why))?;
            if n.faults.contains(&Fault::Clock) && self.before_1970(Offset::Behind(n.skew), n.start)
            {
                anyhow::bail!(
                    "{}: a clock set up to {} could read before 1970 (the simulation's \
                     calendar starts {} s past the Unix epoch); make its skew smaller",
                    which(),
                    Offset::Behind(n.skew),
                    self.since_1970().as_secs()
                );
            }
            n.draw_into(self.seed, nth, &targets, deadline, &mut drawn);
        }
        Ok(drawn)
    }

    fn network(&self, drawn: &[Partition]) -> anyhow::Result<(Network, Vec<HostId>)> {
        let mut net = Network::new(self.seed, self.default_link);
        net.set_verbose(self.verbose);
        let mut ids = BTreeMap::new();
        let mut order = Vec::new();
        for h in &self.hosts {
            let id = net.add_host(&h.name, &h.addrs).map_err(|e| {
                anyhow::anyhow!(
                    "cannot add host {:?}: {e} (is its name or one of its addresses used twice?)",
                    h.name
                )
            })?;
            ids.insert(h.name.clone(), id);
            order.push(id);
        }
        let id_of = |name: &str| {
            ids.get(name)
                .copied()
                .ok_or_else(|| anyhow::anyhow!("no host named {name:?}"))
        };
        for (a, b, link) in &self.links {
            net.set_link(id_of(a)?, id_of(b)?, *link);
        }
        for p in self.partitions.iter().chain(drawn) {
            let a: Vec<HostId> =
                p.a.iter()
                    .map(|n| id_of(n))
                    .collect::<anyhow::Result<_>>()?;
            let b: Vec<HostId> =
                p.b.iter()
                    .map(|n| id_of(n))
                    .collect::<anyhow::Result<_>>()?;
            net.cut(&a, &b, p.start, p.heal, p.one_way);
        }
        for (name, addrs) in &self.names {
            net.add_name(name, addrs);
        }
        Ok((net, order))
    }

    /// Run every guest until all that are not daemons have ended, or until
    /// `deadline` of virtual time has passed. Runs on a thread of its own
    /// (with a current-thread tokio runtime whose time is paused), so it
    /// may be called from anywhere. `runner` must be
    /// [`Runner::deterministic`] and have compiled the guests' components.
    pub fn run(&self, runner: &Runner, deadline: Duration) -> anyhow::Result<SimRun> {
        self.run_until_stopped(runner, deadline, std::future::pending())
    }

    /// As [`run`](Self::run), but `stop` ends the run early when it
    /// completes (on any thread: an interrupt, a button): the guests still
    /// running are stopped as at the deadline, and the [`SimRun`] says
    /// [`interrupted`](SimRun::interrupted), with the transcript up to
    /// there.
    ///
    /// ```no_run
    /// # fn demo(sim: &wasock_host::runtime::Simulation, runner: &wasock_host::runtime::Runner)
    /// # -> anyhow::Result<()> {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_secs(5));
    ///     let _ = stop.send(());
    /// });
    /// let run = sim.run_until_stopped(runner, std::time::Duration::from_secs(3600), async {
    ///     let _ = stopped.await;
    /// })?;
    /// print!("{}", run.transcript.render());
    /// # Ok(())
    /// # }
    /// ```
    pub fn run_until_stopped(
        &self,
        runner: &Runner,
        deadline: Duration,
        stop: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<SimRun> {
        for h in &self.hosts {
            if let Some(g) = &h.guest {
                Crash::check_schedule(g.start, &g.crashes)
                    .map_err(|why| anyhow::anyhow!("host {:?}: {why}", h.name))?;
                let mut skews = g.skews.clone();
                skews.sort_by_key(|s| s.at);
                ClockSkew::check_schedule(&skews)
                    .map_err(|why| anyhow::anyhow!("host {:?}'s clock: {why}", h.name))?;
                let mut pauses = g.pauses.clone();
                pauses.sort_by_key(|p| p.at);
                Pause::check_schedule(g.start, &pauses)
                    .and_then(|()| Pause::check_against_crashes(&pauses, &g.crashes))
                    .map_err(|why| anyhow::anyhow!("host {:?}'s pauses: {why}", h.name))?;
                if let Some(s) = skews.iter().find(|s| self.before_1970(s.offset, s.at)) {
                    anyhow::bail!(
                        "host {:?}'s clock: set {} at {:?}, it would read before 1970 (the \
                         simulation's calendar starts {} s past the Unix epoch); set it less \
                         far behind",
                        h.name,
                        s.offset,
                        s.at,
                        self.since_1970().as_secs()
                    );
                }
            }
        }
        let drawn = self.drawn(deadline)?;
        let (net, ids) = self.network(&drawn.partitions)?;
        let mut prepared = Vec::new();
        for (h, id) in self.hosts.iter().zip(ids) {
            if let Some(g) = &h.guest {
                let pre = runner
                    .prepare(&g.component)
                    .with_context(|| format!("host {:?}", h.name))?;
                let mut g = g.clone();
                let struck = drawn.crashes.iter().filter(|(n, _)| *n == h.name);
                g.crashes.extend(struck.map(|(_, c)| *c));
                g.crashes.sort_by_key(|c| c.at);
                let skewed = drawn.skews.iter().filter(|(n, _)| *n == h.name);
                g.skews.extend(skewed.map(|(_, s)| *s));
                g.skews.sort_by_key(|s| s.at);
                let paused = drawn.pauses.iter().filter(|(n, _)| *n == h.name);
                g.pauses.extend(paused.map(|(_, p)| *p));
                g.pauses.sort_by_key(|p| p.at);
                prepared.push((h.name.clone(), id, g, pre));
            }
        }
        let faults_drawn =
            drawn.partitions.len() + drawn.crashes.len() + drawn.skews.len() + drawn.pauses.len();
        let seed = self.seed;
        let epoch = self.epoch;
        let stall_after = self.stall_after;
        let runner = runner.clone();
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_time()
                        .start_paused(true)
                        .build()
                        .context("cannot start the simulator's runtime")?;
                    let wall = WallInstant::now();
                    let handle = rt.handle().clone();
                    let (ask, heard) = std::sync::mpsc::channel();
                    let end = stall::EndOfRun(ask.clone());
                    let last_run = stall::LastRun::default();
                    let named = last_run.clone();
                    // The watch ends when `end` goes, before the runtime.
                    let mut run = std::thread::scope(|watching| {
                        let watch = watching.spawn(move || {
                            stall::watch(&handle, stall_after, &ask, &heard, &named)
                        });
                        let plan = Plan {
                            seed,
                            epoch,
                            deadline,
                            faults_drawn,
                        };
                        let mut run =
                            rt.block_on(run_all(net, prepared, runner, plan, last_run, stop));
                        drop(end);
                        run.stalled_host = watch.join().unwrap_or(None);
                        run.stalled = run.stalled_host.is_some();
                        run
                    });
                    run.wall_elapsed = wall.elapsed();
                    Ok(run)
                })
                .join()
                .map_err(|_| anyhow::anyhow!("the simulator's thread panicked"))?
        })
    }
}

type ReadyGuest = (String, HostId, SimGuest, super::Prepared);

/// Run what `f` makes on a current-thread runtime whose time is paused,
/// as the simulator's is, given the machine's clock (which reads that
/// time there) and the time at the start.
#[cfg(test)]
fn in_virtual_time<F: Future>(f: impl FnOnce(Arc<dyn Clock>, Instant) -> F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a test runtime");
    rt.block_on(async {
        let clock: Arc<dyn Clock> = Arc::new(super::RealClock);
        let origin = clock.now();
        f(clock, origin).await
    })
}

/// A guest task's result: its exit (`None`: its host crashed for good),
/// or a trap saying the task failed.
fn joined(
    r: Result<(Option<GuestExit>, Duration), tokio::task::JoinError>,
) -> (Option<GuestExit>, Duration) {
    r.unwrap_or_else(|e| {
        let exit = GuestExit::Trapped(wasmtime::Error::msg(format!(
            "the simulator's task for this guest failed: {e}"
        )));
        // When is unknown: after everything that is known.
        (Some(exit), Duration::MAX)
    })
}

/// How a guest ended, on one line.
fn ending(exit: &GuestExit, set_by: &SetBy) -> String {
    match exit {
        GuestExit::Exited(code) => format!("exit {code}"),
        other => other.describe_for(set_by).replace('\n', " / "),
    }
}

/// Which of a guest's random sources a generator feeds.
#[derive(Clone, Copy)]
enum RandomSource {
    /// `wasi:random/random` (`getrandom`, `getentropy`).
    Secure = 0,
    /// `wasi:random/insecure`.
    Insecure = 1,
}

/// A guest's random source: a ChaCha12 stream seeded with the
/// simulation's seed, the host's name (hashed) and the source, so runs
/// repeat, hosts and sources differ, and no seed of one host is another
/// host's (the seed and the name's hash are separate words of the key).
fn guest_rng(seed: u64, host: &str, source: RandomSource, life: u32) -> rand::rngs::StdRng {
    use rand::SeedableRng as _;
    let name = fnv1a(host);
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&name.to_le_bytes());
    key[16..24].copy_from_slice(&(host.len() as u64).to_le_bytes());
    key[24] = source as u8;
    // A guest started again after its host's crash draws a stream of its
    // own (the first life's key is the one it always was).
    key[25..29].copy_from_slice(&life.to_le_bytes());
    rand::rngs::StdRng::from_seed(key)
}

/// FNV-1a over `s`: a host name's word of a random source's key.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// What a run's guests see of the simulation as a whole.
struct Plan {
    /// The seed of their random sources.
    seed: u64,
    /// Their wall clocks' start.
    epoch: SystemTime,
    /// The run's virtual length.
    deadline: Duration,
    /// How many faults the nemesis drew, for the [`SimRun`].
    faults_drawn: usize,
}

async fn run_all(
    net: Network,
    prepared: Vec<ReadyGuest>,
    runner: Runner,
    plan: Plan,
    last_run: stall::LastRun,
    stop: impl Future<Output = ()>,
) -> SimRun {
    let Plan {
        seed,
        epoch,
        deadline,
        faults_drawn,
    } = plan;
    let net = SimNet::start(net);
    let clock: Arc<dyn Clock> = Arc::new(net.clock(epoch));
    let recorder = Recorder::new(net.clone());
    let origin = clock.now();
    let mut tasks = Vec::new();
    let mut set_by = Vec::new();
    for (name, id, guest, pre) in prepared {
        set_by.push(guest.policy.set_by().clone());
        let net = net.clone();
        let recorder = recorder.clone();
        // Its own clock, if its wall clock is ever set off true time.
        let clock = if guest.skews.is_empty() {
            clock.clone()
        } else {
            let skews = guest.skews.clone();
            let announced = skew::announce(
                recorder.clone(),
                name.clone(),
                clock.clone(),
                origin,
                skews.clone(),
            );
            tokio::spawn(announced);
            Arc::new(skew::SkewedClock::new(clock.clone(), origin, skews)) as Arc<dyn Clock>
        };
        let runner = runner.clone();
        let daemon = guest.daemon;
        let host = name.clone();
        let crashes = guest.crashes.clone();
        if !crashes.is_empty() {
            let schedule = life::schedule(net.clone(), clock.clone(), origin, id, crashes.clone());
            tokio::spawn(schedule);
        }
        let life = life::Life {
            name,
            id,
            guest,
            pre,
            net,
            clock,
            recorder,
            runner,
            seed,
            origin,
        };
        let task = tokio::spawn(stall::tracked(
            host.clone(),
            last_run.clone(),
            life.run(crashes, deadline),
        ));
        tasks.push((host, daemon, Some(task)));
    }
    // Each guest's exit and when it came, once it has ended.
    let mut ended: Vec<Option<(Option<GuestExit>, Duration)>> =
        tasks.iter().map(|_| None).collect();
    let at = origin.checked_add(deadline);
    // Wait for the guests that are not daemons, in order, until the
    // deadline; a handle is taken only once its guest has ended, so that
    // whatever has not ended by then is still there to stop.
    let waited = until(&*clock, at, async {
        for (i, (_, daemon, task)) in tasks.iter_mut().enumerate() {
            if *daemon {
                continue;
            }
            if let Some(handle) = task.as_mut() {
                ended[i] = Some(joined(handle.await));
                *task = None;
            }
        }
    });
    let interrupted = tokio::select! {
        // The guests' end first: a stop that comes with it changes nothing.
        biased;
        _ = waited => false,
        () = stop => true,
    };
    let virtual_elapsed = clock.now().saturating_duration_since(origin);
    for (i, (name, _, task)) in tasks.iter_mut().enumerate() {
        if let Some(handle) = task.take() {
            handle.abort();
            match handle.await {
                // It ended on its own (a daemon, or a guest after the one
                // waited on): that is its outcome.
                Ok(end) => ended[i] = Some(end),
                // Stopped here; dropping it closed its sockets.
                Err(_) => recorder.record(name, What::Ended("stopped".into())),
            }
        }
    }
    let ended_at = ended
        .iter()
        .map(|e| e.as_ref().map(|(_, at)| *at))
        .collect();
    let outcomes = tasks
        .into_iter()
        .zip(ended)
        .map(|((name, daemon, _), e)| {
            let outcome = match e {
                None => Outcome::Running,
                Some((None, _)) => Outcome::Crashed,
                Some((Some(exit), _)) => Outcome::Ended(exit),
            };
            (name, outcome, daemon)
        })
        .collect();
    SimRun {
        transcript: recorder.transcript(),
        outcomes,
        virtual_elapsed,
        wall_elapsed: Duration::ZERO,
        events_processed: net.processed_events(),
        stalled: false,
        stalled_host: None,
        set_by,
        ended_at,
        interrupted,
        faults_drawn,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{GuestExit, Outcome, SimRun};
    use crate::policy::SetBy;

    /// A run whose guests ended (or not) as `ends` says, hosts in order.
    fn run(ends: Vec<(&str, Outcome, Option<u64>)>) -> SimRun {
        SimRun {
            transcript: Default::default(),
            set_by: ends.iter().map(|_| SetBy::Code).collect(),
            ended_at: ends
                .iter()
                .map(|(_, _, at)| at.map(Duration::from_secs))
                .collect(),
            outcomes: ends
                .into_iter()
                .map(|(host, outcome, _)| (host.to_string(), outcome, false))
                .collect(),
            virtual_elapsed: Duration::ZERO,
            wall_elapsed: Duration::ZERO,
            events_processed: 0,
            stalled: false,
            stalled_host: None,
            interrupted: false,
            faults_drawn: 0,
        }
    }

    #[test]
    fn the_failure_named_is_the_one_that_came_first() {
        // The server, added first, failed after the client it served.
        let r = run(vec![
            ("server", Outcome::Ended(GuestExit::Exited(1)), Some(2)),
            ("client", Outcome::Ended(GuestExit::Exited(3)), Some(1)),
        ]);
        assert_eq!(r.first_failure().unwrap().0, "client");
        // One still running comes after any that ended; at one time, the
        // host added first.
        let r = run(vec![
            ("waiting", Outcome::Running, None),
            ("a", Outcome::Ended(GuestExit::Exited(0)), Some(1)),
            ("b", Outcome::Ended(GuestExit::Exited(1)), Some(5)),
            ("c", Outcome::Ended(GuestExit::Exited(1)), Some(5)),
        ]);
        assert_eq!(r.first_failure().unwrap().0, "b");
        let r = run(vec![("waiting", Outcome::Running, None)]);
        assert_eq!(
            r.first_failure().unwrap(),
            ("waiting", "still running at the deadline".to_string())
        );
    }
}
