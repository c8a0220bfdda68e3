//! stream: shutting down each direction; half-close keeps the other
//! direction working.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    // Send direction: the peer reads what was sent, then the end; the
    // other direction still works.
    let (_l, c, s) = f.connected();
    send_all(&c, b"last words");
    ok("shutdown send", c.shutdown(ShutdownHow::Send));
    ok("shutdown send twice", c.shutdown(ShutdownHow::Send));
    check_eq(
        "peer reads the data",
        recv_exact(&s, 10),
        b"last words".to_vec(),
    );
    check_eq(
        "then the end of stream",
        ok("recv", s.recv(64, RecvFlags::empty())).len(),
        0,
    );
    check_eq(
        "and the end again",
        ok("recv", s.recv(64, RecvFlags::empty())).len(),
        0,
    );
    expect_err(
        "send after shutdown send",
        c.send(b"more", SendFlags::empty()),
        ErrorCode::ShutDown,
    );
    send_all(&s, b"reply");
    check_eq(
        "half-closed side still receives",
        recv_exact(&c, 5),
        b"reply".to_vec(),
    );

    // Receive direction.
    let (_l2, c2, s2) = f.connected();
    ok("shutdown receive", c2.shutdown(ShutdownHow::Receive));
    expect_err(
        "recv after shutdown receive",
        c2.recv(8, RecvFlags::empty()),
        ErrorCode::ShutDown,
    );
    send_all(&c2, b"still sending");
    check_eq(
        "sending still works",
        recv_exact(&s2, 13),
        b"still sending".to_vec(),
    );

    // Both.
    let (_l3, c3, s3) = f.connected();
    ok("shutdown both", c3.shutdown(ShutdownHow::Both));
    expect_err(
        "send after both",
        c3.send(b"x", SendFlags::empty()),
        ErrorCode::ShutDown,
    );
    expect_err(
        "recv after both",
        c3.recv(1, RecvFlags::empty()),
        ErrorCode::ShutDown,
    );
    check_eq(
        "peer sees the end",
        ok("recv", s3.recv(8, RecvFlags::empty())).len(),
        0,
    );
    done();
}
