//! peek: returns data without consuming it, on stream and datagram sockets.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    send_all(&s, b"peekaboo");
    wait_readable(&c);
    check_eq(
        "peek",
        ok("peek", c.recv(4, RecvFlags::PEEK)),
        b"peek".to_vec(),
    );
    check_eq(
        "peek again",
        ok("peek", c.recv(8, RecvFlags::PEEK)),
        b"peekaboo".to_vec(),
    );
    check_eq(
        "recv gets the same",
        recv_exact(&c, 8),
        b"peekaboo".to_vec(),
    );

    let (a, _) = f.bound_datagram();
    let (b, b_addr) = f.bound_datagram();
    ok(
        "send-to",
        a.send_to(b"one", wit(b_addr), SendFlags::empty()),
    );
    ok(
        "send-to",
        a.send_to(b"two", wit(b_addr), SendFlags::empty()),
    );
    wait_readable(&b);
    let p = ok("peek datagram", b.recv_from(16, RecvFlags::PEEK));
    check_eq("peeked datagram", p.data, b"one".to_vec());
    check_eq("peeked sender", std_addr(p.remote_address), local(&a));
    let p = ok("short peek", b.recv_from(2, RecvFlags::PEEK));
    check("short peek truncated", p.truncated);
    check_eq(
        "first datagram still there",
        ok("recv-from", b.recv_from(16, RecvFlags::empty())).data,
        b"one".to_vec(),
    );
    check_eq(
        "then the second",
        ok("recv-from", b.recv_from(16, RecvFlags::empty())).data,
        b"two".to_vec(),
    );
    expect_err(
        "wait-all on datagram",
        b.recv_from(16, RecvFlags::WAIT_ALL),
        ErrorCode::NotSupported,
    );
    expect_err(
        "wait-all on datagram recv",
        b.recv(16, RecvFlags::WAIT_ALL),
        ErrorCode::NotSupported,
    );
    done();
}
