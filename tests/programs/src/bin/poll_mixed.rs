//! poll: many sockets of both types in one call; results come back per
//! entry, in order; the same socket may appear twice.

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (l, c, s) = f.connected();
    let (u, _) = f.bound_datagram();
    let (v, v_addr) = f.bound_datagram();
    ok(
        "datagram to v",
        u.send_to(b"dgram", wit(v_addr), SendFlags::empty()),
    );
    send_all(&s, b"stream");
    let c2 = f.stream();
    ok("second client", c2.connect(wit(local(&l))));
    wait_readable(&v);
    wait_readable(&c);
    let entries = [
        PollEntry {
            socket: &l,
            interest: Readiness::READABLE,
        },
        PollEntry {
            socket: &c,
            interest: Readiness::READABLE,
        },
        PollEntry {
            socket: &u,
            interest: Readiness::READABLE,
        },
        PollEntry {
            socket: &v,
            interest: Readiness::READABLE,
        },
        PollEntry {
            socket: &c,
            interest: Readiness::WRITABLE,
        },
        PollEntry {
            socket: &s,
            interest: Readiness::READABLE,
        },
    ];
    let r = ok(
        "poll",
        poll(&entries, Some(Duration::from_secs(5).as_nanos() as u64)),
    );
    check_eq("one result per entry", r.len(), entries.len());
    check(
        "listener readable (pending connection)",
        r[0].contains(Readiness::READABLE),
    );
    check("stream readable", r[1].contains(Readiness::READABLE));
    check("idle datagram socket not ready", r[2].is_empty());
    check(
        "datagram socket readable",
        r[3].contains(Readiness::READABLE),
    );
    check(
        "same stream writable in its second entry",
        r[4] == Readiness::WRITABLE,
    );
    check("idle server side not ready", r[5].is_empty());
    ok("accept the pending one", l.accept());
    done();
}
