//! poll: readiness is truthful: nothing ready is never reported ready, even
//! after data was read to the last byte without a would-block in between.

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (l, c, s) = f.connected();
    let zero = Some(Duration::ZERO);
    check(
        "fresh connection not readable",
        !poll_one(&c, Readiness::READABLE, zero).contains(Readiness::READABLE),
    );
    check(
        "fresh connection writable",
        poll_one(&c, Readiness::WRITABLE, zero).contains(Readiness::WRITABLE),
    );
    check(
        "listener with nothing pending not readable",
        poll_one(&l, Readiness::READABLE, zero).is_empty(),
    );
    for round in 0..3 {
        send_all(&s, b"0123456789");
        wait_readable(&c);
        // Read exactly what is there: no would-block happens.
        check_eq("read it all", recv_exact(&c, 10).len(), 10);
        check_eq(
            "nothing queued",
            ok("bytes-available", c.bytes_available()),
            0,
        );
        let r = poll_one(&c, Readiness::READABLE, zero);
        check(
            &format!("not readable once drained (round {round})"),
            !r.contains(Readiness::READABLE),
        );
        let r = poll_one(&c, Readiness::READABLE, Some(Duration::from_millis(50)));
        check(
            &format!("still not readable after waiting (round {round})"),
            !r.contains(Readiness::READABLE),
        );
    }
    // Only the interest asked for (plus hang-up/error) is reported.
    send_all(&s, b"x");
    wait_readable(&c);
    let r = poll_one(&c, Readiness::WRITABLE, zero);
    check(
        "readable not reported without interest",
        !r.contains(Readiness::READABLE),
    );
    // Datagram sockets too.
    let (a, _) = f.bound_datagram();
    let (b, b_addr) = f.bound_datagram();
    check(
        "empty datagram socket not readable",
        !poll_one(&b, Readiness::READABLE, zero).contains(Readiness::READABLE),
    );
    ok("send-to", a.send_to(b"d", wit(b_addr), SendFlags::empty()));
    wait_readable(&b);
    ok("recv-from", b.recv_from(8, RecvFlags::empty()));
    check(
        "drained datagram socket not readable",
        !poll_one(&b, Readiness::READABLE, zero).contains(Readiness::READABLE),
    );
    done();
}
