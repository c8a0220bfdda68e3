//! Bad guest input: oversized receives, closed and foreign handles. The
//! guest may trap; the host never does.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;

use wasock_host::runtime::{GuestExit, Limits};
use wasock_test_programs::{
    MISUSE_CLOSED_HANDLE, MISUSE_FOREIGN_HANDLE, MISUSE_FORGED_HANDLE, TCP_ECHO_CLIENT,
    TCP_RECV_HUGE,
};

use crate::common::{allow, run, run_in_process, tokio_rt};

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

#[test]
fn random_socket_calls_never_hurt_the_host() {
    use wasock_host::runtime::{PinnedNames, WasockCtx};
    use wasock_test_programs::FUZZ_SOCKETS;

    use crate::common::spawn_in_process;

    let seeds: u64 = std::env::var("WASOCK_FUZZ_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    tokio_rt().block_on(async {
        let mut pinned = PinnedNames::new();
        pinned.insert("x.test".into(), vec!["127.0.0.1".parse().unwrap()]);
        let pinned = Arc::new(pinned);
        for seed in 1..=seeds {
            // Loopback only: whatever addresses the fuzzer draws, nothing
            // else is reached.
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
            let ctx = WasockCtx::builder()
                .policy(policy)
                .pinned_names(pinned.clone())
                .build();
            let done = spawn_in_process(FUZZ_SOCKETS, &[&seed.to_string(), "1500"], ctx)
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
