//! Blocking costs no host thread: a hundred guests blocked in `recv` do not
//! stop a hundred-and-first from completing an echo; and waiting costs no
//! CPU: a poll with nothing to report does not loop.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use wasock_host::runtime::GuestExit;
use wasock_test_programs::{POLL_LISTENER_INTEREST, TCP_BLOCK_RECV, TCP_ECHO_CLIENT};

use crate::common::{PATIENCE, allow, prepared, run_in_process, tokio_rt};

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_hundred_blocked_guests_do_not_stop_the_next_one() {
    // Compile before counting threads: compilation has its own pool.
    prepared(TCP_BLOCK_RECV);
    prepared(TCP_ECHO_CLIENT);
    let rt = tokio_rt();
    rt.block_on(async {
        let quiet = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let quiet_addr = quiet.local_addr().unwrap();
        let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let echo_addr = echo.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let policy = allow(&[
            &format!("tcp-connect={quiet_addr}"),
            &format!("tcp-connect={echo_addr}"),
        ]);
        let before = threads();

        let quiet_target = quiet_addr.to_string();
        let mut blocked = Vec::new();
        for _ in 0..100 {
            let (p, t) = (policy.clone(), quiet_target.clone());
            blocked.push(tokio::spawn(async move {
                run_in_process(TCP_BLOCK_RECV, &[&t], p).await
            }));
        }
        // All hundred are connected, hence blocked in recv.
        let mut held = Vec::new();
        for _ in 0..100 {
            let (s, _) = tokio::time::timeout(PATIENCE, quiet.accept())
                .await
                .unwrap()
                .unwrap();
            held.push(s);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            blocked.iter().all(|h| !h.is_finished()),
            "a blocked guest finished early"
        );

        let echo_target = echo_addr.to_string();
        let next = tokio::time::timeout(
            PATIENCE,
            run_in_process(TCP_ECHO_CLIENT, &[&echo_target, "65536"], policy),
        )
        .await
        .expect("the 101st guest was starved");
        assert!(matches!(next.exit, GuestExit::Exited(0)), "{:?}", next.exit);
        assert!(next.stdout.contains("ok echoed 65536"), "{}", next.stdout);

        let during = threads();
        assert!(
            during < before + 10,
            "threads grew from {before} to {during} with 100 blocked guests"
        );

        // Release them: each receives one byte and ends cleanly.
        for s in &mut held {
            s.write_all(b"x").await.unwrap();
        }
        for h in blocked {
            let done = tokio::time::timeout(PATIENCE, h).await.unwrap().unwrap();
            assert!(matches!(done.exit, GuestExit::Exited(0)), "{:?}", done.exit);
            assert!(done.stdout.contains("ok received 1"), "{}", done.stdout);
        }
    });
}

/// CPU time the calling thread has used so far.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill, for a clock every Linux has.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) },
        0
    );
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A poll with nothing to report waits without using the CPU. The guest
/// polls a listener that has a connection waiting for writability, then
/// for nothing, 300 ms each: a kept connection used to wake such a poll
/// at once with nothing to report, round and round until the timeout,
/// holding the host's thread (for ever without a timeout). On a
/// single-threaded runtime, as `wasock run` has, the thread's CPU time is
/// the guest's and the host's alone.
#[test]
fn a_poll_with_nothing_to_report_does_not_spin() {
    prepared(POLL_LISTENER_INTEREST);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let policy = allow(&[
        "tcp-bind=127.0.0.1:*",
        "tcp-connect=127.0.0.1:*",
        "tcp-accept=127.0.0.1:*",
    ]);
    let start = thread_cpu();
    let done = rt.block_on(async {
        tokio::time::timeout(
            PATIENCE,
            run_in_process(POLL_LISTENER_INTEREST, &["ipv4"], policy),
        )
        .await
        .expect("the guest finishes")
    });
    let used = thread_cpu() - start;
    assert!(
        matches!(done.exit, GuestExit::Exited(0)) && done.stdout.contains("ok done"),
        "{:?}\n{}",
        done.exit,
        done.stdout
    );
    assert!(
        used < Duration::from_millis(200),
        "600 ms of polling with nothing to report used {used:?} of CPU"
    );
}

/// A blocking connect that runs out its send-timeout (a listener whose
/// queue is full) says timed-out and leaves the handshake under way: a
/// second connect is `already`, and it completes once there is room.
#[test]
fn a_timed_out_connect_goes_on_in_the_background() {
    for family in ["ipv4", "ipv6"] {
        let mut args = vec!["run"];
        args.extend_from_slice(crate::common::LOOPBACK_GRANTS);
        args.extend([wasock_test_programs::CONNECT_TIMEOUT, family]);
        let (code, out, err) = crate::common::run(&args);
        assert_eq!(code, 0, "{family}: {out:?}\n{err}");
        assert_eq!(
            out.last().map(String::as_str),
            Some("ok done"),
            "{family}: {out:?}"
        );
    }
}
