//! Provider components composed with apps (`--provider`, `wasock compose`):
//! the tap layer's counts, quota and log; the host's policy below a layer;
//! stacked layers; and providers that are not what they claim, or trap.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;

use wasock_host::runtime::{GuestExit, WasockCtx};
use wasock_test_programs::{
    HTTP_HELLO, MIXED_SOCKETS, PROVIDER_FAULTY, PROVIDER_MEMNET, PROVIDER_TAP, STREAM_CONNECT,
    TCP_ECHO, TCP_ECHO_CLIENT, WASI_STD,
};

use crate::common::{Guest, PATIENCE, allow, composed, run, spawn_in_process, tokio_rt};

/// A native echo server for `connections` connections, on its own thread.
fn echo_server(connections: usize) -> (u16, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        for _ in 0..connections {
            let (mut s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(PATIENCE)).unwrap();
            let mut buf = [0u8; 65536];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
        }
    });
    (port, t)
}

/// The `sent=` and `received=` values in a line of the tap's.
fn counts(line: &str) -> (u64, u64) {
    let value = |key: &str| {
        line.split([' ', ';'])
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {key} in {line:?}"))
    };
    (value("sent="), value("received="))
}

/// The counts of the tap's lines for connections to `peer` that closed.
fn closed_counts(stderr: &str, peer: &str) -> Vec<(u64, u64)> {
    let prefix = format!("tap: closed {peer} ");
    stderr
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(counts)
        .collect()
}

/// What `tcp_echo_client` reported, sending `bytes` to a native echo
/// server through `layers` (`--provider` files, in order) with the grant
/// to connect to it and `flags` for `wasock run`: exit code, stdout,
/// stderr, and the server's address.
fn echo_client_on(
    layers: &[&str],
    flags: &[&str],
    bytes: &str,
) -> (i32, Vec<String>, String, String) {
    let (port, server) = echo_server(1);
    let peer = format!("127.0.0.1:{port}");
    let grant = format!("tcp-connect={peer}");
    let mut args = vec!["run", "--allow", &grant];
    args.extend_from_slice(flags);
    for layer in layers {
        args.extend(["--provider", layer]);
    }
    args.extend([TCP_ECHO_CLIENT, &peer, bytes]);
    let (code, out, err) = run(&args);
    server.join().unwrap();
    (code, out, err, peer)
}

#[test]
fn the_tap_counts_each_connection_and_logs_its_connect() {
    let (code, out, err, peer) = echo_client_on(&[PROVIDER_TAP], &[], "100000");
    assert_eq!(code, 0, "{out:?}\n{err}");
    assert_eq!(out.last().map(String::as_str), Some("ok echoed 100000"));
    assert!(err.contains(&format!("tap: connect {peer} ok")), "{err}");
    assert_eq!(
        closed_counts(&err, &peer),
        vec![(100_000, 100_000)],
        "{err}"
    );
}

#[test]
fn the_tap_quota_is_an_error_for_the_app_not_a_trap() {
    let (code, out, err, peer) = echo_client_on(
        &[PROVIDER_TAP],
        &["--env", "WASOCK_TAP_QUOTA=40000"],
        "100000",
    );
    // The client's own report of a failed read or write, and its exit 1.
    assert_eq!(code, 1, "{out:?}\n{err}");
    assert_eq!(
        out.last().map(String::as_str),
        Some("error access-denied"),
        "{err}"
    );
    assert!(!err.contains("trap"), "{err}");
    // The app exits without closing its socket, so the tap's word on the
    // quota carries the connection's counts.
    let line = err
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "tap: quota of 40000 bytes (WASOCK_TAP_QUOTA) used up at {peer} "
            ))
        })
        .unwrap_or_else(|| panic!("no quota line in:\n{err}"));
    let (sent, received) = counts(line);
    assert_eq!(sent + received, 40_000, "{err}");
}

#[test]
fn the_host_refuses_what_the_policy_does_not_grant_through_a_layer() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let peer = l.local_addr().unwrap().to_string();
    let (code, out, err) = run(&[
        "run",
        "--allow",
        "tcp-connect=127.0.0.1:1",
        "--provider",
        PROVIDER_TAP,
        TCP_ECHO_CLIENT,
        &peer,
        "10",
    ]);
    assert_eq!((code, out), (1, vec!["error access-denied".to_string()]));
    // The host's denial, naming the instance; the tap saw the refusal.
    let denial = err
        .lines()
        .find(|l| l.contains(&format!("denied tcp-connect {peer}")))
        .unwrap_or_else(|| panic!("no denial in:\n{err}"));
    assert!(denial.contains("instance="), "{denial}");
    assert!(
        err.contains(&format!("tap: connect {peer} access-denied")),
        "{err}"
    );
    assert_eq!(
        l.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

#[test]
fn layers_stack_each_on_the_next() {
    // tap on faulty on tap on the host: every call goes through all three.
    let (code, out, err, peer) =
        echo_client_on(&[PROVIDER_TAP, PROVIDER_FAULTY, PROVIDER_TAP], &[], "5000");
    assert_eq!(code, 0, "{out:?}\n{err}");
    assert_eq!(out.last().map(String::as_str), Some("ok echoed 5000"));
    assert_eq!(
        err.matches(&format!("tap: connect {peer} ok")).count(),
        2,
        "{err}"
    );
    assert_eq!(closed_counts(&err, &peer), vec![(5000, 5000); 2], "{err}");
}

#[test]
fn compose_writes_a_component_that_runs_as_the_flag_would() {
    let (port, server) = echo_server(1);
    let peer = format!("127.0.0.1:{port}");
    let grant = format!("tcp-connect={peer}");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("compose-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let out_path = dir.join("client-tapped.wasm");
    let out_str = out_path.to_str().unwrap();
    let (code, _, err) = run(&[
        "compose",
        "-o",
        out_str,
        "--provider",
        PROVIDER_TAP,
        TCP_ECHO_CLIENT,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&["run", "--allow", &grant, out_str, &peer, "1000"]);
    assert_eq!(code, 0, "{out:?}\n{err}");
    assert_eq!(closed_counts(&err, &peer), vec![(1000, 1000)], "{err}");
    server.join().unwrap();
}

/// A component exporting `wasock:sockets/socket` as an instance with other
/// contents than the interface has.
const WRONG_TYPES: &str = r#"
(component
  (core module $m (func (export "f")))
  (core instance $i (instantiate $m))
  (func $f (canon lift (core func $i "f")))
  (instance $socket (export "open" (func $f)))
  (export "wasock:sockets/socket@0.1.0" (instance $socket))
)
"#;

/// `wasock run` with `ARGS`: exit code and stderr.
fn run_err(args: &[&str]) -> (i32, String) {
    let (code, _, err) = run(args);
    (code, err)
}

#[test]
fn a_provider_that_is_not_one_is_named_with_what_it_lacks() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-providers");
    std::fs::create_dir_all(&dir).unwrap();
    let wrong = dir.join("wrong-types.wasm");
    std::fs::write(&wrong, wat::parse_str(WRONG_TYPES).unwrap()).unwrap();
    let text = dir.join("notes.wasm");
    std::fs::write(&text, "not a component").unwrap();
    let wrong = wrong.to_str().unwrap();
    let text = text.to_str().unwrap();

    let missing = dir.join("missing.wasm");
    let missing = missing.to_str().unwrap();
    let cases: [(&str, &str, String); 5] = [
        // A command in place of a provider.
        (
            TCP_ECHO,
            TCP_ECHO_CLIENT,
            format!(
                "provider {TCP_ECHO} does not export `wasock:sockets/socket@0.1.0`, which {TCP_ECHO_CLIENT} imports"
            ),
        ),
        // The interface with other types.
        (
            wrong,
            TCP_ECHO_CLIENT,
            format!(
                "provider {wrong} exports `wasock:sockets/socket@0.1.0` with other types than {TCP_ECHO_CLIENT} imports"
            ),
        ),
        // Not a component at all.
        (
            text,
            TCP_ECHO_CLIENT,
            format!("{text} is not a WebAssembly component"),
        ),
        // A provider that does not exist.
        (
            missing,
            TCP_ECHO_CLIENT,
            format!("cannot read the provider {missing}"),
        ),
        // A command in place of a provider, under a standard guest (std::net
        // over wasi:sockets), which the host serves from the provider's
        // sockets (`runtime::bridge`).
        (
            TCP_ECHO,
            WASI_STD,
            format!("cannot start the provider {TCP_ECHO}: not a provider component"),
        ),
    ];
    for (provider, app, expected) in &cases {
        let (code, err) = run_err(&["run", "--provider", provider, app, "x", "1"]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(expected.as_str()), "{expected}\n{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // The system's reason for a file it cannot read is said once.
    let (_, err) = run_err(&["run", "--provider", missing, TCP_ECHO_CLIENT, "x", "1"]);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    // The same errors from `wasock compose`, which writes nothing then.
    let out = dir.join("never.wasm");
    let compose = |provider: &str, app: &str| {
        run_err(&[
            "compose",
            "-o",
            out.to_str().unwrap(),
            "--provider",
            provider,
            app,
        ])
    };
    let (code, err) = compose(TCP_ECHO, TCP_ECHO_CLIENT);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not export"), "{err}");
    assert!(!out.exists());
    // A standard guest imports nothing a provider serves: `compose` says
    // so (`run` serves it through the bridge instead).
    let (code, err) = compose(PROVIDER_TAP, WASI_STD);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "{WASI_STD} imports none of the wasock socket interfaces"
        )),
        "{err}"
    );
    assert!(!out.exists());
    // `compose` without a provider has nothing to do.
    let (code, err) = run_err(&["compose", "-o", out.to_str().unwrap(), TCP_ECHO_CLIENT]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("give at least one --provider"), "{err}");
    assert!(!out.exists());
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_trap_inside_a_provider_ends_that_instance_alone() {
    let rt = tokio_rt();
    rt.block_on(async {
        // An echo server on the faulty provider, serving on.
        let server_path = composed(TCP_ECHO, &[PROVIDER_FAULTY]);
        let server = spawn_in_process(
            &server_path,
            &["127.0.0.1:0"],
            WasockCtx::builder()
                .policy(allow(&["tcp-bind=127.0.0.1:*", "tcp-accept=127.0.0.1:*"]))
                .build(),
        );
        let line = server.line_containing("listening on").await;
        let addr = line.trim_start_matches("listening on ").to_string();

        // A client on the same provider hits its bug: that instance traps.
        let client_path = composed(TCP_ECHO_CLIENT, &[PROVIDER_FAULTY]);
        let client = spawn_in_process(
            &client_path,
            &["127.0.0.1:9", "1"],
            WasockCtx::builder()
                .policy(allow(&["tcp-connect=127.0.0.1:*"]))
                .build(),
        );
        let done = tokio::time::timeout(PATIENCE, client.finish())
            .await
            .expect("client ends");
        let GuestExit::Trapped(e) = &done.exit else {
            panic!("expected a trap, got {:?}", done.exit);
        };
        assert!(format!("{e:?}").contains("unreachable"), "{e:?}");

        // The server still serves.
        let echoed = tokio::task::spawn_blocking(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(PATIENCE)).unwrap();
            s.write_all(b"still here").unwrap();
            let mut buf = [0u8; 10];
            s.read_exact(&mut buf).unwrap();
            buf
        })
        .await
        .unwrap();
        assert_eq!(&echoed, b"still here");
        assert!(!server.task.is_finished());
        server.task.abort();
    });
    // `wasock run` says so and exits as for any trap.
    let (code, _, err) = run(&[
        "run",
        "--allow",
        "tcp-connect=127.0.0.1:*",
        "--provider",
        PROVIDER_FAULTY,
        TCP_ECHO_CLIENT,
        "127.0.0.1:9",
        "1",
    ]);
    assert_eq!(code, 134, "{err}");
    assert!(err.contains("provider-faulty: connect to port 9"), "{err}");
    // The trap's backtrace names the provider's component.
    assert!(err.contains("provider_faulty.wasm!"), "{err}");
}

#[test]
fn sim_runs_every_guest_of_a_scenario_on_the_providers() {
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/sim/tcp-partition.toml"
    );
    let guest_dir = std::path::Path::new(TCP_ECHO).parent().unwrap();
    let (code, out, err) = run(&[
        "sim",
        "--guest-dir",
        guest_dir.to_str().unwrap(),
        "--provider",
        PROVIDER_TAP,
        scenario,
    ]);
    assert_eq!(code, 0, "{err}");
    let transcript = out.join("\n");
    // Both ends went through the tap, on the simulated network.
    assert!(
        transcript.contains("server  stderr tap: accept 10.0.0.2:"),
        "{transcript}"
    );
    assert!(
        transcript.contains("client  stderr tap: connect 10.0.0.1:5000 ok"),
        "{transcript}"
    );
}

/// One HTTP request to `addr`: the whole response.
fn get(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// `wasock serve` of examples/http-hello on `providers`, one worker.
fn serve_hello_on(providers: &[&str]) -> Guest {
    serve_hello_with(&[], providers)
}

/// [`serve_hello_on`], with `flags` before the rest.
fn serve_hello_with(flags: &[&str], providers: &[&str]) -> Guest {
    let mut args = vec!["serve"];
    args.extend_from_slice(flags);
    args.extend([
        "--listen",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--allow",
        "tcp-accept=127.0.0.1:*",
    ]);
    for p in providers {
        args.extend(["--provider", p]);
    }
    args.push(HTTP_HELLO);
    Guest::spawn(&args)
}

/// `serve --env` reaches the providers composed under the handler, as
/// `run --env` does: the tap's quota ends the handler's reply.
#[test]
fn serve_env_reaches_the_providers() {
    let server = serve_hello_with(&["--env", "WASOCK_TAP_QUOTA=10"], &[PROVIDER_TAP]);
    let addr = server.listening_addr();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(
        out.len() <= 10,
        "{} bytes got past a quota of 10",
        out.len()
    );
    let deadline = std::time::Instant::now() + PATIENCE;
    while !server
        .stderr()
        .contains("tap: quota of 10 bytes (WASOCK_TAP_QUOTA)")
    {
        assert!(std::time::Instant::now() < deadline, "{}", server.stderr());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The host hands over each connection once: a layer that takes again
/// gets not-connected (provider-faulty traps if it gets anything else),
/// and the handler above still serves the first.
#[test]
fn serve_hands_a_connection_over_once() {
    let server = serve_hello_on(&[PROVIDER_FAULTY]);
    let addr = server.listening_addr();
    let response = get(addr);
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "{response}\n{}",
        server.stderr()
    );
    assert!(
        !server.stderr().contains("provider-faulty"),
        "{}",
        server.stderr()
    );
}

#[test]
fn serve_hands_each_connection_down_the_layers() {
    // Two taps: the host hands the connection to the lower one, which hands
    // it to the upper one, whose socket the handler gets.
    let server = serve_hello_on(&[PROVIDER_TAP, PROVIDER_TAP]);
    let addr = server.listening_addr();
    for _ in 0..3 {
        let response = get(addr);
        assert!(
            response.contains("hello from wasock instance"),
            "{response}"
        );
    }
    let deadline = std::time::Instant::now() + PATIENCE;
    while server.stderr().matches("tap: closed").count() < 6 {
        assert!(std::time::Instant::now() < deadline, "{}", server.stderr());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let err = server.stderr();
    assert_eq!(err.matches("tap: handed 127.0.0.1:").count(), 6, "{err}");
    // The handler's bytes went through both layers: each connection's
    // counts, the same in the upper and the lower tap.
    let mut closed: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("tap: closed"))
        .collect();
    closed.sort();
    for pair in closed.chunks(2) {
        assert_eq!(pair[0], pair[1], "{err}");
        assert!(counts(pair[0]).0 > 0, "{err}");
    }
}

#[test]
fn serve_on_a_provider_with_its_own_network_closes_each_connection_with_the_reason() {
    let server = serve_hello_on(&[PROVIDER_MEMNET]);
    let addr = server.listening_addr();
    // memnet cannot adopt a host connection: closed unanswered (reset, as
    // the request was never read).
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => assert!(out.is_empty(), "{out:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
    let deadline = std::time::Instant::now() + PATIENCE;
    while !server.stderr().contains("not-supported") {
        assert!(std::time::Instant::now() < deadline, "{}", server.stderr());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let err = server.stderr();
    assert!(
        err.contains(
            "the connection could not be handed to an instance: the provider refused to take it (not-supported)"
        ),
        "{err}"
    );
    // No handler ran, so none is blamed.
    assert!(!err.contains("the connection handler returned"), "{err}");
}

#[test]
fn the_memory_limit_counts_the_providers_memory_too() {
    // The program alone fits in 2 MiB; on memnet, whose own memory is
    // counted with it, it does not, though each memory alone would.
    let limit = "2MiB";
    let (code, out, err) = run(&["run", "--max-memory", limit, STREAM_CONNECT, "ipv4"]);
    assert!(
        !err.contains("exceeded its memory limit"),
        "{code} {out:?} {err}"
    );
    let (code, out, err) = run(&[
        "run",
        "--max-memory",
        limit,
        "--provider",
        PROVIDER_MEMNET,
        STREAM_CONNECT,
        "ipv4",
    ]);
    assert_eq!(code, 134, "{out:?} {err}");
    assert!(err.contains("exceeded its memory limit"), "{err}");
    let (code, out, err) = run(&[
        "run",
        "--max-memory",
        "8MiB",
        "--provider",
        PROVIDER_MEMNET,
        STREAM_CONNECT,
        "ipv4",
    ]);
    assert_eq!(
        (code, out.last().map(String::as_str)),
        (0, Some("ok done")),
        "{err}"
    );
}

/// `provider` re-wrapped to export only socket, poll and name-lookup: a
/// provider built without `handoff` (as against an older WIT).
fn without_handoff(provider: &str) -> String {
    use wac_graph::types::Package;
    use wac_graph::{CompositionGraph, EncodeOptions};
    let mut graph = CompositionGraph::new();
    let package = Package::from_file("wasock:old", None, provider, graph.types_mut()).unwrap();
    let package = graph.register_package(package).unwrap();
    let instance = graph.instantiate(package);
    for name in [
        "wasock:sockets/socket@0.1.0",
        "wasock:sockets/poll@0.1.0",
        "wasock:sockets/name-lookup@0.1.0",
    ] {
        let export = graph.alias_instance_export(instance, name).unwrap();
        graph.export(export, name).unwrap();
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("old-provider");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("provider_without_handoff.wasm");
    std::fs::write(&path, graph.encode(EncodeOptions::default()).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn serve_refuses_a_provider_that_cannot_take_connections() {
    let old = without_handoff(PROVIDER_TAP);
    let (code, _, err) = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--allow",
        "tcp-accept=127.0.0.1:*",
        "--provider",
        &old,
        HTTP_HELLO,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "provider {old} does not export wasock:sockets/handoff, which serve needs"
        )),
        "{err}"
    );
}

#[test]
fn an_app_that_also_opens_standard_sockets_is_warned_they_bypass_the_providers() {
    // Composition serves wasock's interface only: the std::net socket of
    // a mixed app is the host's, which `wasock run` says.
    let (code, out, err) = run(&[
        "run",
        "--allow",
        "udp-bind=127.0.0.1:*",
        "--provider",
        PROVIDER_TAP,
        MIXED_SOCKETS,
    ]);
    assert_eq!(code, 0, "{out:?}\n{err}");
    assert!(
        out.iter().any(|l| l.starts_with("std 127.0.0.1:")),
        "{out:?}"
    );
    let warning =
        "also imports standard wasi:sockets; those sockets are served by the host directly";
    assert!(err.contains(warning), "{err}");
    // Without a provider there is nothing to warn about.
    let (code, _, err) = run(&["run", "--allow", "udp-bind=127.0.0.1:*", MIXED_SOCKETS]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains(warning), "{err}");
}
