//! datagram: record boundaries are preserved: each receive returns exactly
//! one datagram, whatever sizes were sent (including empty ones).

use wasock_guests::conformance::*;
use wasock_guests::pattern;

fn main() {
    let f = family();
    let (a, _) = f.bound_datagram();
    let (b, b_addr) = f.bound_datagram();
    let sizes = [1usize, 0, 1000, 7, 8192, 2];
    for n in sizes {
        ok(
            "send-to",
            a.send_to(&pattern(n), wit(b_addr), SendFlags::empty()),
        );
    }
    for n in sizes {
        wait_readable(&b);
        let d = ok("recv-from", b.recv_from(65536, RecvFlags::empty()));
        check_eq(
            &format!("datagram of {n} bytes kept whole"),
            d.data,
            pattern(n),
        );
        check(
            &format!("datagram of {n} bytes not truncated"),
            !d.truncated,
        );
    }
    done();
}
