//! The Rust SDK's `std::net` shapes that no provider decides, checked from
//! inside a guest on the native provider over both families: `try_clone`,
//! `write_vectored`.

use std::sync::Arc;

use crate::common::{Hermetic, allow, run_with_provider, tokio_rt};

/// Run `program` on both loopback families with every operation granted
/// on them; it must end `ok done`.
fn on_both_families(program: &str) {
    let ops = [
        "tcp-bind",
        "tcp-connect",
        "tcp-accept",
        "udp-bind",
        "udp-send",
        "udp-recv",
    ];
    let rules: Vec<String> = ops
        .iter()
        .flat_map(|op| [format!("{op}=127.0.0.1:*"), format!("{op}=[::1]:*")])
        .collect();
    let policy = allow(&rules.iter().map(String::as_str).collect::<Vec<_>>());
    let rt = tokio_rt();
    for family in ["ipv4", "ipv6"] {
        let done = rt.block_on(run_with_provider(
            program,
            &[family],
            policy.clone(),
            Arc::new(Hermetic(wasock_host::net::native::NativeProvider)),
        ));
        done.assert_ok_done();
    }
}

#[test]
fn try_clone_shares_one_socket_as_dup_does() {
    on_both_families(wasock_test_programs::SDK_TRY_CLONE);
}

#[test]
fn a_vectored_write_sends_its_buffers_together() {
    on_both_families(wasock_test_programs::SDK_WRITE_VECTORED);
}
