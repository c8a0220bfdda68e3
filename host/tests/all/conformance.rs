//! The conformance suite: one small guest program per behaviour
//! (`tests/programs/src/bin/<suite>_<case>.rs`), each run against every
//! provider, over IPv4 and IPv6. A provider conforms when all pass.

use std::sync::Arc;

use wasock_host::net::Provider;
use wasock_host::net::native::NativeProvider;
use wasock_host::policy::Policy;
use wasock_host::runtime::GuestExit;

use crate::common::{Hermetic, PATIENCE, run_with_provider, tokio_rt};

/// The providers the suite runs against. (The native provider's resolver
/// is kept to the hosts file, so that the suite sends no DNS queries.)
fn providers() -> Vec<(&'static str, Arc<dyn Provider>)> {
    vec![("native", Arc::new(Hermetic(NativeProvider)))]
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

fn run_case(name: &str) {
    let path = path_of(name);
    let rt = tokio_rt();
    for (provider_name, provider) in providers() {
        for family in ["ipv4", "ipv6"] {
            let run = rt.block_on(async {
                tokio::time::timeout(
                    PATIENCE,
                    run_with_provider(path, &[family], grant_everything(), provider.clone()),
                )
                .await
            });
            let done =
                run.unwrap_or_else(|_| panic!("{name} on {provider_name}/{family} did not finish"));
            let passed = matches!(done.exit, GuestExit::Exited(0))
                && done.stdout.trim_end().ends_with("ok done");
            assert!(
                passed,
                "{name} failed on {provider_name}/{family}: {:?}\n{}",
                done.exit, done.stdout
            );
        }
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
