//! bytes-available (FIONREAD): the bytes queued on a stream socket; the
//! size of the next datagram on a datagram socket.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    check_eq(
        "nothing queued",
        ok("bytes-available", c.bytes_available()),
        0,
    );
    send_all(&s, b"12345");
    wait_readable(&c);
    send_all(&s, b"678");
    // Both sends arrive on loopback; wait until all 8 bytes are queued.
    let mut n = 0;
    for _ in 0..1000 {
        n = ok("bytes-available", c.bytes_available());
        if n == 8 {
            break;
        }
        poll_one(
            &c,
            Readiness::READABLE,
            Some(std::time::Duration::from_millis(5)),
        );
    }
    check_eq("stream: all queued bytes", n, 8);
    recv_exact(&c, 3);
    check_eq(
        "stream: after reading 3",
        ok("bytes-available", c.bytes_available()),
        5,
    );

    let (a, _) = f.bound_datagram();
    let (b, b_addr) = f.bound_datagram();
    check_eq(
        "datagram: none queued",
        ok("bytes-available", b.bytes_available()),
        0,
    );
    ok(
        "send-to",
        a.send_to(&[0u8; 300], wit(b_addr), SendFlags::empty()),
    );
    ok(
        "send-to",
        a.send_to(&[0u8; 20], wit(b_addr), SendFlags::empty()),
    );
    wait_readable(&b);
    check_eq(
        "datagram: the next one's size",
        ok("bytes-available", b.bytes_available()),
        300,
    );
    ok("recv-from", b.recv_from(1000, RecvFlags::empty()));
    check_eq(
        "datagram: then the next",
        ok("bytes-available", b.bytes_available()),
        20,
    );
    done();
}
