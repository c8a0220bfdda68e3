//! Teardown and scale: ending an instance closes every socket it held,
//! counted in this process's open file descriptors; and a thousand
//! instances, each holding a connection, run at once. One test in its own
//! binary, so that no other test opens descriptors meanwhile.

#[path = "all/common.rs"]
#[allow(dead_code)]
mod common;

use common::{PATIENCE, allow, prepare_on, spawn_in_process, spawn_with, tokio_rt};
use wasock_host::runtime::{GuestExit, Limits, Runner, WasockCtx, pooling_config};
use wasock_test_programs::{BENCH_WASOCK, CHURN, LEAK, P3_ABUSE};

/// This process's open descriptors, with what each refers to.
fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| {
            let target = std::fs::read_link(e.path())
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            format!("{} -> {target}", e.file_name().to_string_lossy())
        })
        // The descriptor `read_dir` itself holds differs between calls.
        .filter(|s| !s.contains("/proc/") || !s.ends_with("/fd"))
        .collect();
    fds.sort();
    fds
}

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 4
}

fn ctx(rules: &[&str]) -> WasockCtx {
    WasockCtx::builder().policy(allow(rules)).build()
}

#[test]
fn instances_close_what_they_hold_and_a_thousand_run_at_once() {
    let rt = tokio_rt();
    rt.block_on(async {
        // Warm up: compile, start the runtime's threads and the reactor.
        // Each component's first instance maps its memory image once (a
        // memfd kept with the compiled component): run each once first.
        let churn1 = spawn_in_process(CHURN, &["1"], ctx(&["tcp-bind=127.0.0.1:*", "tcp-connect=127.0.0.1:*", "tcp-accept=127.0.0.1:*"]));
        assert!(matches!(churn1.finish().await.exit, GuestExit::Exited(0)));
        let warm = spawn_in_process(LEAK, &[], ctx(&["tcp-bind=127.0.0.1:*", "tcp-connect=127.0.0.1:*", "tcp-accept=127.0.0.1:*", "udp-bind=127.0.0.1:*"]));
        assert!(matches!(warm.finish().await.exit, GuestExit::Exited(0)));
        let before = open_fds();

        // 10,000 connect/accept/close cycles in one guest.
        let churn = spawn_in_process(CHURN, &["10000"], ctx(&["tcp-bind=127.0.0.1:*", "tcp-connect=127.0.0.1:*", "tcp-accept=127.0.0.1:*"]))
            .finish()
            .await;
        assert!(churn.stdout.contains("ok churned 10000"), "{:?} {}", churn.exit, churn.stdout);
        assert_eq!(open_fds(), before, "descriptors after 10,000 connect/accept/close cycles");
        eprintln!("{} descriptors open before and after", before.len());

        // 1,000 instance lifetimes, each ending with four sockets open.
        for round in 0..20 {
            let batch: Vec<_> = (0..50)
                .map(|_| spawn_in_process(LEAK, &[], ctx(&["tcp-bind=127.0.0.1:*", "tcp-connect=127.0.0.1:*", "tcp-accept=127.0.0.1:*", "udp-bind=127.0.0.1:*"])))
                .collect();
            for g in batch {
                let done = g.finish().await;
                assert!(done.stdout.contains("ok leaked"), "round {round}: {:?}", done.exit);
            }
        }
        assert_eq!(open_fds(), before, "descriptors after 1,000 instance lifetimes");

        // 1,000 lifetimes of a WASI 0.3 guest that ends with a listener and
        // its stream, a connection with a send and a receive in flight, and
        // a UDP receive waiting. Its first run builds the WASI 0.3 engine.
        let p3_rules = ["tcp-bind=127.0.0.1:*", "tcp-connect=127.0.0.1:*", "tcp-accept=127.0.0.1:*", "udp-bind=127.0.0.1:*"];
        let warm = spawn_in_process(P3_ABUSE, &["leak"], ctx(&p3_rules)).finish().await;
        assert!(warm.stdout.contains("leak: ok"), "{:?} {}", warm.exit, warm.stdout);
        let before_p3 = open_fds();
        for round in 0..20 {
            let batch: Vec<_> = (0..50).map(|_| spawn_in_process(P3_ABUSE, &["leak"], ctx(&p3_rules))).collect();
            for g in batch {
                let done = g.finish().await;
                assert!(done.stdout.contains("leak: ok"), "round {round}: {:?} {}", done.exit, done.stdout);
            }
        }
        assert_eq!(open_fds(), before_p3, "descriptors after 1,000 WASI 0.3 instance lifetimes");

        // 1,000 instances at once, each holding one open connection, on the
        // pooling allocator that `wasock serve` uses.
        let holder = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hold_addr = holder.local_addr().unwrap();
        let (count_tx, mut count_rx) = tokio::sync::mpsc::unbounded_channel();
        let server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = holder.accept().await {
                held.push(s);
                let _ = count_tx.send(held.len());
            }
        });
        let pooled = Runner::with_config(&pooling_config(1100, Limits::default().max_memory)).unwrap();
        let pre = prepare_on(&pooled, BENCH_WASOCK);
        let warm = spawn_with(pooled.clone(), pre.clone(), BENCH_WASOCK, &["warm-up"], ctx(&[])).finish().await;
        assert!(matches!(warm.exit, GuestExit::Exited(_)));
        let before = open_fds();
        let rss_before = rss_kib();
        let grant = format!("tcp-connect={hold_addr}");
        let args = ["hold".to_string(), hold_addr.to_string(), "1".into(), "0".into()];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let running: Vec<_> = (0..1000)
            .map(|_| spawn_with(pooled.clone(), pre.clone(), BENCH_WASOCK, &args, ctx(&[&grant])))
            .collect();
        let mut connected = 0;
        while connected < 1000 {
            connected = tokio::time::timeout(PATIENCE, count_rx.recv()).await.expect("connections").unwrap();
        }
        for g in &running {
            g.line_containing("holding 1").await;
        }
        let rss_after = rss_kib();
        assert!(running.iter().all(|g| !g.task.is_finished()), "an instance ended early");
        eprintln!(
            "1000 instances each holding a connection: host memory {} KiB per instance (connection included)",
            (rss_after.saturating_sub(rss_before)) / 1000
        );
        for g in running {
            g.task.abort();
            let _ = g.task.await;
        }
        server.abort();
        let _ = server.await;
        // The listener that held the peers' ends is gone too: no descriptor
        // is left that was not there before.
        let after = open_fds();
        let new: Vec<_> = after.iter().filter(|fd| !before.contains(fd)).collect();
        assert!(new.is_empty(), "descriptors left after 1,000 concurrent instances ended: {new:?}");
    });
}
