//! datagram: a connected socket that sends to a port with no listener learns
//! of it (ICMP port unreachable) as connection-refused on a later call.

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    // A port that was bound and is free again.
    let (gone, gone_addr) = f.bound_datagram();
    drop(gone);
    let (a, _) = f.bound_datagram();
    ok("connect", a.connect(wit(gone_addr)));
    ok("send into the void", a.send(b"anyone?", SendFlags::empty()));
    // The error arrives asynchronously; poll reports it.
    let r = poll_one(&a, Readiness::READABLE, Some(Duration::from_secs(5)));
    check(
        "poll reports the error",
        r.contains(Readiness::ERROR) || r.contains(Readiness::READABLE),
    );
    expect_err(
        "recv reports it",
        a.recv(16, RecvFlags::empty()),
        ErrorCode::ConnectionRefused,
    );
    done();
}
