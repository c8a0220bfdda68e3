//! Standard `wasi:sockets@0.2` (tcp, udp, network, instance-network, the
//! create-socket interfaces, ip-name-lookup) as wasock's own socket layer
//! serves it, checked against the interface's documentation by four
//! guests: `wasi_tcp`, `wasi_udp` and `wasi_lookup` (the raw bindings:
//! every function, its states and its "Typical errors") and `wasi_std`
//! (Rust's `std::net`, over wasi-libc). Each runs over IPv4 and IPv6, in
//! process on the native provider under a policy that grants loopback, and
//! on the simulated provider; the socket guests also talk to real echo
//! servers on the host through the `wasock` binary; and the modes that
//! write or send past what `check-write`/`check-send` permitted must trap,
//! as the interface says.
//!
//! `wasi:sockets@0.3` is checked the same way by `p3_sockets`, a WASI 0.3
//! guest (the `wasip3` crate) that covers TCP, UDP and name lookup,
//! including concurrent send and receive on one connection, a cancelled
//! read, a receive stream dropped mid-transfer, and many connections served
//! by tasks of one instance.
//!
//! A guest prints `CASE: ok` or `CASE: FAIL WHAT` per case and
//! `done N cases` last.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use wasmtime::component::Component;
use wasock_host::net::native::NativeProvider;
use wasock_host::policy::Policy;
use wasock_host::runtime::{GuestExit, Outcome, Runner, SimGuest, Simulation, WasockCtx};
use wasock_test_programs::{
    P3_SOCKETS, PROVIDER_FAULTY, PROVIDER_MEMNET, PROVIDER_TAP, WASI_LOOKUP, WASI_STD, WASI_TCP,
    WASI_UDP,
};

use crate::common::{
    Finished, Hermetic, PATIENCE, allow, component_provider, run, run_with_provider,
    spawn_in_process, tokio_rt,
};

const FAMILIES: [&str; 2] = ["v4", "v6"];

/// The rules every run here is granted: every socket operation on the
/// loopback addresses; binding the documentation addresses the guests use
/// as "not an address of this host" (so that such a bind reaches the
/// socket layer and fails there with `address-not-bindable`, instead of
/// being refused by the policy); and resolving the two names `wasi_lookup`
/// looks up (the in-process resolver answers `localhost` from the hosts
/// file and no other name; the simulator knows `localhost` only).
const LOOPBACK_RULES: &[&str] = &[
    "tcp-bind=127.0.0.1:*",
    "tcp-bind=[::1]:*",
    "tcp-connect=127.0.0.1:*",
    "tcp-connect=[::1]:*",
    "tcp-accept=127.0.0.1:*",
    "tcp-accept=[::1]:*",
    "udp-bind=127.0.0.1:*",
    "udp-bind=[::1]:*",
    "udp-send=127.0.0.1:*",
    "udp-send=[::1]:*",
    "udp-recv=127.0.0.1:*",
    "udp-recv=[::1]:*",
    "tcp-bind=198.51.100.99:*",
    "tcp-bind=[2001:db8::99]:*",
    "udp-bind=198.51.100.99:*",
    "udp-bind=[2001:db8::99]:*",
    "resolve=localhost",
    "resolve=no-such-host.invalid",
];

fn loopback_policy() -> Arc<Policy> {
    allow(LOOPBACK_RULES)
}

/// How many cases a self-contained run of `program` has (its last line
/// says `done N cases`). `wasi_std` checks TTL on IPv4 only, as wasi-libc
/// serves IP_TTL on IPv4 sockets only.
fn expected_cases(program: &str, family: &str) -> usize {
    match (program, family) {
        (p, _) if p == WASI_TCP => 58,
        (p, _) if p == WASI_UDP => 42,
        (p, _) if p == WASI_LOOKUP => 8,
        (p, "v4") if p == WASI_STD => 25,
        (p, _) if p == WASI_STD => 23,
        (p, _) if p == P3_SOCKETS => 36,
        _ => unreachable!("{program}"),
    }
}

/// Every line of `stdout` is a passing case and the last says `done
/// {expected} cases`.
fn assert_all_ok(what: &str, exited_zero: bool, stdout: &str, expected: usize) {
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    let failed: Vec<&&str> = lines.iter().filter(|l| l.contains(": FAIL")).collect();
    assert!(
        failed.is_empty(),
        "{what}: failing cases:\n{failed:#?}\n\nall output:\n{stdout}"
    );
    let passed = lines.iter().filter(|l| l.ends_with(": ok")).count();
    let done = format!("done {expected} cases");
    assert!(
        exited_zero && passed == expected && lines.last() == Some(&done.as_str()),
        "{what}: expected {expected} passing cases and {done:?}, exit 0; got {passed} passing, exit ok: {exited_zero}:\n{stdout}"
    );
}

/// Run the guest at `path` in process on the native provider.
fn native(path: &str, args: &[&str]) -> Finished {
    tokio_rt()
        .block_on(async {
            tokio::time::timeout(
                PATIENCE,
                run_with_provider(
                    path,
                    args,
                    loopback_policy(),
                    Arc::new(Hermetic(NativeProvider)),
                ),
            )
            .await
        })
        .unwrap_or_else(|_| panic!("{path} {args:?} did not finish within {PATIENCE:?}"))
}

/// Provider components standard guests run on through the host's bridge
/// (`ComponentProvider`): by name, the component, and the policy the host
/// applies below it. The tap passes every call to the native provider;
/// memnet keeps its network in memory, so the host, denying everything, is
/// never asked.
fn components() -> [(&'static str, &'static str, Arc<Policy>); 2] {
    [
        ("tap", PROVIDER_TAP, loopback_policy()),
        ("memnet", PROVIDER_MEMNET, Arc::new(Policy::deny_all())),
    ]
}

/// Run the guest at `path` in process on a fresh instance of the provider
/// component `component`, with `below` the host's policy under it.
fn on_component(component: &str, below: Arc<Policy>, path: &str, args: &[&str]) -> Finished {
    let provider = component_provider(component, below);
    let ctx = WasockCtx::builder()
        .policy(loopback_policy())
        .provider(provider)
        .build();
    tokio_rt().block_on(async {
        let running = spawn_in_process(path, args, ctx);
        let stdout = running.stdout.clone();
        tokio::time::timeout(PATIENCE, running.finish())
            .await
            .unwrap_or_else(|_| {
                let so_far = String::from_utf8_lossy(&stdout.contents()).into_owned();
                panic!("{path} {args:?} did not finish within {PATIENCE:?}; its output:\n{so_far}")
            })
    })
}

/// A guest's every case on each provider component, over both families.
fn self_contained_on_components(path: &str) {
    for (name, component, below) in components() {
        for family in FAMILIES {
            let done = on_component(component, below.clone(), path, &[family]);
            assert_all_ok(
                &format!("{path} {family} (on {name})\nstderr:\n{}", done.stderr),
                matches!(done.exit, GuestExit::Exited(0)),
                &done.stdout,
                expected_cases(path, family),
            );
        }
    }
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

/// Run the guest at `path` alone on a simulated host (with an address of
/// each family besides its loopback): how it ended, and its stdout with
/// the transcript after it.
fn on_sim(path: &str, args: &[&str]) -> (Outcome, String, String) {
    let (runner, component) = sim_component(path);
    let mut sim = Simulation::new(1);
    sim.host(
        "host",
        &["10.0.0.1".parse().unwrap(), "fd00::1".parse().unwrap()],
        Some(
            SimGuest::new(component)
                .args(args.iter().copied())
                .policy(loopback_policy()),
        ),
    );
    let mut run = sim.run(runner, Duration::from_secs(3600)).unwrap();
    let stdout = run.transcript.stdout_of("host").join("\n");
    let transcript = run.transcript.render();
    let (_, outcome, _) = run.outcomes.remove(0);
    (outcome, stdout, transcript)
}

fn self_contained_native(path: &str) {
    for family in FAMILIES {
        let done = native(path, &[family]);
        assert_all_ok(
            &format!("{path} {family} (native)"),
            matches!(done.exit, GuestExit::Exited(0)),
            &done.stdout,
            expected_cases(path, family),
        );
    }
}

fn self_contained_sim(path: &str) {
    for family in FAMILIES {
        let (outcome, stdout, transcript) = on_sim(path, &[family]);
        assert_all_ok(
            &format!("{path} {family} (sim)\n{transcript}"),
            matches!(outcome, Outcome::Ended(GuestExit::Exited(0))),
            &stdout,
            expected_cases(path, family),
        );
    }
}

/// Run `path` in `mode`, natively and on the simulator: it must trap
/// after announcing it is about to.
fn traps(path: &str, mode: &str) {
    for family in FAMILIES {
        let done = native(path, &[family, mode]);
        assert!(
            matches!(done.exit, GuestExit::Trapped(_))
                && done.stdout.contains("about to trap")
                && !done.stdout.contains("FAIL"),
            "{path} {family} {mode} (native) did not trap: {:?}\n{}",
            done.exit,
            done.stdout
        );
        let (outcome, stdout, transcript) = on_sim(path, &[family, mode]);
        assert!(
            matches!(outcome, Outcome::Ended(GuestExit::Trapped(_)))
                && stdout.contains("about to trap")
                && !stdout.contains("FAIL"),
            "{path} {family} {mode} (sim) did not trap: {outcome:?}\n{stdout}\n{transcript}"
        );
    }
}

/// The loopback address of `family` with port 0.
fn loopback(family: &str) -> SocketAddr {
    if family == "v6" {
        "[::1]:0".parse().unwrap()
    } else {
        "127.0.0.1:0".parse().unwrap()
    }
}

/// A TCP echo server on the host that serves `connections` connections,
/// one after another, each until the client's end of stream.
fn tcp_echo(family: &str, connections: usize) -> SocketAddr {
    let l = TcpListener::bind(loopback(family)).unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut s, _)) = l.accept() else { return };
            s.set_read_timeout(Some(PATIENCE)).unwrap();
            let mut buf = [0u8; 4096];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 || s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    });
    addr
}

/// A UDP echo server on the host that returns each datagram to its
/// sender, until `datagrams` have come or none came for [`PATIENCE`].
fn udp_echo(family: &str, datagrams: usize) -> SocketAddr {
    let u = UdpSocket::bind(loopback(family)).unwrap();
    u.set_read_timeout(Some(PATIENCE)).unwrap();
    let addr = u.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        for _ in 0..datagrams {
            let Ok((n, from)) = u.recv_from(&mut buf) else {
                return;
            };
            let _ = u.send_to(&buf[..n], from);
        }
    });
    addr
}

/// `wasock run` under the loopback rules with `args` after the program.
fn run_cli(path: &str, args: &[&str]) -> (i32, Vec<String>, String) {
    run_cli_on(&[], path, args)
}

/// [`run_cli`] with `flags` for `wasock run` besides the rules.
fn run_cli_on(flags: &[&str], path: &str, args: &[&str]) -> (i32, Vec<String>, String) {
    let mut all = vec!["run"];
    for r in LOOPBACK_RULES {
        all.extend(["--allow", *r]);
    }
    all.extend_from_slice(flags);
    all.push(path);
    all.extend_from_slice(args);
    run(&all)
}

fn assert_cli_ok(what: &str, (code, stdout, stderr): (i32, Vec<String>, String), expected: usize) {
    let out = stdout.join("\n");
    assert_all_ok(
        &format!("{what}; stderr:\n{stderr}"),
        code == 0,
        &out,
        expected,
    );
}

// --- wasi:sockets/tcp ---

#[test]
fn wasi_tcp_on_native() {
    self_contained_native(WASI_TCP);
}

#[test]
fn wasi_tcp_on_sim() {
    self_contained_sim(WASI_TCP);
}

#[test]
fn wasi_tcp_on_provider_components() {
    self_contained_on_components(WASI_TCP);
}

#[test]
fn wasi_tcp_with_a_real_peer() {
    for family in FAMILIES {
        let peer = tcp_echo(family, 1).to_string();
        assert_cli_ok(
            &format!("wasi_tcp {family} peer {peer}"),
            run_cli(WASI_TCP, &[family, "peer", &peer]),
            3,
        );
    }
}

#[test]
fn wasi_tcp_write_past_the_permit_traps() {
    traps(WASI_TCP, "trap-write-over-permit");
    traps(WASI_TCP, "trap-write-unchecked");
}

// --- wasi:sockets/udp ---

#[test]
fn wasi_udp_on_native() {
    self_contained_native(WASI_UDP);
}

#[test]
fn wasi_udp_on_sim() {
    self_contained_sim(WASI_UDP);
}

#[test]
fn wasi_udp_on_provider_components() {
    self_contained_on_components(WASI_UDP);
}

#[test]
fn wasi_udp_with_a_real_peer() {
    for family in FAMILIES {
        let peer = udp_echo(family, 4).to_string();
        assert_cli_ok(
            &format!("wasi_udp {family} peer {peer}"),
            run_cli(WASI_UDP, &[family, "peer", &peer]),
            2,
        );
    }
}

#[test]
fn wasi_udp_send_past_the_permit_traps() {
    traps(WASI_UDP, "trap-send-over-permit");
    traps(WASI_UDP, "trap-send-unchecked");
    traps(WASI_UDP, "trap-send-permit-reused");
}

// --- std::net over wasi-libc ---

#[test]
fn wasi_std_on_native() {
    self_contained_native(WASI_STD);
}

#[test]
fn wasi_std_on_sim() {
    self_contained_sim(WASI_STD);
}

#[test]
fn wasi_std_on_provider_components() {
    self_contained_on_components(WASI_STD);
}

#[test]
fn wasi_std_with_real_peers() {
    for family in FAMILIES {
        let tcp = tcp_echo(family, 1).to_string();
        let udp = udp_echo(family, 1).to_string();
        assert_cli_ok(
            &format!("wasi_std {family} peer {tcp} {udp}"),
            run_cli(WASI_STD, &[family, "peer", &tcp, &udp]),
            2,
        );
    }
}

#[test]
fn wasi_std_through_the_tap_with_real_peers() {
    // `wasock run --provider` serves a standard guest's sockets from the
    // component's: the tap logs each connection to the real peer.
    for family in FAMILIES {
        let tcp = tcp_echo(family, 1).to_string();
        let udp = udp_echo(family, 1).to_string();
        let ran = run_cli_on(
            &["--provider", PROVIDER_TAP],
            WASI_STD,
            &[family, "peer", &tcp, &udp],
        );
        assert!(ran.2.contains(&format!("tap: connect {tcp}")), "{}", ran.2);
        assert_cli_ok(&format!("wasi_std {family} through the tap"), ran, 2);
    }
}

#[test]
fn the_tap_quota_holds_for_a_standard_guest_too() {
    // The provider sees `--env`, as a composed one does: its quota ends
    // the guest's transfer with an error.
    let tcp = tcp_echo("v4", 1).to_string();
    let udp = udp_echo("v4", 1).to_string();
    let (code, out, err) = run_cli_on(
        &["--env", "WASOCK_TAP_QUOTA=10", "--provider", PROVIDER_TAP],
        WASI_STD,
        &["v4", "peer", &tcp, &udp],
    );
    assert_eq!(code, 1, "{out:?}\n{err}");
    assert!(out.iter().any(|l| l.contains(": FAIL")), "{out:?}");
    assert!(
        err.contains("tap: quota of 10 bytes (WASOCK_TAP_QUOTA) used up at"),
        "{err}"
    );
}

#[test]
fn a_provider_that_traps_fails_the_standard_guests_calls_not_the_host() {
    // provider-faulty traps on a connect to port 9: its instance ends,
    // and the guest's calls fail with an error code from then on.
    let udp = udp_echo("v4", 1).to_string();
    let (code, out, err) = run_cli_on(
        &["--provider", PROVIDER_FAULTY],
        WASI_STD,
        &["v4", "peer", "127.0.0.1:9", &udp],
    );
    assert_eq!(code, 1, "{out:?}\n{err}");
    assert!(err.contains("provider-faulty: connect to port 9"), "{err}");
    assert!(
        err.contains("the provider component trapped") && err.contains("network-down"),
        "{err}"
    );
    // The connect that trapped fails for the guest, and so does its next
    // call, on a provider that is gone.
    let failed = |case: &str| out.iter().any(|l| l.starts_with(case));
    assert!(failed("peer-tcp-echo: FAIL connect"), "{out:?}");
    assert!(failed("peer-udp-echo: FAIL bind"), "{out:?}");
    assert!(!err.contains("panicked at host/"), "{err}");
}

#[test]
fn wasi_tcp_on_memnet_through_the_cli() {
    // Every case on memnet's network, which a layer above it (the tap)
    // logs as it passes.
    let ran = run_cli_on(
        &["--provider", PROVIDER_TAP, "--provider", PROVIDER_MEMNET],
        WASI_TCP,
        &["v4"],
    );
    assert!(ran.2.contains("tap: connect 127.0.0.1:"), "{}", ran.2);
    assert_cli_ok(
        "wasi_tcp v4 on the tap on memnet",
        ran,
        expected_cases(WASI_TCP, "v4"),
    );
}

// --- wasi:sockets/ip-name-lookup ---

#[test]
fn wasi_lookup_on_native() {
    self_contained_native(WASI_LOOKUP);
}

#[test]
fn wasi_lookup_on_sim() {
    self_contained_sim(WASI_LOOKUP);
}

#[test]
fn wasi_lookup_on_provider_components() {
    self_contained_on_components(WASI_LOOKUP);
}

// --- wasi:sockets@0.3 (WASI 0.3 guests) ---

#[test]
fn wasi_0_3_sockets_on_native() {
    self_contained_native(P3_SOCKETS);
}

#[test]
fn wasi_0_3_sockets_on_sim() {
    self_contained_sim(P3_SOCKETS);
}

#[test]
fn wasi_0_3_sockets_on_provider_components() {
    self_contained_on_components(P3_SOCKETS);
}

#[test]
fn wasi_0_3_sockets_through_the_tap_with_a_real_peer() {
    for family in FAMILIES {
        let peer = tcp_echo(family, 1).to_string();
        let ran = run_cli_on(
            &["--provider", PROVIDER_TAP],
            P3_SOCKETS,
            &[family, "peer", &peer],
        );
        assert!(ran.2.contains(&format!("tap: connect {peer}")), "{}", ran.2);
        assert_cli_ok(&format!("p3_sockets {family} through the tap"), ran, 1);
    }
}

#[test]
fn wasi_0_3_sockets_with_a_real_peer() {
    for family in FAMILIES {
        let peer = tcp_echo(family, 1).to_string();
        assert_cli_ok(
            &format!("p3_sockets {family} peer {peer}"),
            run_cli(P3_SOCKETS, &[family, "peer", &peer]),
            1,
        );
    }
}
