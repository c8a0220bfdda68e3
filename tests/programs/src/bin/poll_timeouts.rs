//! poll: timeout none (waits for readiness), zero (returns at once), and
//! positive (waits at least that long when nothing happens); an empty list
//! sleeps with a timeout and is invalid without one; more entries than the
//! host's limit are invalid.

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    let t0 = now();
    check(
        "zero timeout: nothing",
        poll_one(&c, Readiness::READABLE, Some(Duration::ZERO)).is_empty(),
    );
    check(
        "zero timeout returns at once",
        t0.elapsed() < Duration::from_secs(1),
    );
    let t0 = now();
    let r = poll_one(&c, Readiness::READABLE, Some(Duration::from_millis(150)));
    check("positive timeout: nothing", r.is_empty());
    check(
        "positive timeout waited",
        t0.elapsed() >= Duration::from_millis(150),
    );
    send_all(&s, b"x");
    let r = poll_one(&c, Readiness::READABLE, None);
    check(
        "no timeout: returns when readable",
        r.contains(Readiness::READABLE),
    );
    let t0 = now();
    check_eq(
        "empty list with a timeout sleeps",
        ok("poll", poll(&[], Some(100_000_000))).len(),
        0,
    );
    check(
        "empty list slept",
        t0.elapsed() >= Duration::from_millis(100),
    );
    expect_err(
        "empty list without timeout",
        poll(&[], None),
        ErrorCode::InvalidArgument,
    );
    // The same socket may repeat; one entry more than the host's default
    // limit (65,536) is refused whole.
    let many: Vec<PollEntry> = (0..65_537)
        .map(|_| PollEntry {
            socket: &c,
            interest: Readiness::READABLE,
        })
        .collect();
    expect_err(
        "more entries than the limit",
        poll(&many, Some(0)),
        ErrorCode::InvalidArgument,
    );
    let r = ok("the limit itself", poll(&many[1..], Some(0)));
    check_eq("one result per entry", r.len(), 65_536);
    done();
}
