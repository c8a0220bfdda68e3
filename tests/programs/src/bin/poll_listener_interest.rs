//! poll: a listener with a connection waiting is readable, and only that:
//! polled for writability, or for nothing, it reports nothing and the poll
//! waits out its timeout (the host must wait, not spin); the connection is
//! then still there to accept.

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (l, addr) = f.listener();
    let c = f.stream();
    ok("connect", c.connect(wit(addr)));
    check(
        "a waiting connection makes the listener readable",
        poll_one(&l, Readiness::READABLE, Some(Duration::from_secs(5)))
            .contains(Readiness::READABLE),
    );
    for (what, interest) in [
        ("writable", Readiness::WRITABLE),
        ("nothing", Readiness::empty()),
    ] {
        let t0 = now();
        let r = poll_one(&l, interest, Some(Duration::from_millis(300)));
        check(&format!("polled for {what}: nothing"), r.is_empty());
        check(
            &format!("polled for {what}: the timeout was waited out"),
            t0.elapsed() >= Duration::from_millis(300),
        );
    }
    let (_s, peer) = ok("accept", l.accept());
    check_eq("the waiting connection", std_addr(peer), local(&c));
    done();
}
