//! non-blocking: accept, recv, recv-from and send return would-block when
//! nothing can be done now, and work once something can.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (l, c, s) = f.connected();
    for sock in [&l, &c, &s] {
        ok("non-blocking", sock.set_nonblocking(true));
    }
    expect_err(
        "accept with nothing pending",
        l.accept(),
        ErrorCode::WouldBlock,
    );
    expect_err(
        "recv with nothing queued",
        c.recv(16, RecvFlags::empty()),
        ErrorCode::WouldBlock,
    );
    // Fill the send path until it would block.
    ok(
        "small send buffer",
        s.set_option(SocketOption::SendBufferSize(4096)),
    );
    let chunk = vec![1u8; 65536];
    let mut total = 0u64;
    let mut blocked = false;
    for _ in 0..100_000 {
        match s.send(&chunk, SendFlags::empty()) {
            Ok(n) => total += n,
            Err(ErrorCode::WouldBlock) => {
                blocked = true;
                break;
            }
            Err(e) => fail("send", e.name().into()),
        }
    }
    check("send eventually would block", blocked);
    check("some bytes were taken first", total > 0);
    // Draining lets it send again.
    ok("blocking reads", c.set_nonblocking(false));
    let mut drained = 0u64;
    while drained < total {
        drained += ok("recv", c.recv(1 << 20, RecvFlags::empty())).len() as u64;
    }
    wait_writable(&s);
    check(
        "send works again",
        s.send(b"more", SendFlags::empty()).is_ok(),
    );

    let (u, _) = f.bound_datagram();
    ok("non-blocking datagram", u.set_nonblocking(true));
    expect_err(
        "recv-from with nothing queued",
        u.recv_from(16, RecvFlags::empty()),
        ErrorCode::WouldBlock,
    );
    done();
}

fn wait_writable(s: &Socket) {
    let r = poll_one(
        s,
        Readiness::WRITABLE,
        Some(std::time::Duration::from_secs(10)),
    );
    check("writable again", r.contains(Readiness::WRITABLE));
}
