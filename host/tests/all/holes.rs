//! One named test per hole that other runtimes' network permissions have
//! had; each fails if its hole reopens. The matcher's own tests are in
//! `host/src/policy/tests.rs`; these go through real guests.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;

use wasock_host::policy::{Operation, Policy};
use wasock_host::runtime::{PinnedNames, WasockCtx};
use wasock_test_programs::{P3_PROBE, PROBE, STD_PROBE};

use crate::common::{run, spawn_in_process, tokio_rt};

/// Run the probe under `rules` (flags such as `--allow X`) with commands.
fn probe(rules: &[&str], cmds: &[&str]) -> (Vec<String>, String) {
    let mut args = vec!["run"];
    args.extend_from_slice(rules);
    args.push(PROBE);
    args.extend_from_slice(cmds);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "probe failed: {out:?}\n{err}");
    (out, err)
}

fn has(lines: &[String], expected: &str) -> bool {
    lines
        .iter()
        .any(|l| l == expected || l.starts_with(&format!("{expected} ")))
}

#[track_caller]
fn expect(lines: &[String], expected: &str) {
    assert!(has(lines, expected), "expected `{expected}` in {lines:#?}");
}

fn free_port_listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    (l, p)
}

#[test]
fn hole_ipv4_mapped_addresses_vs_grants() {
    let (_l, port) = free_port_listener();
    let mapped = format!("[::ffff:127.0.0.1]:{port}");
    let (out, _) = probe(
        &["--allow", &format!("tcp-connect=127.0.0.1:{port}")],
        &["tcp-connect", &mapped],
    );
    expect(&out, &format!("tcp-connect {mapped}: ok"));
    let (out, _) = probe(
        &["--allow", &format!("tcp-connect=127.0.0.2:{port}")],
        &["tcp-connect", &mapped],
    );
    expect(&out, &format!("tcp-connect {mapped}: error access-denied"));
}

#[test]
fn hole_ipv4_mapped_addresses_vs_denies() {
    let (_l, port) = free_port_listener();
    let mapped = format!("[::ffff:127.0.0.1]:{port}");
    let (out, err) = probe(
        &[
            "--allow",
            "tcp-connect=*",
            "--deny",
            "tcp-connect=127.0.0.0/8:*",
        ],
        &["tcp-connect", &mapped],
    );
    expect(&out, &format!("tcp-connect {mapped}: error access-denied"));
    assert!(err.contains("--deny tcp-connect=127.0.0.0/8:*"), "{err}");
    // A refusal written in mapped form refuses the IPv4 spelling.
    let v4 = format!("127.0.0.1:{port}");
    let (out, _) = probe(
        &[
            "--allow",
            "tcp-connect=*",
            "--deny",
            "tcp-connect=[::ffff:127.0.0.1]:*",
        ],
        &["tcp-connect", &v4],
    );
    expect(&out, &format!("tcp-connect {v4}: error access-denied"));
}

#[test]
fn hole_unspecified_address_needs_a_rule_naming_it() {
    let (out, err) = probe(
        &[
            "--allow",
            "tcp-bind=127.0.0.1:*",
            "--allow",
            "tcp-bind=[::1]:*",
            "--allow",
            "udp-bind=*",
        ],
        &[
            "tcp-bind",
            "0.0.0.0:0",
            "tcp-bind",
            "[::]:0",
            "tcp-listen-new",
            "v4",
            "udp-bind",
            "0.0.0.0:0",
            "tcp-bind",
            "127.0.0.1:0",
        ],
    );
    expect(&out, "tcp-bind 0.0.0.0:0: error access-denied");
    expect(&out, "tcp-bind [::]:0: error access-denied");
    expect(&out, "tcp-listen-new v4: error access-denied");
    expect(&out, "udp-bind 0.0.0.0:0: error access-denied");
    expect(&out, "tcp-bind 127.0.0.1:0: ok");
    assert!(
        err.contains("the unspecified address is granted only by a rule that names it"),
        "{err}"
    );
    let (out, _) = probe(
        &["--allow", "tcp-bind=0.0.0.0:*"],
        &["tcp-bind", "0.0.0.0:0", "tcp-listen"],
    );
    expect(&out, "tcp-bind 0.0.0.0:0: ok");
    expect(&out, "tcp-listen: ok");
}

/// The unspecified address is no destination, in either spelling: Linux
/// would connect `0.0.0.0` (and `::ffff:0.0.0.0`) to this machine, past
/// grants that name only loopback.
#[test]
fn hole_the_unspecified_address_is_no_destination() {
    let (_l, port) = free_port_listener();
    let plain = format!("0.0.0.0:{port}");
    let mapped = format!("[::ffff:0.0.0.0]:{port}");
    let (out, _) = probe(
        &[
            "--allow",
            "tcp-connect=*",
            "--allow",
            "tcp-connect=0.0.0.0:*",
            "--allow",
            "udp-bind=*",
            "--allow",
            "udp-send=0.0.0.0:*",
        ],
        &[
            "tcp-connect-new",
            &plain,
            "tcp-connect-new",
            &mapped,
            "udp-new",
            "v6",
            "udp-send",
            &mapped,
        ],
    );
    expect(
        &out,
        &format!("tcp-connect-new {plain}: error address-not-available"),
    );
    expect(
        &out,
        &format!("tcp-connect-new {mapped}: error address-not-available"),
    );
    expect(
        &out,
        &format!("udp-send {mapped}: error address-not-available"),
    );
}

#[test]
fn hole_port_zero_needs_ports_that_include_it() {
    let (out, _) = probe(
        &[
            "--allow",
            "tcp-bind=127.0.0.1:1024-65535",
            "--allow",
            "udp-bind=127.0.0.1:5353",
        ],
        &["tcp-bind", "127.0.0.1:0", "udp-bind", "127.0.0.1:0"],
    );
    expect(&out, "tcp-bind 127.0.0.1:0: error access-denied");
    expect(&out, "udp-bind 127.0.0.1:0: error access-denied");
    let (out, _) = probe(
        &["--allow", "tcp-bind=127.0.0.1:0"],
        &["tcp-bind", "127.0.0.1:0"],
    );
    expect(&out, "tcp-bind 127.0.0.1:0: ok");
}

#[test]
fn hole_implicit_bind_then_listen() {
    // A port nobody listens on: connecting to it is refused.
    let (l, dead) = free_port_listener();
    drop(l);
    let target = format!("127.0.0.1:{dead}");
    let (out, _) = probe(
        &["--allow", "tcp-connect=127.0.0.1:*"],
        &[
            "tcp-connect-new",
            &target,
            "tcp-listen",
            "tcp-listen-new",
            "v4",
        ],
    );
    expect(
        &out,
        &format!("tcp-connect-new {target}: error connection-refused"),
    );
    // Bound by the failed connect: it may not become a listener.
    expect(&out, "tcp-listen: error invalid-argument");
    // Nor may a fresh socket listen without a bind grant.
    expect(&out, "tcp-listen-new v4: error access-denied");
}

#[test]
fn hole_a_granted_name_resolving_to_a_denied_address() {
    let (_l, port) = free_port_listener();
    let target = format!("evil.test:{port}");
    let grant = format!("tcp-connect=evil.test:{port}");
    // Granted by name and pinned to loopback: it connects.
    let (out, _) = probe(
        &["--resolve", "evil.test=127.0.0.1", "--allow", &grant],
        &["connect-name", &target],
    );
    expect(&out, &format!("connect-name {target}: ok"));
    // The same, but the address it resolves to is refused.
    let (out, err) = probe(
        &[
            "--resolve",
            "evil.test=127.0.0.1",
            "--allow",
            &grant,
            "--deny",
            "tcp-connect=127.0.0.0/8:*",
        ],
        &["connect-name", &target],
    );
    expect(&out, &format!("connect-name {target}: error access-denied"));
    assert!(
        err.contains("evil.test") && err.contains("--deny tcp-connect=127.0.0.0/8:*"),
        "{err}"
    );
    // Without resolving, the address alone is not granted by the name.
    let direct = format!("127.0.0.1:{port}");
    let (out, _) = probe(&["--allow", &grant], &["tcp-connect", &direct]);
    expect(&out, &format!("tcp-connect {direct}: error access-denied"));
}

#[test]
fn hole_numeric_ipv4_spellings_are_not_names() {
    let (out, _) = probe(
        &["--allow", "resolve=*"],
        &[
            "resolve",
            "2130706433",
            "resolve",
            "0x7f.1",
            "resolve",
            "0177.0.0.1",
        ],
    );
    expect(&out, "resolve 2130706433: error invalid-argument");
    expect(&out, "resolve 0x7f.1: error invalid-argument");
    expect(&out, "resolve 0177.0.0.1: error invalid-argument");
    let (code, _, err) = run(&["run", "--allow", "tcp-connect=2130706433:80", PROBE]);
    assert_eq!(code, 2);
    assert!(err.contains("four numbers from 0 to 255"), "{err}");
}

#[test]
fn hole_deny_beats_allow() {
    let (_l, port) = free_port_listener();
    let t = format!("127.0.0.1:{port}");
    let rule = format!("udp-send={t}");
    let (out, _) = probe(
        &["--allow", &rule, "--deny", &rule],
        &["udp-new", "v4", "udp-send", &t],
    );
    expect(&out, &format!("udp-send {t}: error access-denied"));
    let (out, _) = probe(
        &[
            "--deny",
            "tcp-connect=*",
            "--allow",
            &format!("tcp-connect={t}"),
        ],
        &["tcp-connect", &t],
    );
    expect(&out, &format!("tcp-connect {t}: error access-denied"));
}

#[test]
fn hole_suffix_wildcards_need_a_label_boundary() {
    let pins = [
        "--resolve",
        "api.example.test=127.0.0.1",
        "--resolve",
        "evilexample.test=127.0.0.1",
        "--resolve",
        "example.test.evil.test=127.0.0.1",
        "--resolve",
        "example.test=127.0.0.1",
    ];
    let mut rules = pins.to_vec();
    rules.extend(["--allow", "resolve=*.example.test"]);
    let (out, _) = probe(
        &rules,
        &[
            "resolve",
            "api.example.test",
            "resolve",
            "evilexample.test",
            "resolve",
            "example.test.evil.test",
            "resolve",
            "example.test",
        ],
    );
    expect(&out, "resolve api.example.test: ok 127.0.0.1");
    expect(&out, "resolve evilexample.test: error access-denied");
    expect(&out, "resolve example.test.evil.test: error access-denied");
    expect(&out, "resolve example.test: error access-denied");
}

#[test]
fn hole_ipv6_scope_ids() {
    // Denied before any packet: a grant for another interface, or without
    // a scope, does not cover a scoped link-local address.
    let (out, _) = probe(
        &[
            "--allow",
            "tcp-connect=[fe80::1%2]:80",
            "--allow",
            "tcp-connect=[fe80::2]:80",
        ],
        &[
            "tcp-connect-new",
            "[fe80::1%1]:80",
            "tcp-connect-new",
            "[fe80::2%1]:80",
        ],
    );
    expect(&out, "tcp-connect-new [fe80::1%1]:80: error access-denied");
    expect(&out, "tcp-connect-new [fe80::2%1]:80: error access-denied");
}

#[test]
fn hole_ports_zero_max_and_out_of_range() {
    let (_l, port) = free_port_listener();
    let t = format!("127.0.0.1:{port}");
    let (out, _) = probe(
        &["--allow", "tcp-connect=127.0.0.1:65535"],
        &["tcp-connect", &t],
    );
    expect(&out, &format!("tcp-connect {t}: error access-denied"));
    let (out, _) = probe(
        &["--allow", &format!("tcp-connect=127.0.0.1:{port}-65535")],
        &["tcp-connect", &t],
    );
    expect(&out, &format!("tcp-connect {t}: ok"));
    for bad in [
        "tcp-connect=127.0.0.1:65536",
        "tcp-connect=127.0.0.1:1-99999",
        "tcp-connect=127.0.0.1:-1",
    ] {
        let (code, _, err) = run(&["run", "--allow", bad, PROBE]);
        assert_eq!(code, 2, "{bad}");
        assert!(err.contains(bad), "{err}");
    }
}

/// An embedder's observer gets every counted decision, allowed or
/// denied, with its fields: none is lost to the log's rate limit.
#[test]
fn an_embedder_sees_every_decision_as_data() {
    use std::sync::Mutex;
    use wasock_host::policy::Operation;

    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let policy = Policy::builder()
        .allow("tcp-connect=127.0.0.1:*")
        .unwrap()
        .deny("tcp-connect=127.0.0.1:22")
        .unwrap()
        .build();
    let ctx = WasockCtx::builder()
        .policy(Arc::new(policy))
        .on_decision(move |d| {
            let rule = d.rule().map(|r| r.to_string()).unwrap_or_default();
            log.lock()
                .unwrap()
                .push((d.operation, d.is_allowed(), d.subject.to_string(), rule));
        })
        .build();
    let (_l, port) = free_port_listener();
    let open = format!("127.0.0.1:{port}");
    let mut args = vec!["tcp-connect-new", &open];
    for _ in 0..3 {
        args.extend(["tcp-connect-new", "127.0.0.1:22"]);
    }
    let done = tokio_rt().block_on(async { spawn_in_process(PROBE, &args, ctx).finish().await });
    assert!(
        done.stdout.contains(&format!("tcp-connect-new {open}: ok")),
        "{}",
        done.stdout
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(
        seen[0],
        (
            Operation::TcpConnect,
            true,
            open.clone(),
            "--allow tcp-connect=127.0.0.1:* (set by the embedder)".to_string()
        )
    );
    for d in &seen[1..] {
        assert_eq!(
            *d,
            (
                Operation::TcpConnect,
                false,
                "127.0.0.1:22".to_string(),
                "--deny tcp-connect=127.0.0.1:22 (set by the embedder)".to_string()
            )
        );
    }
}

fn ctx(rules: &[&str], pinned: PinnedNames) -> WasockCtx {
    let mut b = Policy::builder();
    for r in rules {
        b = b.allow(r).unwrap();
    }
    WasockCtx::builder()
        .policy(Arc::new(b.build()))
        .pinned_names(Arc::new(pinned))
        .build()
}

/// A guest that listens on 127.0.0.7 (with `args`; `ready` is the start of
/// the line that gives its address) under a policy admitting only
/// 127.0.0.2: a connection from 127.0.0.1 is dropped before its accept
/// returns, and counted; one from 127.0.0.2 is what it accepts. (No other
/// test uses 127.0.0.7, so none that connects to a closed port of
/// 127.0.0.1 can reach this listener and change the counts.)
async fn accept_only_from_the_granted_peer(program: &str, args: &[&str], ready: &str) {
    let g = spawn_in_process(
        program,
        args,
        ctx(
            &["tcp-bind=127.0.0.7:*", "tcp-accept=127.0.0.2:*"],
            PinnedNames::new(),
        ),
    );
    let line = g.line_containing(ready).await;
    let addr: SocketAddr = line.rsplit(' ').next().unwrap().parse().unwrap();
    let denied = tokio::net::TcpStream::connect(addr).await.unwrap();
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let allowed = sock.connect(addr).await.unwrap();
    let stats = g.stats.clone();
    let done = g.finish().await;
    assert!(
        done.stdout.contains("tcp-accept: ok 127.0.0.2:"),
        "{}",
        done.stdout
    );
    let counters = stats.snapshot();
    assert_eq!(counters.dropped_connections, 1);
    assert_eq!(counters.denied(Operation::TcpAccept), 1);
    assert_eq!(counters.allowed(Operation::TcpAccept), 1);
    drop((denied, allowed));
}

/// A guest bound on 127.0.0.7 (with `args`; `ready` starts the line that
/// gives its address; 127.0.0.7 for the reason above) under a policy
/// hearing only 127.0.0.2: a stranger's datagram (from 127.0.0.1) is
/// dropped unseen and counted, the friend's is received.
async fn receive_only_from_the_granted_peer(program: &str, args: &[&str], ready: &str) {
    let g = spawn_in_process(
        program,
        args,
        ctx(
            &["udp-bind=127.0.0.7:*", "udp-recv=127.0.0.2:*"],
            PinnedNames::new(),
        ),
    );
    let line = g.line_containing(ready).await;
    let addr: SocketAddr = line.rsplit(' ').next().unwrap().parse().unwrap();
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(b"stranger", addr)
        .unwrap();
    let friend = UdpSocket::bind("127.0.0.2:0").unwrap();
    friend.send_to(b"friend", addr).unwrap();
    let stats = g.stats.clone();
    let done = g.finish().await;
    let friend_addr = friend.local_addr().unwrap();
    assert!(
        done.stdout
            .contains(&format!("udp-recv: ok {friend_addr} friend")),
        "{}",
        done.stdout
    );
    assert_eq!(stats.snapshot().dropped_datagrams, 1);
}

#[test]
fn hole_accept_peer_filtering() {
    tokio_rt().block_on(accept_only_from_the_granted_peer(
        PROBE,
        &["tcp-bind", "127.0.0.7:0", "tcp-listen", "tcp-accept"],
        "tcp-listen: ok",
    ));
}

#[test]
fn hole_recv_from_peer_filtering() {
    tokio_rt().block_on(receive_only_from_the_granted_peer(
        PROBE,
        &["udp-bind", "127.0.0.7:0", "udp-recv"],
        "udp-bind 127.0.0.7:0: ok",
    ));
}

/// `program` (a probe) sends to a peer from an unbound socket, then
/// receives twice with no `udp-recv` grant: the contacted peer's reply
/// gets through (the reply rule), a stranger's datagram does not.
async fn a_reply_from_the_contacted_peer_alone(program: &str) {
    // A native echo peer the guest contacts, and a stranger.
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let t = peer_addr.to_string();
    let g = spawn_in_process(
        program,
        &["udp-new", "v4", "udp-send", &t, "udp-recv", "udp-recv"],
        ctx(&[&format!("udp-send={t}")], PinnedNames::new()),
    );
    let mut buf = [0u8; 64];
    let (n, guest) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
    // The stranger writes first; only the reply from the contacted peer
    // gets through, without any udp-recv grant.
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(b"stranger", guest)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    peer.send_to(b"pong", guest).unwrap();
    let stats = g.stats.clone();
    let done = g.finish().await;
    assert!(
        done.stdout
            .contains(&format!("udp-recv: ok {peer_addr} pong")),
        "{}",
        done.stdout
    );
    // The second receive got nothing more: the stranger was dropped.
    assert!(
        done.stdout.contains("udp-recv: error timed-out"),
        "{}",
        done.stdout
    );
    assert_eq!(stats.snapshot().dropped_datagrams, 1);
}

#[test]
fn hole_a_datagram_reply_from_a_contacted_peer() {
    tokio_rt().block_on(a_reply_from_the_contacted_peer_alone(PROBE));
}

/// An implicit bind the system made during a send it then refused (Linux
/// binds before it routes, and answers a broadcast on a socket without
/// `broadcast` set with `EACCES`): the socket is bound from then on, as
/// the system says, so a receive waits (here until its timeout) instead
/// of calling it unbound (`invalid-argument`). The send itself is granted:
/// the refusal is the system's, not the policy's.
#[test]
fn a_send_the_system_refuses_after_binding_leaves_the_socket_bound() {
    let (out, err) = probe(
        &["--allow", "udp-send=255.255.255.255:9"],
        &["udp-new", "v4", "udp-send", "255.255.255.255:9", "udp-recv"],
    );
    expect(&out, "udp-send 255.255.255.255:9: error access-denied");
    assert!(!err.contains("denied udp-send"), "{err}");
    expect(&out, "udp-recv: error timed-out");
}

#[test]
fn std_net_guests_are_held_to_the_same_policy() {
    let (_l, port) = free_port_listener();
    let t = format!("127.0.0.1:{port}");
    let grant = format!("tcp-connect={t}");
    let (code, out, err) = run(&[
        "run",
        "--allow",
        &grant,
        STD_PROBE,
        "tcp-connect",
        &t,
        "tcp-connect",
        "127.0.0.2:9",
    ]);
    assert_eq!(code, 0, "{err}");
    expect(&out, &format!("tcp-connect {t}: ok"));
    expect(&out, "tcp-connect 127.0.0.2:9: error PermissionDenied");
    assert!(err.contains("denied tcp-connect 127.0.0.2:9"), "{err}");
    // Binds and mapped addresses follow the same rules.
    let (_, out, _) = run(&[
        "run",
        "--allow",
        "tcp-bind=127.0.0.1:*",
        "--allow",
        "tcp-connect=*",
        "--deny",
        "tcp-connect=127.0.0.0/8:*",
        STD_PROBE,
        "tcp-listen",
        "127.0.0.1:0",
        "tcp-listen",
        "0.0.0.0:0",
        "tcp-connect",
        &format!("[::ffff:127.0.0.1]:{port}"),
    ]);
    expect(&out, "tcp-listen 127.0.0.1:0: ok");
    expect(&out, "tcp-listen 0.0.0.0:0: error PermissionDenied");
    // wasi:sockets itself refuses IPv4-mapped destinations; either way
    // the refused address is not reached.
    let mapped = format!("tcp-connect [::ffff:127.0.0.1]:{port}: error");
    assert!(out.iter().any(|l| l.starts_with(&mapped)), "{out:#?}");
}

/// An embedder who links WASI as wasmtime's documentation shows
/// (wasmtime-wasi's `add_to_linker_async`, whose `wasi:sockets` know no
/// policy) and then wasock's interfaces still has its `std::net` guests
/// held to the policy and counted, WASI 0.2 and 0.3 alike; linked the
/// other way round, the linker refuses rather than serve sockets past the
/// policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn std_net_guests_meet_the_policy_when_wasmtime_wasi_was_linked_first() {
    use wasmtime::component::{Component, Linker};
    use wasock_host::runtime::{HostState, add_to_linker};

    let (_l, port) = free_port_listener();
    let target = format!("127.0.0.1:{port}");
    // A linker as the embedder builds it, and a store for `guest` that
    // connects to `target` (granted) and to 127.0.0.2:9 (not).
    let setup = |concurrency: bool, guest: &str| {
        let mut config = wasmtime::Config::new();
        config.concurrency_support(concurrency);
        let engine = wasmtime::Engine::new(&config).unwrap();
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        if concurrency {
            wasmtime_wasi::p3::add_to_linker(&mut linker).unwrap();
        }
        add_to_linker(&mut linker).unwrap();
        let grant = format!("tcp-connect={target}");
        let policy = Arc::new(Policy::builder().allow(&grant).unwrap().build());
        let ctx = WasockCtx::builder().policy(policy).build();
        let stats = ctx.stats();
        let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
        wasi.args(&[guest, "tcp-connect", &target, "tcp-connect", "127.0.0.2:9"]);
        let component = Component::from_file(&engine, guest).unwrap();
        let store = wasmtime::Store::new(&engine, HostState::new(wasi, ctx));
        (linker, component, store, stats)
    };
    let counted = |stats: &wasock_host::runtime::InstanceStats| {
        let c = stats.snapshot();
        (
            c.allowed(Operation::TcpConnect),
            c.denied(Operation::TcpConnect),
        )
    };

    let (linker, component, mut store, stats) = setup(false, STD_PROBE);
    let command =
        wasmtime_wasi::p2::bindings::Command::instantiate_async(&mut store, &component, &linker)
            .await
            .unwrap();
    let ran = command.wasi_cli_run().call_run(&mut store).await.unwrap();
    assert!(ran.is_ok());
    assert_eq!(counted(&stats), (1, 1));

    let (linker, component, mut store, stats) = setup(true, P3_PROBE);
    let command =
        wasmtime_wasi::p3::bindings::Command::instantiate_async(&mut store, &component, &linker)
            .await
            .unwrap();
    let ran = store
        .run_concurrent(async |run| command.wasi_cli_run().call_run(run).await)
        .await
        .unwrap()
        .unwrap();
    assert!(ran.is_ok());
    assert_eq!(counted(&stats), (1, 1));

    let mut other_way: Linker<HostState> = Linker::new(store.engine());
    add_to_linker(&mut other_way).unwrap();
    let clash = wasmtime_wasi::p2::add_to_linker_async(&mut other_way).unwrap_err();
    assert!(format!("{clash:#}").contains("defined twice"), "{clash:#}");
}

#[test]
fn std_net_guests_resolve_through_the_same_policy_and_pins() {
    let (_l, port) = free_port_listener();
    let by_name = format!("api.test:{port}");
    let grant = format!("tcp-connect=api.test:{port}");
    let (code, out, err) = run(&[
        "run",
        "--resolve",
        "api.test=127.0.0.1",
        "--allow",
        &grant,
        "--deny",
        "resolve=*.evil.test",
        "--allow",
        "resolve=*.test",
        "--resolve",
        "x.evil.test=127.0.0.1",
        STD_PROBE,
        "tcp-connect",
        &by_name,
        "resolve",
        "x.evil.test:80",
        "resolve",
        "2130706433:80",
        "resolve",
        "other.example:80",
    ]);
    assert_eq!(code, 0, "{err}");
    // Granted by name: resolving it is granted too, and the connect to the
    // address it resolved to matches the name.
    expect(&out, &format!("tcp-connect {by_name}: ok 127.0.0.1:{port}"));
    // Refused, numeric, and not granted names fail; nothing was looked up.
    for bad in [
        "resolve x.evil.test:80: error",
        "resolve 2130706433:80: error",
        "resolve other.example:80: error",
    ] {
        assert!(out.iter().any(|l| l.starts_with(bad)), "{bad} in {out:#?}");
    }
    assert!(
        err.contains("denied resolve x.evil.test by --deny resolve=*.evil.test"),
        "{err}"
    );
    // In an instance that has not resolved the name, the bare address is
    // not granted by it.
    let direct = format!("127.0.0.1:{port}");
    let (_, out, _) = run(&[
        "run",
        "--resolve",
        "api.test=127.0.0.1",
        "--allow",
        &grant,
        STD_PROBE,
        "tcp-connect",
        &direct,
    ]);
    expect(
        &out,
        &format!("tcp-connect {direct}: error PermissionDenied"),
    );
}

#[test]
fn std_net_guests_never_see_refused_peers() {
    tokio_rt().block_on(async {
        accept_only_from_the_granted_peer(
            STD_PROBE,
            &["tcp-listen", "127.0.0.7:0", "tcp-accept"],
            "tcp-listen 127.0.0.7:0: ok",
        )
        .await;
        receive_only_from_the_granted_peer(
            STD_PROBE,
            &["udp-bind", "127.0.0.7:0", "udp-recv"],
            "udp-bind 127.0.0.7:0: ok",
        )
        .await;
    });
}

// --- The same holes through WASI 0.3 (`wasi:sockets@0.3`) ---

#[test]
fn wasi_0_3_guests_are_held_to_the_same_policy() {
    let (_l, port) = free_port_listener();
    let t = format!("127.0.0.1:{port}");
    let grant = format!("tcp-connect={t}");
    let (code, out, err) = run(&[
        "run",
        "--allow",
        &grant,
        P3_PROBE,
        "tcp-connect",
        &t,
        "tcp-connect",
        "127.0.0.2:9",
    ]);
    assert_eq!(code, 0, "{err}");
    expect(&out, &format!("tcp-connect {t}: ok"));
    expect(&out, "tcp-connect 127.0.0.2:9: error access-denied");
    assert!(err.contains("denied tcp-connect 127.0.0.2:9"), "{err}");
    // Explicit and implicit binds, the unspecified address, and mapped
    // addresses follow the same rules.
    let (_, out, _) = run(&[
        "run",
        "--allow",
        "tcp-bind=127.0.0.1:*",
        "--allow",
        "udp-send=127.0.0.1:*",
        "--allow",
        "tcp-connect=*",
        "--deny",
        "tcp-connect=127.0.0.0/8:*",
        P3_PROBE,
        "tcp-listen",
        "127.0.0.1:0",
        "tcp-listen",
        "0.0.0.0:0",
        "udp-bind",
        "0.0.0.0:0",
        "tcp-connect",
        &format!("[::ffff:127.0.0.1]:{port}"),
    ]);
    expect(&out, "tcp-listen 127.0.0.1:0: ok");
    expect(&out, "tcp-listen 0.0.0.0:0: error access-denied");
    expect(&out, "udp-bind 0.0.0.0:0: error access-denied");
    // wasi:sockets itself refuses IPv4-mapped addresses.
    expect(
        &out,
        &format!("tcp-connect [::ffff:127.0.0.1]:{port}: error invalid-argument"),
    );
}

#[test]
fn wasi_0_3_guests_resolve_through_the_same_policy_and_pins() {
    let (_l, port) = free_port_listener();
    let by_name = format!("api.test:{port}");
    let grant = format!("tcp-connect=api.test:{port}");
    let (code, out, err) = run(&[
        "run",
        "--resolve",
        "api.test=127.0.0.1",
        "--allow",
        &grant,
        "--deny",
        "resolve=*.evil.test",
        "--allow",
        "resolve=*.test",
        "--resolve",
        "x.evil.test=127.0.0.1",
        P3_PROBE,
        "tcp-connect",
        &by_name,
        "resolve",
        "x.evil.test:80",
        "resolve",
        "2130706433:80",
        "resolve",
        "other.example:80",
    ]);
    assert_eq!(code, 0, "{err}");
    expect(&out, &format!("tcp-connect {by_name}: ok 127.0.0.1:{port}"));
    expect(&out, "resolve x.evil.test:80: error access-denied");
    expect(&out, "resolve 2130706433:80: error invalid-argument");
    expect(&out, "resolve other.example:80: error access-denied");
    assert!(
        err.contains("denied resolve x.evil.test by --deny resolve=*.evil.test"),
        "{err}"
    );
}

#[test]
fn wasi_0_3_guests_never_see_refused_peers() {
    tokio_rt().block_on(async {
        accept_only_from_the_granted_peer(
            P3_PROBE,
            &["tcp-listen", "127.0.0.7:0", "tcp-accept"],
            "tcp-listen 127.0.0.7:0: ok",
        )
        .await;
        receive_only_from_the_granted_peer(
            P3_PROBE,
            &["udp-bind", "127.0.0.7:0", "udp-recv"],
            "udp-bind 127.0.0.7:0: ok",
        )
        .await;
        a_reply_from_the_contacted_peer_alone(P3_PROBE).await;
    });
}

/// The denial lines of a run, with the instance's number taken out.
fn denial_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains("denied "))
        .map(|l| {
            l.split_whitespace()
                .filter(|w| !w.starts_with("instance="))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn a_denial_reads_the_same_from_every_interface() {
    // One refused connect and one refused bind, from wasock's interface,
    // from std::net over wasi:sockets@0.2, and from wasi:sockets@0.3: the
    // same decision, explained in the same words.
    let rules = [
        "--allow",
        "tcp-connect=127.0.0.1:*",
        "--deny",
        "tcp-connect=127.0.0.2:*",
    ];
    let mut seen = Vec::new();
    for program in [PROBE, STD_PROBE, P3_PROBE] {
        let mut args = vec!["run"];
        args.extend_from_slice(&rules);
        args.extend([
            program,
            "tcp-connect",
            "127.0.0.2:9",
            "tcp-connect",
            "127.0.0.3:9",
        ]);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{program}: {out:?}\n{err}");
        let lines = denial_lines(&err);
        assert_eq!(lines.len(), 2, "{program}: {err}");
        seen.push((program, lines));
    }
    for (program, lines) in &seen[1..] {
        assert_eq!(lines, &seen[0].1, "{program} against {}", seen[0].0);
    }
}

#[test]
fn unicode_names_meet_their_idna_form_in_every_interface() {
    // The grant is written in Unicode; lookups come in both spellings, and
    // a name outside the grant in either spelling is refused by the same
    // rule. A name IDNA cannot convert is refused before any rule.
    let rules = [
        "--resolve",
        "bücher.test=127.0.0.1",
        "--resolve",
        "xn--mnchen-3ya.test=127.0.0.2",
        "--allow",
        "resolve=bücher.test",
    ];
    for (program, suffix) in [(PROBE, ""), (STD_PROBE, ":80"), (P3_PROBE, ":80")] {
        let names = [
            "BÜCHER.test",
            "xn--bcher-kva.test",
            "münchen.test",
            "a\u{FFFD}.test",
        ]
        .map(|n| format!("{n}{suffix}"));
        let mut args = vec!["run"];
        args.extend_from_slice(&rules);
        args.push(program);
        for name in &names {
            args.extend(["resolve", name.as_str()]);
        }
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{program}: {out:?}\n{err}");
        expect(&out, &format!("resolve {}: ok 127.0.0.1", names[0]));
        expect(&out, &format!("resolve {}: ok 127.0.0.1", names[1]));
        // std's errors carry no WASI code (only their kind).
        let (denied, invalid) = if program == STD_PROBE {
            ("error", "error")
        } else {
            ("error access-denied", "error invalid-argument")
        };
        expect(&out, &format!("resolve {}: {denied}", names[2]));
        expect(&out, &format!("resolve {}: {invalid}", names[3]));
        // The denial names the name in the form the rules use.
        assert!(
            err.contains("denied resolve xn--mnchen-3ya.test"),
            "{program}: {err}"
        );
    }
}

/// A datagram socket's connect is a `udp-send` check on the peer (it sets
/// where `send` goes), and joining a multicast group a `udp-bind` check on
/// the group: neither goes through without its grant.
#[test]
fn hole_datagram_connect_and_multicast_join_need_their_grants() {
    let (out, err) = probe(
        &[
            "--allow",
            "udp-bind=127.0.0.1:*",
            "--allow",
            "udp-send=127.0.0.2:9",
        ],
        &[
            "udp-bind",
            "127.0.0.1:0",
            "udp-connect",
            "127.0.0.3:9",
            "udp-connect",
            "127.0.0.2:9",
            "join-multicast",
            "239.1.2.3",
        ],
    );
    expect(&out, "udp-connect 127.0.0.3:9: error access-denied");
    expect(&out, "udp-connect 127.0.0.2:9: ok");
    expect(&out, "join-multicast 239.1.2.3: error access-denied");
    assert!(err.contains("denied udp-send 127.0.0.3:9"), "{err}");
    assert!(err.contains("denied udp-bind 239.1.2.3"), "{err}");
}
