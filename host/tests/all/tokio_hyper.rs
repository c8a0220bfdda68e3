//! `examples/tokio-hyper`: hyper 1 on tokio's own networking, a standard
//! `wasi:sockets` guest under `wasock run` with the minimal policy, driven
//! by real `curl`: keep-alive across requests, a mebibyte echoed, a 404.

use std::net::SocketAddr;

use wasock_test_programs::TOKIO_HYPER;

use crate::common::{Guest, pattern, run_server};
use crate::http_server::{curl, curl_on_one_connection, url};

fn start() -> (Guest, SocketAddr) {
    run_server(TOKIO_HYPER, &[], &[])
}

#[test]
fn hyper_answers_curl_on_one_kept_connection() {
    let (_g, addr) = start();
    let out = curl(&[&url(addr, "/")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from hyper\n");
    // Three requests, one connection: curl connects once and reuses it.
    let urls = [url(addr, "/"), url(addr, "/missing"), url(addr, "/")];
    curl_on_one_connection(&urls, "200:1 404:0 200:0 ");
}

#[test]
fn hyper_echoes_a_mebibyte_whole() {
    let (_g, addr) = start();
    let body = pattern(1 << 20, 7);
    let file = std::env::temp_dir().join(format!("wasock-hyper-body-{}", std::process::id()));
    std::fs::write(&file, &body).unwrap();
    let data = format!("@{}", file.display());
    let out = curl(&["--data-binary", &data, &url(addr, "/echo")]);
    let _ = std::fs::remove_file(&file);
    assert!(
        out.stdout == body,
        "echoed {} bytes, not the same",
        out.stdout.len()
    );
}
