//! poll: hang-up when the peer has closed and nothing is left to read,
//! reported whatever the interest except to an entry waiting only to
//! send; error when an error is pending.

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    send_all(&s, b"z");
    drop(s);
    let r = poll_one(&c, Readiness::READABLE, Some(Duration::from_secs(5)));
    check("readable with data left", r.contains(Readiness::READABLE));
    check(
        "no hang-up while data is left",
        !r.contains(Readiness::HANG_UP),
    );
    recv_exact(&c, 1);
    let r = poll_one(&c, Readiness::empty(), Some(Duration::from_secs(5)));
    check(
        "hang-up without interest in it",
        r.contains(Readiness::HANG_UP),
    );
    // A writer is told it may send, not that the peer ended: the end does
    // not concern a send.
    let r = poll_one(&c, Readiness::WRITABLE, Some(Duration::from_secs(5)));
    check(
        "writable, without hang-up, for a writer",
        r.contains(Readiness::WRITABLE) && !r.contains(Readiness::HANG_UP),
    );

    // A reset connection reports an error or hang-up.
    let (_l2, c2, s2) = f.connected();
    ok("linger 0", s2.set_option(SocketOption::Linger(Some(0))));
    drop(s2);
    let r = poll_one(&c2, Readiness::empty(), Some(Duration::from_secs(5)));
    check(
        "reset reported",
        r.contains(Readiness::HANG_UP) || r.contains(Readiness::ERROR),
    );
    done();
}
