//! Running the benchmark guests in this process, the way `wasock run` runs
//! them, and reading the value they report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use wasmtime::Config;
use wasmtime::component::Component;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasock_host::policy::Policy;
use wasock_host::runtime::Prepared;
use wasock_host::runtime::{GuestExit, HostState, Limits, Runner, WasockCtx};

/// Longest one guest run (or one run of the wasmtime CLI) may take: past it
/// the run is stopped and the bench ends with an error that names it,
/// instead of waiting for ever on a guest and a peer that each wait for
/// the other. Every run the bench makes takes seconds.
pub const PATIENCE: Duration = Duration::from_secs(300);

/// Which guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guest {
    /// The workloads over wasock's SDK.
    Wasock,
    /// The workloads over std::net (standard wasi:sockets).
    Std,
    /// The workloads over WASI 0.3's sockets (`wasi:sockets@0.3`).
    P3,
}

/// The component of `guest`, composed on the provider component at
/// `provider` if one is given.
fn component_of(
    runner: &Runner,
    guest: Guest,
    provider: Option<&str>,
) -> anyhow::Result<Component> {
    let path = match guest {
        Guest::Wasock => wasock_test_programs::BENCH_WASOCK,
        Guest::Std => wasock_test_programs::BENCH_STD,
        Guest::P3 => wasock_test_programs::BENCH_P3,
    };
    let Some(provider) = provider else {
        return runner.load(std::path::Path::new(path));
    };
    let bytes = wasock_host::runtime::compose::compose_files(path.as_ref(), &[provider])?;
    runner.compile(&bytes)
}

/// Compiled guests on a runner, and the policy they run under.
pub struct Guests {
    runner: Runner,
    /// Each guest, and the provider component it is composed on, if any.
    compiled: Vec<(Guest, Option<&'static str>, Prepared)>,
    policy: Arc<Policy>,
}

impl Guests {
    /// Compile both guests for `config`.
    pub fn new(config: &Config) -> anyhow::Result<Guests> {
        Guests::only(config, &[Guest::Wasock, Guest::Std])
    }

    /// Compile just `which` for `config`.
    pub fn only(config: &Config, which: &[Guest]) -> anyhow::Result<Guests> {
        let plain: Vec<_> = which.iter().map(|&g| (g, None)).collect();
        Guests::composed(config, &plain)
    }

    /// Compile each guest of `which` for `config`, composed on its provider
    /// component where one is given.
    pub fn composed(
        config: &Config,
        which: &[(Guest, Option<&'static str>)],
    ) -> anyhow::Result<Guests> {
        let runner = Runner::with_config(config)?;
        let compiled = which
            .iter()
            .map(|&(g, provider)| {
                let c = component_of(&runner, g, provider)?;
                Ok((g, provider, runner.prepare(&c)?))
            })
            .collect::<anyhow::Result<_>>()?;
        let mut b = Policy::builder();
        for r in [
            "tcp-connect=127.0.0.1:*",
            "tcp-bind=127.0.0.1:*",
            "tcp-accept=127.0.0.1:*",
            "udp-bind=127.0.0.1:*",
            "udp-send=127.0.0.1:*",
            "udp-recv=127.0.0.1:*",
        ] {
            b = b.allow(r)?;
        }
        Ok(Guests {
            compiled,
            runner,
            policy: Arc::new(b.build()),
        })
    }

    fn pre(&self, guest: Guest) -> anyhow::Result<&Prepared> {
        self.pre_on(guest, None)
    }

    fn pre_on(&self, guest: Guest, provider: Option<&str>) -> anyhow::Result<&Prepared> {
        self.compiled
            .iter()
            .find(|(g, p, _)| *g == guest && *p == provider)
            .map(|(_, _, pre)| pre)
            .ok_or_else(|| anyhow::anyhow!("{guest:?} on {provider:?} was not compiled"))
    }

    /// A fresh store state for one instance, writing stdout to `out`;
    /// `alone` when the instance has its thread to itself, as under `wasock
    /// run` (its blocking calls then wait in place, as they do there).
    pub fn state(&self, args: &[String], out: &MemoryOutputPipe, alone: bool) -> HostState {
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(out.clone())
            .inherit_stderr()
            .arg("bench")
            .args(args);
        // Room for the 10,000 connections one guest holds.
        let limits = Limits {
            max_sockets: 16384,
            timeout: Some(PATIENCE),
            ..Limits::default()
        };
        let ctx = WasockCtx::builder()
            .policy(self.policy.clone())
            .limits(limits)
            .wait_in_place(alone)
            .build();
        HostState::new(wasi, ctx)
    }

    /// Run `guest` with `args` to its end; the value it reported.
    pub async fn run(&self, guest: Guest, args: &[String]) -> anyhow::Result<f64> {
        self.run_on(guest, None, args).await
    }

    /// Run `guest`, composed on `provider` if one is given, with `args` to
    /// its end; the value it reported.
    pub async fn run_on(
        &self,
        guest: Guest,
        provider: Option<&str>,
        args: &[String],
    ) -> anyhow::Result<f64> {
        let out = MemoryOutputPipe::new(1 << 16);
        let exit = self
            .runner
            .run(self.pre_on(guest, provider)?, self.state(args, &out, true))
            .await;
        let stdout = String::from_utf8_lossy(&out.contents()).into_owned();
        match exit {
            GuestExit::Exited(0) => wasock_bench_workloads::parse_report(&stdout)
                .with_context(|| format!("{guest:?} {args:?} reported nothing: {stdout}")),
            other => anyhow::bail!("{guest:?} {args:?} failed: {}\n{stdout}", other.describe()),
        }
    }

    /// Median time to create a store and instantiate `guest`, over `n`.
    pub async fn instantiate_time(&self, guest: Guest, n: usize) -> anyhow::Result<Duration> {
        let mut times = Vec::with_capacity(n);
        let out = MemoryOutputPipe::new(1024);
        for _ in 0..n {
            let state = self.state(&[], &out, false);
            let start = Instant::now();
            let store = self.runner.instantiate(self.pre(guest)?, state).await?;
            times.push(start.elapsed());
            drop(store);
        }
        times.sort();
        Ok(times[n / 2])
    }

    /// Start an instance of `guest` that runs until aborted; its stdout.
    /// `alone`: nothing else runs on its thread (see [`Guests::state`]).
    pub fn spawn(
        &self,
        guest: Guest,
        args: &[String],
        alone: bool,
    ) -> anyhow::Result<(tokio::task::JoinHandle<GuestExit>, MemoryOutputPipe)> {
        let out = MemoryOutputPipe::new(1 << 12);
        let state = self.state(args, &out, alone);
        let runner = self.runner.clone();
        let pre = self.pre(guest)?.clone();
        Ok((
            tokio::spawn(async move { runner.run(&pre, state).await }),
            out,
        ))
    }
}
