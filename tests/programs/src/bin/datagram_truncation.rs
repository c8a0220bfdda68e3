//! datagram: a receive shorter than the datagram returns its start, says
//! it was truncated, and discards the rest; the next datagram is intact.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (a, _) = f.bound_datagram();
    let (b, b_addr) = f.bound_datagram();
    ok(
        "send long",
        a.send_to(b"0123456789", wit(b_addr), SendFlags::empty()),
    );
    ok(
        "send short",
        a.send_to(b"ab", wit(b_addr), SendFlags::empty()),
    );
    let d = ok("recv-from 4", b.recv_from(4, RecvFlags::empty()));
    check_eq("the start", d.data, b"0123".to_vec());
    check("truncated", d.truncated);
    let d = ok("recv-from next", b.recv_from(64, RecvFlags::empty()));
    check_eq("next datagram intact", d.data, b"ab".to_vec());
    check("not truncated", !d.truncated);
    // recv (connected form) truncates the same way.
    ok("connect", b.connect(wit(local(&a))));
    ok(
        "send long again",
        a.send_to(b"0123456789", wit(b_addr), SendFlags::empty()),
    );
    check_eq(
        "recv truncates",
        ok("recv", b.recv(3, RecvFlags::empty())),
        b"012".to_vec(),
    );
    done();
}
