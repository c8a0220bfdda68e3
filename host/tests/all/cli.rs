//! The `wasock` binary as a user runs it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use wasock_test_programs::{P3_HELLO, P3_MAIN, TCP_ECHO};

use std::time::Duration;

use crate::common::{Guest, PATIENCE, run};

/// Send `data` and read the echo concurrently; return what came back.
fn echo_over(addr: SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(crate::common::PATIENCE)).unwrap();
    let mut reader = s.try_clone().unwrap();
    let n = data.len();
    let handle = std::thread::spawn(move || {
        let mut got = Vec::with_capacity(n);
        let mut buf = vec![0; 65536];
        while got.len() < n {
            let k = reader.read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            got.extend_from_slice(&buf[..k]);
        }
        got
    });
    s.write_all(data).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    handle.join().unwrap()
}

fn mib() -> Vec<u8> {
    (0..1 << 20)
        .map(|i: u32| (i * 7 + (i >> 11)) as u8)
        .collect()
}

#[test]
fn echo_example_returns_a_mebibyte_over_ipv4() {
    let g = Guest::spawn(&[
        "run",
        "--allow",
        "tcp-bind=127.0.0.1:*",
        "--allow",
        "tcp-accept=127.0.0.0/8:*",
        TCP_ECHO,
    ]);
    let addr = g.listening_addr();
    assert!(addr.is_ipv4() && addr.port() != 0, "{addr}");
    let data = mib();
    assert!(echo_over(addr, &data) == data, "echo differs");
    // Two clients at once are both served.
    let (a, b) = (echo_over(addr, b"first"), echo_over(addr, b"second"));
    assert_eq!(
        (a.as_slice(), b.as_slice()),
        (&b"first"[..], &b"second"[..])
    );
}

/// At the socket limit (the listener and one client) the echo example
/// stops polling its listener until a client leaves, rather than retrying
/// a failing accept in a loop; the client that waited is served then.
#[test]
fn echo_example_waits_at_the_socket_limit_without_spinning() {
    let g = Guest::at_two_sockets(TCP_ECHO);
    let addr = g.listening_addr();
    let mut first = std::net::TcpStream::connect(addr).unwrap();
    first.set_read_timeout(Some(PATIENCE)).unwrap();
    first.write_all(b"first").unwrap();
    let mut five = [0u8; 5];
    first.read_exact(&mut five).unwrap();
    let mut second = std::net::TcpStream::connect(addr).unwrap();
    second.write_all(b"again").unwrap();
    // Give a spinning server time to show it.
    std::thread::sleep(Duration::from_millis(300));
    drop(first);
    second.set_read_timeout(Some(PATIENCE)).unwrap();
    second.read_exact(&mut five).unwrap();
    assert_eq!(&five, b"again");
    // Once when the accept loop that took the first client looked for
    // another, once when the one that took the second did (an accept at
    // the limit fails, as on Linux, whether or not a connection waits).
    // The second line may follow the echo, so wait for it, then give a
    // spinning server time to write more: it wrote thousands by now.
    let said = "tcp-echo: accept failed";
    g.stderr_once_it_says(said, 2);
    std::thread::sleep(Duration::from_millis(300));
    let err = g.stderr();
    assert_eq!(err.matches(said).count(), 2, "{err}");
}

#[test]
fn echo_example_returns_a_mebibyte_over_ipv6() {
    let g = Guest::spawn(&[
        "run",
        "--allow",
        "tcp-bind=[::1]:*",
        "--allow",
        "tcp-accept=[::1]:*",
        TCP_ECHO,
        "[::1]:0",
    ]);
    let addr = g.listening_addr();
    assert!(addr.is_ipv6(), "{addr}");
    let data = mib();
    assert!(echo_over(addr, &data) == data, "echo differs");
}

#[test]
fn echo_example_without_a_grant_cannot_bind() {
    let (code, stdout, stderr) = run(&["run", TCP_ECHO]);
    assert_ne!(code, 0);
    assert!(stdout.is_empty(), "{stdout:?}");
    assert!(stderr.contains("denied tcp-bind 127.0.0.1:0"), "{stderr}");
    assert!(stderr.contains("--allow tcp-bind=127.0.0.1:0"), "{stderr}");
    assert!(stderr.contains("access-denied"), "{stderr}");
}

/// Everything after the component is the guest's, options included (as
/// with `wasmtime run`): wasock's `--allow`, `--help` or `--timeout` right
/// after the component go to the guest, not to the host.
#[test]
fn options_after_the_component_are_the_guests() {
    for args in [
        &["run", TCP_ECHO, "--allow", "tcp-bind=127.0.0.1:*"][..],
        &["run", TCP_ECHO, "--help"][..],
        &["run", TCP_ECHO, "--timeout", "1ms"][..],
    ] {
        let (code, stdout, stderr) = run(args);
        // tcp-echo takes its first argument as the address to listen on.
        let addr = args[2];
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{stdout:?}");
        assert!(
            stderr.contains(&format!("tcp-echo: cannot listen on {addr}")),
            "{args:?}: {stderr}"
        );
    }
}

/// What `wasock run TCP_ECHO` (denied its bind) writes to stderr with
/// `RUST_LOG=directives`.
fn stderr_with_rust_log(directives: &str) -> String {
    let out = crate::common::wasock()
        .env("RUST_LOG", directives)
        .args(["run", TCP_ECHO])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_guests_policy_counters_are_logged_when_it_ends() {
    let stderr = stderr_with_rust_log("wasock::stats=info");
    assert!(
        stderr.contains(
            "counters: allowed: none; denied: tcp-bind 1; peers dropped: 0 connections, 0 datagrams"
        ),
        "{stderr}"
    );
    // Asking for the counters keeps the default's warnings: every denial.
    assert!(stderr.contains("denied tcp-bind 127.0.0.1:0"), "{stderr}");
    // Not at the default level.
    let (_, _, stderr) = run(&["run", TCP_ECHO]);
    assert!(!stderr.contains("counters:"), "{stderr}");
    // A level for everything replaces the default.
    let stderr = stderr_with_rust_log("error");
    assert!(!stderr.contains("denied tcp-bind"), "{stderr}");
    assert!(stderr.contains("access-denied"), "{stderr}");
}

#[test]
fn connections_from_peers_without_an_accept_grant_are_dropped() {
    let g = Guest::spawn(&["run", "--allow", "tcp-bind=127.0.0.1:*", TCP_ECHO]);
    let addr = g.listening_addr();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(crate::common::PATIENCE)).unwrap();
    let _ = s.write_all(b"hello");
    let mut buf = [0; 8];
    // The host closes the connection without the guest seeing it.
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    drop(g);
}

#[test]
fn an_unparsable_rule_is_refused_before_anything_runs() {
    let (code, stdout, stderr) = run(&["run", "--allow", "tcp-bnd=127.0.0.1:80", TCP_ECHO]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("tcp-bnd=127.0.0.1:80"), "{stderr}");
    assert!(stderr.contains("unknown operation"), "{stderr}");

    let (code, _, stderr) = run(&["run", "--deny", "tcp-connect=::1:80", TCP_ECHO]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("tcp-connect=::1:80") && stderr.contains("brackets"),
        "{stderr}"
    );
}

#[test]
fn a_file_that_is_not_a_component_is_explained() {
    let dir = std::env::temp_dir().join(format!("wasock-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.wasm");
    std::fs::write(&junk, b"this is not wasm").unwrap();
    let (code, _, stderr) = run(&["run", junk.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not a WebAssembly file"), "{stderr}");

    let core = dir.join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let (code, _, stderr) = run(&["run", core.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("core WebAssembly module, not a component"),
        "{stderr}"
    );

    // The same words for a provider that is not a component.
    for (bad, says) in [
        (&junk, "not a WebAssembly file"),
        (&core, "core WebAssembly module, not a component"),
    ] {
        let (code, _, stderr) = run(&[
            "run",
            "--provider",
            bad.to_str().unwrap(),
            wasock_test_programs::TCP_ECHO,
        ]);
        assert_eq!(code, 1);
        assert!(
            stderr.contains(says) && !stderr.contains("wasock:provider"),
            "{stderr}"
        );
    }

    let (code, _, stderr) = run(&["run", dir.join("missing.wasm").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot read"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_wasi_0_3_guest_runs_with_async_timers_and_stdout() {
    // Two timers at once: the shorter ends first only if the guest's tasks
    // really run concurrently on the host.
    let (code, out, err) = run(&["run", P3_HELLO]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        vec!["hello from WASI 0.3: timers 40ms and 10ms ended in the order 10ms, 40ms"],
        "{err}"
    );
    // `run` returning an error is exit status 1, as for a 0.2 guest.
    let (code, out, err) = run(&["run", P3_HELLO, "fail"]);
    assert_eq!(code, 1, "{out:?} {err}");
    assert_eq!(out.len(), 1, "{out:?}");
    // A time limit stops a 0.3 guest waiting on an async timer.
    let (code, out, err) = run(&["run", "--timeout", "300ms", P3_HELLO, "sleep"]);
    assert_eq!(code, 124, "{out:?} {err}");
    assert!(err.contains("time limit"), "{err}");
}

#[test]
fn a_0_2_command_using_async_imports_runs_through_its_0_2_export() {
    let (code, out, err) = run(&["run", P3_MAIN]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, vec!["ok a 0.2 command used a 0.3 stream"], "{err}");
}

/// Removes a file when dropped, whether the test passed or not.
struct RemovedAfter(String);

impl Drop for RemovedAfter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn profile_perfmap_names_the_guests_functions_for_perf() {
    let guest = Guest::spawn(&[
        "run",
        "--profile",
        "perfmap",
        "--allow",
        "tcp-bind=127.0.0.1:0",
        TCP_ECHO,
        "127.0.0.1:0",
    ]);
    let map = RemovedAfter(format!("/tmp/perf-{}.map", guest.pid()));
    guest.listening_addr();
    let text = std::fs::read_to_string(&map.0);
    drop(guest);
    let map = &map.0;
    let text = text.unwrap_or_else(|e| panic!("{map}: {e}"));
    // `ADDRESS SIZE NAME` per compiled function, the guest's own among
    // them by name.
    let guests: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("tcp_echo::main"))
        .collect();
    assert!(!guests.is_empty(), "no tcp_echo::main in {map}:\n{text}");
    for line in guests {
        let fields: Vec<&str> = line.splitn(3, ' ').collect();
        assert!(
            fields.len() == 3
                && u64::from_str_radix(fields[0].trim_start_matches("0x"), 16).is_ok()
                && u64::from_str_radix(fields[1], 16).is_ok_and(|n| n > 0),
            "{line}"
        );
    }
}

#[test]
fn help_documents_every_flag_with_an_example() {
    let (code, stdout, _) = run(&["run", "--help"]);
    assert_eq!(code, 0);
    let help = stdout.join("\n");
    for flag in ["--allow", "--deny", "--env", "--policy", "--resolve"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(
        help.contains("Examples:") && help.contains("wasock run --allow"),
        "{help}"
    );
}

#[test]
fn udp_echo_returns_datagrams_whole_over_ipv4_and_ipv6() {
    use std::net::UdpSocket;
    use wasock_test_programs::UDP_ECHO;
    for (bind, allow_bind, peers) in [
        ("127.0.0.1:0", "udp-bind=127.0.0.1:*", "127.0.0.0/8:*"),
        ("[::1]:0", "udp-bind=[::1]:*", "[::1]:*"),
    ] {
        let recv = format!("udp-recv={peers}");
        let send = format!("udp-send={peers}");
        let g = Guest::spawn(&[
            "run", "--allow", allow_bind, "--allow", &recv, "--allow", &send, UDP_ECHO, bind,
        ]);
        let addr = g.listening_addr();
        let client = UdpSocket::bind(if addr.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        })
        .unwrap();
        client
            .set_read_timeout(Some(crate::common::PATIENCE))
            .unwrap();
        let sizes = [1usize, 512, 0, 9000, 3];
        for n in sizes {
            let msg: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            client.send_to(&msg, addr).unwrap();
        }
        let mut buf = vec![0; 65536];
        for n in sizes {
            let (k, from) = client.recv_from(&mut buf).unwrap();
            assert_eq!(from, addr);
            assert_eq!(k, n, "datagram of {n} bytes came back as {k}");
            assert!(
                buf[..k]
                    .iter()
                    .enumerate()
                    .all(|(i, b)| *b == (i % 251) as u8)
            );
        }
    }
}

/// A connection handler or a provider given to `wasock run` is told how it
/// is run instead.
#[test]
fn run_points_a_handler_to_serve_and_a_provider_to_its_flag() {
    for (component, says) in [
        (
            wasock_test_programs::ASYNC_ECHO_HANDLER,
            "is a connection handler, not a command (it exports wasock:sockets/handler, not \
             wasi:cli/run); serve it with `wasock serve`",
        ),
        (
            wasock_test_programs::PROVIDER_TAP,
            "is a provider, not a command (it exports wasock:sockets/socket, not wasi:cli/run); \
             run an app on it with `wasock run --provider PROVIDER APP`",
        ),
    ] {
        let (code, _, stderr) = run(&["run", component]);
        assert_ne!(code, 0, "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}

/// `wasock app.wasm` (the subcommand left out) says how to run it.
#[test]
fn a_component_given_as_the_command_is_shown_how_to_run() {
    let (code, _, stderr) = run(&[TCP_ECHO]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "is not a wasock command; to run it: wasock run {TCP_ECHO}"
        )),
        "{stderr}"
    );
    // Any other unknown command gets clap's own message.
    let (code, _, stderr) = run(&["frobnicate"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unrecognized subcommand"), "{stderr}");
}

/// What users of other tools type gets an answer in wasock's terms:
/// wasmtime's `-S` switches, a listen address without its host, an IPv6
/// scope by name in `policy explain`.
#[test]
fn other_tools_habits_are_answered_in_wasock_terms() {
    let (code, _, stderr) = run(&["run", "-S", "inherit-network", TCP_ECHO]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("wasock has no `-S` (wasmtime's WASI switches)")
            && stderr.contains("--allow 'tcp-connect=127.0.0.1:*'"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["serve", "--listen", ":0", TCP_ECHO]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`:0` has no address before the port"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["policy", "explain", "tcp-connect", "[::1%lo]:80"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("a scope as a numeric interface index"),
        "{stderr}"
    );
}
