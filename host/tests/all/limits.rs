//! Every limit, hit: a defined error code, or that instance ends with a
//! message naming the limit; the host and other instances go on.

use std::sync::Arc;
use std::time::Duration;

use wasock_host::runtime::{GuestExit, Limits, Runner, WasockCtx};
use wasock_test_programs::{
    BENCH_WASOCK, LIMIT_MEMORY, LIMIT_POLL_SETS, LIMIT_SOCKETS, PROBE, REPLY_BUDGET, SPIN,
    TCP_BLOCK_RECV, TCP_ECHO_CLIENT, TCP_RECV_HUGE, WASI_LOOKUP_FLOOD,
};

use crate::common::{allow, run, spawn_in_process, spawn_with_runner, tokio_rt};

fn ctx(rules: &[&str], limits: Limits) -> WasockCtx {
    WasockCtx::builder()
        .policy(allow(rules))
        .limits(limits)
        .build()
}

#[test]
fn the_socket_limit_gives_new_socket_limit_and_frees_on_close() {
    tokio_rt().block_on(async {
        let limits = Limits {
            max_sockets: 5,
            ..Limits::default()
        };
        let ctx = ctx(&[], limits);
        let stats = ctx.stats();
        let done = spawn_in_process(LIMIT_SOCKETS, &["100"], ctx)
            .finish()
            .await;
        assert!(matches!(done.exit, GuestExit::Exited(0)), "{:?}", done.exit);
        assert_eq!(
            done.stdout,
            "ok opened 5\nerror new-socket-limit\nok reopened after close\n"
        );
        // The refusal is in the counters, not only in the log.
        let counted = stats.snapshot();
        assert_eq!(counted.limit_refusals, 1, "{counted}");
        assert!(
            counted.to_string().ends_with("; refused at limits: 1"),
            "{counted}"
        );
    });
}

/// An accept needs a socket of its own: at the limit it fails with
/// new-socket-limit, and once a socket is closed it takes the connection
/// that waited.
#[test]
fn an_accept_at_the_socket_limit_fails_until_a_socket_is_closed() {
    tokio_rt().block_on(async {
        let limits = Limits {
            max_sockets: 5,
            ..Limits::default()
        };
        let rules = [
            "tcp-bind=127.0.0.1:0",
            "tcp-connect=127.0.0.1:*",
            "tcp-accept=127.0.0.1:*",
        ];
        let done = spawn_in_process(LIMIT_SOCKETS, &["100", "accept"], ctx(&rules, limits))
            .finish()
            .await;
        assert!(matches!(done.exit, GuestExit::Exited(0)), "{:?}", done.exit);
        assert_eq!(
            done.stdout,
            "ok opened 5\nerror new-socket-limit\nok accepted after close\n"
        );
    });
}

/// At the socket limit, the host says which limit it is and how to raise
/// it (at most once a second: `denials.rs`'s tests).
#[test]
fn the_socket_limit_is_named_once_with_its_flag() {
    let (code, out, err) = run(&["run", "--max-sockets", "5", LIMIT_SOCKETS, "100"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        [
            "ok opened 5",
            "error new-socket-limit",
            "ok reopened after close"
        ]
    );
    let said = "the instance holds 5 sockets, its limit: opening or accepting another fails with new-socket-limit (a WASI 0.3 listener's stream waits instead) until one is closed; raise it with --max-sockets";
    assert_eq!(err.matches(said).count(), 1, "{err}");
}

#[test]
fn poll_sets_are_capped_per_instance_and_freed_on_drop() {
    tokio_rt().block_on(async {
        let done = spawn_in_process(LIMIT_POLL_SETS, &["100"], ctx(&[], Limits::default()))
            .finish()
            .await;
        assert!(matches!(done.exit, GuestExit::Exited(0)), "{:?}", done.exit);
        assert_eq!(
            done.stdout,
            "ok made 16\nerror no-buffer-space\nok made another after a drop\n"
        );
    });
}

#[test]
fn the_receive_limit_caps_each_receive() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let _ = std::io::Write::write_all(&mut s, &vec![1u8; 100_000]);
    });
    let grant = format!("tcp-connect={addr}");
    let (code, out, err) = run(&[
        "run",
        "--allow",
        &grant,
        "--max-recv",
        "4KiB",
        TCP_RECV_HUGE,
        &addr.to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.last().unwrap(), "ok received 4096");
}

#[test]
fn the_datagram_and_buffer_limits_give_their_codes() {
    tokio_rt().block_on(async {
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let t = peer.local_addr().unwrap().to_string();
        let limits = Limits {
            max_datagram: 100,
            max_buffer_bytes: 300_000,
            ..Limits::default()
        };
        let done = spawn_in_process(
            PROBE,
            &["udp-new", "v4", "udp-send", &t],
            ctx(&[&format!("udp-send={t}")], limits),
        )
        .finish()
        .await;
        // `ping` is 4 bytes: within the limit.
        assert!(
            done.stdout.contains(&format!("udp-send {t}: ok")),
            "{}",
            done.stdout
        );
    });
    // Over the datagram limit; over the buffer limit.
    tokio_rt().block_on(async {
        let limits = Limits {
            max_datagram: 3,
            max_buffer_bytes: 300_000,
            ..Limits::default()
        };
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let t = peer.local_addr().unwrap().to_string();
        let done = spawn_in_process(
            PROBE,
            &["udp-new", "v4", "udp-send", &t],
            ctx(&[&format!("udp-send={t}")], limits),
        )
        .finish()
        .await;
        assert!(
            done.stdout
                .contains(&format!("udp-send {t}: error message-size")),
            "{}",
            done.stdout
        );
        let cmds = [
            "udp-new",
            "v4",
            "udp-rcvbuf",
            "200000",
            "udp-new",
            "v4",
            "udp-rcvbuf",
            "200000",
            "udp-rcvbuf",
            "100000",
        ];
        let done = spawn_in_process(PROBE, &cmds, ctx(&[], limits))
            .finish()
            .await;
        let lines: Vec<&str> = done.stdout.lines().collect();
        assert_eq!(lines[1], "udp-rcvbuf 200000: ok", "{}", done.stdout);
        assert_eq!(
            lines[3], "udp-rcvbuf 200000: error no-buffer-space",
            "{}",
            done.stdout
        );
        assert_eq!(lines[4], "udp-rcvbuf 100000: ok", "{}", done.stdout);
    });
}

#[test]
fn linear_memory_past_the_limit_stops_only_that_guest() {
    let (code, out, err) = run(&["run", "--max-memory", "16MiB", LIMIT_MEMORY, "64"]);
    assert_eq!(code, 134, "{out:?} {err}");
    assert!(
        err.contains("exceeded its memory limit") && err.contains("--max-memory"),
        "{err}"
    );
    let (code, out, _) = run(&["run", "--max-memory", "128MiB", LIMIT_MEMORY, "64"]);
    assert_eq!((code, out), (0, vec!["ok allocated 64".to_string()]));
}

/// `wasock run --allow tcp-connect=ADDR --timeout 300ms PROGRAM [ARGS]...`:
/// its exit code and stderr.
fn run_300ms(addr: &str, program_and_args: &[&str]) -> (i32, String) {
    let allow = format!("tcp-connect={addr}");
    let mut all = vec!["run", "--allow", &allow, "--timeout", "300ms"];
    all.extend_from_slice(program_and_args);
    let (code, _, err) = run(&all);
    (code, err)
}

#[test]
fn the_wall_clock_limit_stops_blocked_spinning_and_busy_guests() {
    // Blocked in a receive that never completes.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (code, err) = run_300ms(&addr, &[TCP_BLOCK_RECV, &addr]);
    assert_eq!(code, 124, "{err}");
    assert!(
        err.contains("time limit") && err.contains("--timeout"),
        "{err}"
    );
    // Computing without ever calling the host.
    let (code, out, err) = run(&["run", "--timeout", "300ms", SPIN]);
    assert_eq!(code, 124, "{err}");
    assert_eq!(out, vec!["ok spinning".to_string()]);
    drop(l);

    // Busy in blocking round trips, each answered at once: `wasock run`
    // gives the guest its thread, so every receive waits in place (in the
    // system, not through the reactor) and finds its answer there. The
    // runtime's timer is heard at the epoch's yields.
    let echo = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = echo.local_addr().unwrap().to_string();
    let peer = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut c, _) = echo.accept().unwrap();
        let mut buf = [0u8; 64];
        // Until the guest is gone (bounded: 100 million at most).
        for _ in 0..100_000_000u32 {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if c.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let (code, err) = run_300ms(&addr, &[BENCH_WASOCK, "tcp-rtt", &addr, "100000000", "64"]);
    assert_eq!(code, 124, "{err}");
    peer.join().unwrap();
}

#[test]
fn fuel_stops_a_spinning_guest() {
    let (code, _, err) = run(&["run", "--fuel", "50000000", SPIN]);
    assert_eq!(code, 134, "{err}");
    assert!(
        err.contains("used up its fuel") && err.contains("--fuel"),
        "{err}"
    );
}

#[test]
fn a_spinning_guest_does_not_starve_others_on_the_same_thread() {
    // One thread for everything: the spinner must yield at every epoch tick.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = echo.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let spinner = spawn_in_process(
            SPIN,
            &[],
            ctx(
                &[],
                Limits {
                    timeout: Some(Duration::from_secs(30)),
                    ..Limits::default()
                },
            ),
        );
        spinner.line_containing("ok spinning").await;
        let echo = spawn_in_process(
            TCP_ECHO_CLIENT,
            &[&addr.to_string(), "10000"],
            ctx(&[&format!("tcp-connect={addr}")], Limits::default()),
        )
        .finish()
        .await;
        assert!(echo.stdout.contains("ok echoed 10000"), "{}", echo.stdout);
        assert!(!spinner.task.is_finished());
        spinner.task.abort();
    });
}

#[test]
fn a_fuel_limit_needs_a_runner_built_for_fuel() {
    tokio_rt().block_on(async {
        let limits = Limits {
            fuel: Some(1000),
            ..Limits::default()
        };
        let done = spawn_in_process(SPIN, &[], ctx(&[], limits)).finish().await;
        // A setting the runner cannot honour: no guest ran, and it says so.
        let GuestExit::NotStarted(why) = &done.exit else {
            panic!("{:?}", done.exit)
        };
        assert!(why.contains("Runner::with_fuel"), "{why}");
        assert_eq!(done.exit.code(), 1);
        // With one, it stops the spinner.
        let fueled = Arc::new(Runner::with_fuel(&Runner::default_config()).unwrap());
        let done = spawn_with_runner(fueled, SPIN, &[], ctx(&[], limits))
            .finish()
            .await;
        assert!(
            done.exit.describe().contains("used up its fuel"),
            "{:?}",
            done.exit
        );
    });
}

#[test]
fn bad_limit_values_are_refused_before_anything_runs() {
    for (flag, value, says) in [
        ("--max-sockets", "0", "zero"),
        ("--max-sockets", "many", "not a whole number"),
        ("--max-memory", "12XB", "unknown size unit"),
        ("--timeout", "30", "no unit"),
        ("--timeout", "0s", "zero"),
        ("--fuel", "lots", "not a whole number"),
        ("--max-recv", "0", "zero"),
    ] {
        let (code, out, err) = run(&["run", flag, value, SPIN]);
        assert_eq!(code, 2, "{flag} {value}");
        assert!(out.is_empty(), "{flag} {value} ran the guest");
        assert!(
            err.contains(flag) && err.contains(says),
            "{flag} {value}: {err}"
        );
    }
}

#[test]
fn lookups_in_flight_are_capped_per_instance() {
    // A single-threaded runtime, as `wasock run` has: the guest starts all
    // its lookups before any of them can run, so the count is exact.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let done = rt.block_on(async {
        spawn_in_process(
            WASI_LOOKUP_FLOOD,
            &["localhost", "100"],
            ctx(&["resolve=localhost"], Limits::default()),
        )
        .finish()
        .await
    });
    assert!(matches!(done.exit, GuestExit::Exited(0)), "{:?}", done.exit);
    assert_eq!(
        done.stdout, "started 16 refused 84\nanswered 16\nagain ok\n",
        "at most 16 lookups under way; the rest fail for now, and the slots come back"
    );
}

#[test]
fn the_reply_rule_remembers_a_bounded_number_of_peers() {
    // Waiting through the reactor, and waiting in place first (as under
    // `wasock run`): the 500 ms receive timeout holds either way.
    for in_place in [false, true] {
        reply_budget(in_place);
    }
}

fn reply_budget(in_place: bool) {
    tokio_rt().block_on(async {
        let echo = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = echo.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            while let Ok((n, from)) = echo.recv_from(&mut buf).await {
                let _ = echo.send_to(&buf[..n], from).await;
            }
        });
        let done = spawn_in_process(
            REPLY_BUDGET,
            &[&addr.to_string()],
            WasockCtx::builder()
                .policy(allow(&["udp-bind=127.0.0.1:*", "udp-send=127.0.0.0/8:*"]))
                .wait_in_place(in_place)
                .build(),
        )
        .finish()
        .await;
        assert!(matches!(done.exit, GuestExit::Exited(0)), "{:?}", done.exit);
        assert_eq!(
            done.stdout, "full: TimedOut\nafter close: ping\n",
            "16,384 peers remembered per instance; a closed socket's come back (in place: {in_place})"
        );
    });
}

/// The store's cap on live handles (raised only for the provider layers a
/// component has) still stops a guest that takes handles and never
/// drops them: a trap of that instance, before a million.
#[test]
fn a_guest_that_hoards_handles_is_stopped_by_the_cap() {
    let (code, out, err) = run(&["run", wasock_test_programs::HANDLE_FLOOD]);
    assert_eq!(code, 134, "{out:?}\n{err}");
    assert!(err.contains("handle limit exceeded"), "{err}");
    // wasmtime's own cap: 100,000 live handles for an app without layers.
    let held: Vec<&String> = out.iter().filter(|l| l.starts_with("ok held")).collect();
    assert_eq!(
        held.last().map(|l| l.as_str()),
        Some("ok held 90000"),
        "{out:?}"
    );
}
