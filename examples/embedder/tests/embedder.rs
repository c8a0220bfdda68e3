//! The embedder example runs a real guest and counts its decisions.

use wasock_host::policy::Operation;
use wasock_test_programs::{P3_PROBE, PROBE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedder_runs_a_guest_and_reads_its_counters() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let args: Vec<String> = [
        "tcp-connect",
        &target,
        "tcp-connect-new",
        "127.0.0.1:22",
        "tcp-connect-new",
        "10.0.0.1:80",
    ]
    .map(String::from)
    .to_vec();
    let report = embedder::run_guest(PROBE, &args).await.unwrap();
    assert!(report.succeeded);
    assert_eq!(report.counters.allowed(Operation::TcpConnect), 1);
    assert_eq!(report.counters.denied(Operation::TcpConnect), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedder_runs_a_wasi_0_3_guest_under_the_same_policy() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let args: Vec<String> = [
        "tcp-connect",
        &target,
        "tcp-connect",
        "127.0.0.1:22",
        "tcp-connect",
        "10.0.0.1:80",
    ]
    .map(String::from)
    .to_vec();
    let report = embedder::run_wasi_0_3_guest(P3_PROBE, &args).await.unwrap();
    assert!(report.succeeded);
    assert_eq!(report.counters.allowed(Operation::TcpConnect), 1);
    assert_eq!(report.counters.denied(Operation::TcpConnect), 2);
}
