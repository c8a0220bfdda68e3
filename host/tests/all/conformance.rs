//! The conformance suite: one small guest program per behaviour
//! (`tests/programs/src/bin/<suite>_<case>.rs`), each run against every
//! provider, over IPv4 and IPv6: native, the simulator, and composed on the
//! provider components `provider-tap` (over native) and `provider-memnet`.
//! A provider conforms when all pass.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use wasmtime::component::Component;
use wasock_host::net::Provider;
use wasock_host::net::native::NativeProvider;
use wasock_host::policy::Policy;
use wasock_host::runtime::{GuestExit, Outcome, Runner, SimGuest, Simulation};

use crate::common::{Hermetic, PATIENCE, composed, run_with_provider, tokio_rt};

/// The providers the suite runs against in process. (The native provider's
/// resolver is kept to the hosts file, so that the suite sends no DNS
/// queries.) The simulated provider runs each program on a simulation of
/// its own (`run_on_sim`).
fn providers() -> Vec<(&'static str, Arc<dyn Provider>)> {
    vec![("native", Arc::new(Hermetic(NativeProvider)))]
}

/// Provider components the suite also runs on, composed with each program:
/// by name, the components (nearest the program first), and the policy the
/// host applies below them. The tap passes every call to the native
/// provider; memnet keeps its network in memory, so the host, denying
/// everything, is never asked.
fn layers() -> Vec<(&'static str, Vec<&'static str>, Arc<Policy>)> {
    vec![
        (
            "tap",
            vec![wasock_test_programs::PROVIDER_TAP],
            grant_everything(),
        ),
        (
            "memnet",
            vec![wasock_test_programs::PROVIDER_MEMNET],
            Arc::new(Policy::deny_all()),
        ),
    ]
}

/// Suites: a program whose name starts with one of these is a conformance
/// program.
const SUITES: &[&str] = &[
    "stream_",
    "datagram_",
    "poll_",
    "nonblocking_",
    "recv_",
    "lookup_",
    "timeout_",
];

/// The suite runs with everything granted: it tests the contract, not the
/// policy.
fn grant_everything() -> Arc<Policy> {
    let mut b = Policy::builder();
    for r in [
        "tcp-bind=*",
        "tcp-bind=0.0.0.0:*",
        "tcp-bind=[::]:*",
        "tcp-connect=*",
        "tcp-accept=*",
        "udp-bind=*",
        "udp-bind=0.0.0.0:*",
        "udp-bind=[::]:*",
        "udp-send=*",
        "udp-recv=*",
        "resolve=*",
    ] {
        b = b.allow(r).unwrap();
    }
    Arc::new(b.build())
}

fn path_of(name: &str) -> &'static str {
    wasock_test_programs::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("no guest program named {name}"))
}

/// A deterministic runner for the simulator, and its compiled programs.
fn sim_component(path: &str) -> (&'static Runner, Component) {
    static RUNNER: OnceLock<Runner> = OnceLock::new();
    static CACHE: OnceLock<Mutex<HashMap<String, Component>>> = OnceLock::new();
    let runner = RUNNER.get_or_init(|| Runner::deterministic(&Runner::default_config()).unwrap());
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    let component = cache
        .entry(path.to_string())
        .or_insert_with(|| runner.load(std::path::Path::new(path)).unwrap())
        .clone();
    (runner, component)
}

/// Run a conformance program alone on a simulated host (with an address
/// of each family besides its loopback).
fn run_on_sim(path: &str, family: &str) -> (bool, String) {
    let (runner, component) = sim_component(path);
    let mut sim = Simulation::new(1);
    sim.host(
        "host",
        &["10.0.0.1".parse().unwrap(), "fd00::1".parse().unwrap()],
        Some(
            SimGuest::new(component)
                .args([family])
                .policy(grant_everything()),
        ),
    );
    let run = sim.run(runner, Duration::from_secs(3600)).unwrap();
    let stdout = run.transcript.stdout_of("host").join("\n");
    let exited = matches!(run.outcomes[0].1, Outcome::Ended(GuestExit::Exited(0)));
    (exited, format!("{stdout}\n{}", run.transcript.render()))
}

fn run_case(name: &str) {
    let path = path_of(name);
    for family in ["ipv4", "ipv6"] {
        let (exited, out) = run_on_sim(path, family);
        let passed = exited && out.lines().any(|l| l == "ok done");
        assert!(passed, "{name} failed on sim/{family}:\n{out}");
    }
    let rt = tokio_rt();
    let on = |label: &str, path: &str, policy: Arc<Policy>, provider: Arc<dyn Provider>| {
        for family in ["ipv4", "ipv6"] {
            let run = rt.block_on(async {
                tokio::time::timeout(
                    PATIENCE,
                    run_with_provider(path, &[family], policy.clone(), provider.clone()),
                )
                .await
            });
            let done = run.unwrap_or_else(|_| panic!("{name} on {label}/{family} did not finish"));
            let passed = matches!(done.exit, GuestExit::Exited(0))
                && done.stdout.trim_end().ends_with("ok done");
            assert!(
                passed,
                "{name} failed on {label}/{family}: {:?}\n{}\nstderr:\n{}",
                done.exit, done.stdout, done.stderr
            );
        }
    };
    for (provider_name, provider) in providers() {
        on(provider_name, path, grant_everything(), provider);
    }
    for (layer, components, policy) in layers() {
        on(
            layer,
            &composed(path, &components),
            policy,
            Arc::new(Hermetic(NativeProvider)),
        );
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_case(stringify!($name));
            }
        )*
        const LISTED: &[&str] = &[$(stringify!($name)),*];
    };
}

conformance!(
    stream_bind,
    stream_bind_reuseaddr,
    stream_connect,
    stream_listen,
    stream_states,
    stream_options,
    stream_options_inherit,
    stream_shutdown,
    stream_orderly_end,
    stream_linger_close,
    stream_reset_by_peer,
    stream_large_transfer,
    stream_wait_all,
    stream_read_exact,
    stream_drained_reads,
    datagram_bind,
    datagram_implicit_bind,
    datagram_connect,
    datagram_boundaries,
    datagram_truncation,
    datagram_oversize,
    datagram_unreachable,
    datagram_options,
    datagram_multicast,
    poll_truthful,
    poll_timeouts,
    poll_mixed,
    poll_hangup,
    poll_listener_interest,
    poll_set,
    nonblocking_connect,
    nonblocking_ops,
    recv_peek,
    recv_in_place,
    recv_bytes_available,
    lookup_names,
    timeout_blocking,
);

#[test]
fn every_conformance_program_is_in_the_suite() {
    for (name, _) in wasock_test_programs::ALL {
        if SUITES.iter().any(|s| name.starts_with(s)) {
            assert!(
                LISTED.contains(name),
                "{name} is not listed in conformance!()"
            );
        }
    }
}
