//! The simulated provider's row: the same wasock guest doing 64 B UDP round
//! trips against an echo guest on a simulated network (two hosts, a
//! zero-latency link without faults), timed by the wall clock around the
//! run, beside its round trips on the native provider in the same run.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Component;
use wasock_host::net::sim::LinkConfig;
use wasock_host::policy::Policy;
use wasock_host::runtime::{Runner, SimGuest, Simulation};

/// A deterministic runner with the bench guest and the echo compiled.
pub struct SimBench {
    runner: Runner,
    bench: Component,
    echo: Component,
}

fn policy(rules: &[&str]) -> anyhow::Result<Arc<Policy>> {
    let mut b = Policy::builder();
    for r in rules {
        b = b.allow(r)?;
    }
    Ok(Arc::new(b.build()))
}

impl SimBench {
    /// Compile the guests.
    pub fn new() -> anyhow::Result<SimBench> {
        let runner = Runner::deterministic(&Runner::default_config())?;
        let bench = runner.load(Path::new(wasock_test_programs::BENCH_WASOCK))?;
        let echo = runner.load(Path::new(wasock_test_programs::UDP_ECHO))?;
        Ok(SimBench {
            runner,
            bench,
            echo,
        })
    }

    /// Wall-clock microseconds per round trip: two runs, of `rounds` and
    /// of a tenth as many, so that what a run costs besides its round trips
    /// (instantiating both guests, starting the network, stopping the
    /// echo) cancels out.
    pub fn udp_rtt_us(&self, rounds: u32) -> anyhow::Result<f64> {
        let few = (rounds / 10).max(1);
        let long = self.run_wall(rounds)?;
        let short = self.run_wall(few)?;
        Ok(long.saturating_sub(short).as_secs_f64() * 1e6 / f64::from(rounds - few))
    }

    /// Wall-clock time of a run of `rounds` round trips.
    fn run_wall(&self, rounds: u32) -> anyhow::Result<Duration> {
        let mut sim = Simulation::new(1);
        sim.default_link(LinkConfig {
            latency: Duration::ZERO,
            ..LinkConfig::default()
        })
        .verbose(false);
        sim.host(
            "echo",
            &["10.0.0.1".parse()?],
            Some(
                SimGuest::new(self.echo.clone())
                    .args(["10.0.0.1:7"])
                    .policy(policy(&[
                        "udp-bind=10.0.0.1:7",
                        "udp-recv=10.0.0.2:*",
                        "udp-send=10.0.0.2:*",
                    ])?)
                    .daemon(),
            ),
        );
        sim.host(
            "bench",
            &["10.0.0.2".parse()?],
            Some(
                SimGuest::new(self.bench.clone())
                    .args(["udp-rtt", "10.0.0.1:7", &rounds.to_string(), "64"])
                    .policy(policy(&["udp-bind=0.0.0.0:0", "udp-send=10.0.0.1:7"])?),
            ),
        );
        let run = sim.run(&self.runner, Duration::from_secs(3600))?;
        anyhow::ensure!(
            run.success(),
            "the simulated run failed: {:?}",
            run.first_failure()
        );
        Ok(run.wall_elapsed)
    }
}
