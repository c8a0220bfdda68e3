//! The Rust SDK's `std::net` shapes that no provider decides, checked from
//! inside a guest on the native provider over both families: `try_clone`.

use std::sync::Arc;

use crate::common::{Hermetic, allow, run_with_provider, tokio_rt};

#[test]
fn try_clone_shares_one_socket_as_dup_does() {
    let policy = allow(&[
        "tcp-bind=127.0.0.1:*",
        "tcp-bind=[::1]:*",
        "tcp-connect=127.0.0.1:*",
        "tcp-connect=[::1]:*",
        "tcp-accept=127.0.0.1:*",
        "tcp-accept=[::1]:*",
        "udp-bind=127.0.0.1:*",
        "udp-bind=[::1]:*",
        "udp-send=127.0.0.1:*",
        "udp-send=[::1]:*",
        "udp-recv=127.0.0.1:*",
        "udp-recv=[::1]:*",
    ]);
    let rt = tokio_rt();
    for family in ["ipv4", "ipv6"] {
        let done = rt.block_on(run_with_provider(
            wasock_test_programs::SDK_TRY_CLONE,
            &[family],
            policy.clone(),
            Arc::new(Hermetic(wasock_host::net::native::NativeProvider)),
        ));
        done.assert_ok_done();
    }
}
