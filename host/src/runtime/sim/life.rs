//! One simulated host's guest over its lives: started at its time, run
//! until it ends or its host crashes, started again if the host comes
//! back ([`Crash`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument as _;
use wasmtime_wasi::WasiCtxBuilder;

use super::output::{LineSink, Stream};
use super::transcript::{Recorder, What};
use super::{Crash, RandomSource, SimGuest, ending, fnv1a, guest_rng};
use crate::net::sim::{HostId, SimNet};
use crate::runtime::clock::Clock;
use crate::runtime::ctx::WasockCtx;
use crate::runtime::exit::GuestExit;
use crate::runtime::runner::{Prepared, Runner};
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

/// How one life ended.
enum End {
    /// The guest ended by itself.
    Exited(GuestExit),
    /// Its host crashed under it.
    Crashed,
}

impl Life {
    /// Run the guest through `crashes` (in order of time): its exit and
    /// when it came, since the simulation's start; `None` for the exit if
    /// the host crashed and never came back.
    pub async fn run(self, crashes: Vec<Crash>) -> (Option<GuestExit>, Duration) {
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
            let Some(restart) = crash.restart else {
                return (None, crash.at);
            };
            self.sleep_until(restart).await;
            self.net.with(|n| n.restart_host(self.id));
            start = restart;
            life += 1;
        }
        let exit = self.live(start, life).await;
        (Some(exit), self.elapsed())
    }

    /// Run the guest from `start` until it ends, or until `at`, when its
    /// host crashes: the crash comes first, so that the guest's sockets
    /// are gone (no FIN) before the guest is dropped.
    async fn until_crash(&self, start: Duration, at: Duration, life: u32) -> End {
        let crash = async {
            self.sleep_until(at).await;
            self.net.with(|n| n.crash_host(self.id));
        };
        tokio::select! {
            // A guest that ends at the crash's instant ended first.
            biased;
            exit = self.live(start, life) => End::Exited(exit),
            () = crash => End::Crashed,
        }
    }

    /// One life of the guest, from `start` to its end.
    async fn live(&self, start: Duration, life: u32) -> GuestExit {
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
            .limits(guest.limits)
            .on_decision(denials)
            .build();
        let stdout = LineSink::new(name, Stream::Stdout, recorder.clone());
        let stderr = LineSink::new(name, Stream::Stderr, recorder.clone());
        let seed = self.seed;
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(stdout.clone())
            .stderr(stderr.clone())
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
        let exit = self
            .runner
            .run(&self.pre, HostState::new(wasi, ctx))
            .instrument(tracing::warn_span!("host", name = %name))
            .await;
        stdout.finish();
        stderr.finish();
        recorder.record(name, What::Ended(ending(&exit, guest.policy.set_by())));
        exit
    }

    /// Sleep until `t` of virtual time since the start; a time too far to
    /// represent never comes.
    async fn sleep_until(&self, t: Duration) {
        match self.origin.checked_add(t) {
            Some(at) => self.clock.sleep_until(at).await,
            None => std::future::pending().await,
        }
    }

    /// Virtual time since the simulation's start.
    fn elapsed(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.origin)
    }
}
