//! Bad guest input: oversized receives, closed and foreign handles, random
//! calls of wasock's interface and of `wasi:sockets`. The guest may trap;
//! the host never does.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;

use wasock_host::runtime::{GuestExit, Limits, PinnedNames, WasockCtx};
use wasock_test_programs::{
    FUZZ_P3, FUZZ_SOCKETS, FUZZ_WASI, MISUSE_CLOSED_HANDLE, MISUSE_FOREIGN_HANDLE,
    MISUSE_FORGED_HANDLE, P3_ABUSE, TCP_ECHO_CLIENT, TCP_RECV_HUGE,
};

use crate::common::{Finished, PATIENCE, allow, run, run_in_process, spawn_in_process, tokio_rt};

#[test]
fn a_four_gibibyte_receive_is_capped_not_allocated() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        // More than the cap, then the end of the stream.
        let _ = s.write_all(&vec![7u8; 3 << 20]);
    });
    let target = format!("127.0.0.1:{port}");
    let grant = format!("tcp-connect=127.0.0.1:{port}");
    let (code, out, err) = run(&["run", "--allow", &grant, TCP_RECV_HUGE, &target]);
    server.join().unwrap();
    assert_eq!(code, 0, "{err}");
    let cap = Limits::default().max_recv;
    assert_eq!(
        out.last().unwrap(),
        &format!("ok received {cap}"),
        "{out:?}"
    );
}

fn assert_traps(program: &str) {
    assert_traps_with(program, &[]);
}

fn assert_traps_with(program: &str, args: &[&str]) {
    let mut argv = vec!["run", program];
    argv.extend_from_slice(args);
    let (code, out, err) = run(&argv);
    assert_eq!(code, 134, "stdout {out:?}\nstderr {err}");
    assert!(out.iter().all(|l| !l.contains("not trapped")), "{out:?}");
    assert!(err.contains("the guest trapped"), "{err}");
    assert!(!err.contains("panicked"), "the host panicked: {err}");
}

#[test]
fn a_closed_handle_traps_the_guest() {
    assert_traps(MISUSE_CLOSED_HANDLE);
}

#[test]
fn a_closed_handle_traps_the_guest_in_send() {
    // `send` is linked by hand (it reads the guest's memory in place).
    assert_traps_with(MISUSE_CLOSED_HANDLE, &["send"]);
}

#[test]
fn a_handle_of_another_type_traps_the_guest() {
    assert_traps(MISUSE_FOREIGN_HANDLE);
}

#[test]
fn a_forged_handle_traps_the_guest() {
    assert_traps(MISUSE_FORGED_HANDLE);
}

#[test]
fn a_trapping_guest_ends_alone() {
    let rt = tokio_rt();
    rt.block_on(async {
        // A native echo server for the survivor to talk to.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let policy = allow(&[&format!("tcp-connect={addr}")]);
        let target = addr.to_string();
        let trapping = tokio::spawn(run_in_process(MISUSE_CLOSED_HANDLE, &[], policy.clone()));
        let trapped = trapping.await.unwrap();
        assert!(
            matches!(trapped.exit, GuestExit::Trapped(_)),
            "{:?}",
            trapped.exit
        );
        let survivor = run_in_process(TCP_ECHO_CLIENT, &[&target, "100000"], policy).await;
        assert!(
            matches!(survivor.exit, GuestExit::Exited(0)),
            "{:?}",
            survivor.exit
        );
        assert!(
            survivor.stdout.contains("ok echoed 100000"),
            "{}",
            survivor.stdout
        );
    });
}

/// How many seeds the fuzzing tests run (`WASOCK_FUZZ_SEEDS`, default 24).
fn fuzz_seeds() -> u64 {
    std::env::var("WASOCK_FUZZ_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24)
}

/// The context the fuzzing guests run in: loopback only, whatever addresses
/// the fuzzer draws, so that nothing else is reached; and one name,
/// `x.test`, pinned to the IPv4 loopback address.
fn fuzz_ctx() -> WasockCtx {
    let mut pinned = PinnedNames::new();
    pinned
        .pin("x.test", ["127.0.0.1".parse().unwrap()])
        .unwrap();
    let policy = allow(&[
        "tcp-bind=127.0.0.1:*",
        "tcp-bind=[::1]:*",
        "tcp-connect=127.0.0.1:*",
        "tcp-connect=[::1]:*",
        "tcp-accept=127.0.0.0/8:*",
        "tcp-accept=[::1]:*",
        "udp-bind=127.0.0.1:*",
        "udp-bind=[::1]:*",
        "udp-send=127.0.0.1:*",
        "udp-send=[::1]:*",
        "udp-recv=127.0.0.0/8:*",
        "resolve=x.test",
    ]);
    WasockCtx::builder()
        .policy(policy)
        .pinned_names(Arc::new(pinned))
        .build()
}

#[test]
fn random_socket_calls_never_hurt_the_host() {
    tokio_rt().block_on(async {
        for seed in 1..=fuzz_seeds() {
            let done = spawn_in_process(FUZZ_SOCKETS, &[&seed.to_string(), "1500"], fuzz_ctx())
                .finish()
                .await;
            assert!(
                matches!(done.exit, GuestExit::Exited(0))
                    && done.stdout.contains("ok fuzzed 1500 calls"),
                "seed {seed}: {:?}\n{}",
                done.exit,
                done.stdout
            );
        }
    });
}

/// Run `fuzz_wasi` with `args` in process under [`fuzz_ctx`], within
/// [`PATIENCE`].
async fn fuzz_wasi(args: &[&str]) -> Finished {
    let running = spawn_in_process(FUZZ_WASI, args, fuzz_ctx());
    tokio::time::timeout(PATIENCE, running.finish())
        .await
        .unwrap_or_else(|_| panic!("fuzz_wasi {args:?} did not end within {PATIENCE:?}"))
}

#[test]
fn random_wasi_socket_calls_never_hurt_the_host() {
    // Standard wasi:sockets calls (the raw WASI 0.2 bindings): the guest
    // checks what the WIT promises, and prints `FAIL` and exits 1 if a
    // promise is broken.
    tokio_rt().block_on(async {
        for seed in 1..=fuzz_seeds() {
            let done = fuzz_wasi(&[&seed.to_string(), "1500"]).await;
            assert!(
                matches!(done.exit, GuestExit::Exited(0))
                    && done.stdout.contains("ok fuzzed 1500 calls"),
                "seed {seed}: {:?}\n{}",
                done.exit,
                done.stdout
            );
        }
    });
}

#[test]
fn random_wasi_0_3_socket_calls_never_hurt_the_host() {
    // wasi:sockets@0.3 calls through the `wasip3` crate, a quarter of them
    // cancelled at a random point: the guest checks what the WIT promises,
    // and prints `FAIL` and exits 1 if a promise is broken.
    tokio_rt().block_on(async {
        for seed in 1..=fuzz_seeds() {
            let args = [seed.to_string(), "1500".to_string()];
            let running = spawn_in_process(FUZZ_P3, &[&args[0], &args[1]], fuzz_ctx());
            let done = tokio::time::timeout(PATIENCE, running.finish())
                .await
                .unwrap_or_else(|_| panic!("fuzz_p3 {seed} did not end within {PATIENCE:?}"));
            assert!(
                matches!(done.exit, GuestExit::Exited(0))
                    && done.stdout.contains("ok fuzzed 1500 calls"),
                "seed {seed}: {:?}\n{}",
                done.exit,
                done.stdout
            );
        }
    });
}

/// How many misuses `fuzz_wasi SEED STEPS misuse` chooses from (`SEED %
/// 18`; `SEED / 18` picks the family): as many as the guest's `MISUSES`.
const WASI_MISUSES: u64 = 18;

#[test]
fn wasi_socket_misuse_traps_only_that_instance() {
    // Each misuse of wasi:sockets (writing or sending past the permit,
    // dropping a socket or stream before its children, a dropped handle, a
    // handle of another type, one never given out), after some random
    // calls, in both families: all at once, alongside a guest that must
    // run to its end untouched.
    tokio_rt().block_on(async {
        let survivor = tokio::spawn(fuzz_wasi_owned(vec!["7".into(), "1500".into()]));
        let misusers: Vec<_> = (0..2 * WASI_MISUSES)
            .map(|seed| {
                let args = vec![seed.to_string(), "100".into(), "misuse".into()];
                (seed, tokio::spawn(fuzz_wasi_owned(args)))
            })
            .collect();
        let mut kinds = std::collections::BTreeSet::new();
        for (seed, task) in misusers {
            let done = task.await.unwrap();
            let about = done
                .stdout
                .lines()
                .find(|l| l.contains("about to trap"))
                .unwrap_or_else(|| panic!("seed {seed}: no misuse announced:\n{}", done.stdout));
            kinds.insert(about.split(':').next().unwrap().to_string());
            assert!(
                matches!(done.exit, GuestExit::Trapped(_)) && !done.stdout.contains("survived"),
                "seed {seed}: the misuse did not trap: {:?}\n{}",
                done.exit,
                done.stdout
            );
        }
        assert_eq!(
            kinds.len() as u64,
            WASI_MISUSES,
            "the guest's misuses are not the {WASI_MISUSES} expected: {kinds:?}"
        );
        let survivor = survivor.await.unwrap();
        assert!(
            matches!(survivor.exit, GuestExit::Exited(0))
                && survivor.stdout.contains("ok fuzzed 1500 calls"),
            "the guest alongside: {:?}\n{}",
            survivor.exit,
            survivor.stdout
        );
    });
}

/// [`fuzz_wasi`] with owned arguments, for `tokio::spawn`.
async fn fuzz_wasi_owned(args: Vec<String>) -> Finished {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fuzz_wasi(&args).await
}

// --- WASI 0.3 (`wasi:sockets@0.3`) ---

/// Run `p3_abuse` in `args`' mode under the loopback rules and `limits`;
/// it must end well and say `ok`.
fn abuse(args: &[&str], limits: Limits) -> Finished {
    let ctx = WasockCtx::builder()
        .policy(allow(&[
            "tcp-bind=127.0.0.1:*",
            "tcp-connect=127.0.0.1:*",
            "tcp-accept=127.0.0.1:*",
            "udp-bind=127.0.0.1:*",
            "udp-send=127.0.0.1:*",
            "udp-recv=127.0.0.1:*",
            "resolve=localhost",
        ]))
        .limits(limits)
        .build();
    let done = tokio_rt().block_on(async {
        tokio::time::timeout(PATIENCE, spawn_in_process(P3_ABUSE, args, ctx).finish())
            .await
            .unwrap_or_else(|_| panic!("p3_abuse {args:?} did not finish"))
    });
    assert!(
        matches!(done.exit, GuestExit::Exited(0)) && done.stdout.contains(": ok"),
        "p3_abuse {args:?}: {:?}\n{}{}",
        done.exit,
        done.stdout,
        done.stderr
    );
    done
}

#[test]
fn wasi_0_3_calls_waiting_at_once_are_bounded() {
    // 500 receives at once with room for 64: the rest are refused at once,
    // with the limit named; cancelling the 64 gives their places back.
    let limits = Limits {
        max_pending_calls: 64,
        ..Limits::default()
    };
    let done = abuse(&["pending", "500"], limits);
    assert!(
        done.stdout.contains("pending: ok refused=436"),
        "{}",
        done.stdout
    );
}

#[test]
fn a_wasi_0_3_guest_that_never_reads_leaves_the_bytes_in_the_socket() {
    // The peer writes until the connection takes no more: what it got to
    // write is what the kernel buffers, not a host-side copy that grows.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let writer = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_write_timeout(Some(std::time::Duration::from_millis(300)))
            .unwrap();
        let chunk = vec![9u8; 64 * 1024];
        let mut written = 0usize;
        while written < 256 << 20 {
            match s.write(&chunk) {
                Ok(n) => written += n,
                Err(_) => break,
            }
        }
        written
    });
    abuse(&["never-read", &addr], Limits::default());
    let written = writer.join().unwrap();
    assert!(
        written < 32 << 20,
        "the peer wrote {written} bytes to a guest that never read"
    );
}

#[test]
fn wasi_0_3_calls_cancelled_at_once_leave_the_instance_working() {
    abuse(&["cancel-everything"], Limits::default());
}

#[test]
fn dropping_either_half_of_a_wasi_0_3_connection_ends_it_cleanly() {
    abuse(&["drop-halves"], Limits::default());
}
