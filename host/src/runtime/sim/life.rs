//! One simulated host's guest over its lives: started at its time, run
//! until it ends or its host crashes, started again if the host comes
//! back ([`Crash`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument as _;
use wasmtime_wasi::WasiCtxBuilder;

use super::output::transcribed;
use super::pause::{self, pausable};
use super::transcript::{Recorder, What};
use super::{Crash, RandomSource, SimGuest, ending, fnv1a, guest_rng};
use crate::net::sim::{HostId, SimNet};
use crate::runtime::clock::Clock;
use crate::runtime::ctx::WasockCtx;
use crate::runtime::exit::GuestExit;
use crate::runtime::limits::Limits;
use crate::runtime::runner::{Prepared, Runner, with_timeout};
use crate::runtime::state::HostState;

/// Everything a host's guest needs to run, once or after each restart.
pub(super) struct Life {
    pub name: String,
    pub id: HostId,
    pub guest: SimGuest,
    pub pre: Prepared,
    pub net: SimNet,
    pub clock: Arc<dyn Clock>,
    pub recorder: Recorder,
    pub runner: Runner,
    pub seed: u64,
    /// The simulation's time zero.
    pub origin: Instant,
}

/// Take host `id` down and up on the network as `crashes` say (until
/// `restart`s run out), whatever becomes of its guest: a crash after the
/// guest has ended still takes the host away from its peers.
pub(super) async fn schedule(
    net: SimNet,
    clock: Arc<dyn Clock>,
    origin: Instant,
    id: HostId,
    crashes: Vec<Crash>,
) {
    // `Life` makes the same calls at the same instants (they do nothing
    // the second time): it must see the host down before it drops its
    // guest, and up before it starts the guest again.
    for c in crashes {
        sleep_since(&*clock, origin, c.at).await;
        net.with(|n| n.crash_host(id));
        let Some(restart) = c.restart else { return };
        sleep_since(&*clock, origin, restart).await;
        net.with(|n| n.restart_host(id));
    }
}

/// Sleep until `t` of virtual time after `origin`; a time too far to
/// represent never comes.
pub(super) async fn sleep_since(clock: &dyn Clock, origin: Instant, t: Duration) {
    match origin.checked_add(t) {
        Some(at) => clock.sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// How one life ended.
enum End {
    /// The guest ended by itself.
    Exited(GuestExit),
    /// Its host crashed under it.
    Crashed,
}

impl Life {
    /// Run the guest through `crashes` (in order of time) until the run's
    /// `deadline`: its exit and when it came, since the simulation's start;
    /// `None` for the exit if its host crashed and was not back by the
    /// deadline. ([`schedule`] takes the host down and up on the network,
    /// whether the guest still runs or not.)
    pub async fn run(
        self,
        crashes: Vec<Crash>,
        deadline: Duration,
    ) -> (Option<GuestExit>, Duration) {
        let mut start = self.guest.start;
        let mut life = 0;
        for crash in crashes {
            match self.until_crash(start, crash.at, life).await {
                End::Exited(exit) => return (Some(exit), self.elapsed()),
                End::Crashed => {
                    self.recorder
                        .record(&self.name, What::Ended("crashed".into()));
                }
            }
            let Some(restart) = crash.restart.filter(|r| *r < deadline) else {
                return (None, crash.at);
            };
            self.sleep_until(restart).await;
            self.net.with(|n| n.restart_host(self.id));
            start = restart;
            life += 1;
        }
        let exit = self.live(start, None, life).await;
        (Some(exit), self.elapsed())
    }

    /// Run the guest from `start` until it ends, or until `at`, when its
    /// host crashes. The crash takes the host's sockets away before the
    /// guest is dropped (so none closes with a FIN), and comes first at
    /// its instant: from then on the guest does nothing more.
    async fn until_crash(&self, start: Duration, at: Duration, life: u32) -> End {
        let crash = async {
            self.sleep_until(at).await;
            self.net.with(|n| n.crash_host(self.id));
        };
        tokio::select! {
            biased;
            () = crash => End::Crashed,
            exit = self.live(start, Some(at), life) => End::Exited(exit),
        }
    }

    /// One life of the guest, from `start` to its end (at the latest its
    /// host's crash at `crash`).
    async fn live(&self, start: Duration, crash: Option<Duration>, life: u32) -> GuestExit {
        self.sleep_until(start).await;
        let (guest, name, recorder) = (&self.guest, &self.name, &self.recorder);
        // Denials in the transcript, at their virtual time, beside what
        // they caused.
        let denials = {
            let (recorder, host) = (recorder.clone(), name.clone());
            let set_by = guest.policy.set_by().clone();
            move |d: &crate::policy::Decision| {
                if !d.is_allowed() {
                    let shown = d.shown_by(&set_by).to_string();
                    let text = shown.strip_prefix("denied ").unwrap_or(&shown);
                    recorder.record(&host, What::Denied(text.to_string()));
                }
            }
        };
        let ctx = WasockCtx::builder()
            .policy(guest.policy.clone())
            .provider(Arc::new(self.net.provider(self.id)))
            .clock(self.clock.clone())
            // Its time limit is kept below, outside its pauses.
            .limits(Limits {
                timeout: None,
                ..guest.limits
            })
            .on_decision(denials)
            .build();
        let outputs = transcribed(name, recorder);
        let seed = self.seed;
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(outputs.stdout.clone())
            .stderr(outputs.stderr.clone())
            .arg(name)
            .args(&guest.args)
            .envs(&guest.env)
            .secure_random(guest_rng(seed, name, RandomSource::Secure, life))
            .insecure_random(guest_rng(seed, name, RandomSource::Insecure, life))
            .insecure_random_seed(
                u128::from(seed) << 64 | u128::from(fnv1a(name) ^ u64::from(life)),
            );
        recorder.record(name, What::Started);
        // Its log lines (denials, limits) say which host they are about.
        let run = self
            .runner
            .run(&self.pre, HostState::new(wasi, ctx))
            .instrument(tracing::warn_span!("host", name = %name));
        // The limit runs from the start whatever pauses come, and ends the
        // guest at its time even while stopped, as a kill does.
        let pauses = pause::of_life(&guest.pauses, start, crash);
        let paused = pausable(&*self.clock, self.origin, &pauses, run);
        let timed = with_timeout(&*self.clock, guest.limits.timeout, paused);
        // Its pauses are written while it lives, and no longer.
        let exit = if pauses.is_empty() {
            timed.await
        } else {
            let announced = pause::announce(recorder, name, &*self.clock, self.origin, &pauses);
            // The announcement first: at a pause's end, "going on" comes
            // before what the guest then does.
            tokio::select! {
                biased;
                never = announced => match never {},
                exit = timed => exit,
            }
        };
        // What it left unterminated comes before its end.
        drop(outputs);
        recorder.record(name, What::Ended(ending(&exit, guest.policy.set_by())));
        exit
    }

    /// Sleep until `t` of virtual time since the start.
    async fn sleep_until(&self, t: Duration) {
        sleep_since(&*self.clock, self.origin, t).await;
    }

    /// Virtual time since the simulation's start.
    fn elapsed(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.origin)
    }
}
