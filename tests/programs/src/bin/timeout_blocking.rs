//! timeouts: a receive timeout ends blocking accept and recv with
//! timed-out after at least that long; a send timeout ends a blocked send.

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (l, c, s) = f.connected();
    let t = 120_000_000u64;
    ok(
        "receive timeout",
        c.set_option(SocketOption::ReceiveTimeout(Some(t))),
    );
    let t0 = now();
    expect_err(
        "recv times out",
        c.recv(8, RecvFlags::empty()),
        ErrorCode::TimedOut,
    );
    check(
        "waited the timeout",
        t0.elapsed() >= Duration::from_nanos(t),
    );
    ok(
        "listener timeout",
        l.set_option(SocketOption::ReceiveTimeout(Some(t))),
    );
    expect_err("accept times out", l.accept(), ErrorCode::TimedOut);
    let (u, _) = f.bound_datagram();
    ok(
        "datagram timeout",
        u.set_option(SocketOption::ReceiveTimeout(Some(t))),
    );
    expect_err(
        "recv-from times out",
        u.recv_from(8, RecvFlags::empty()),
        ErrorCode::TimedOut,
    );
    // A send that cannot finish: returns what was taken, or times out.
    ok(
        "small buffers",
        s.set_option(SocketOption::SendBufferSize(4096)),
    );
    ok(
        "send timeout",
        s.set_option(SocketOption::SendTimeout(Some(t))),
    );
    let big = vec![0u8; 32 << 20];
    match s.send(&big, SendFlags::empty()) {
        Ok(n) => check(
            "a timed-out send returns a partial count",
            (n as usize) < big.len(),
        ),
        Err(ErrorCode::TimedOut) => println!("ok send timed out"),
        Err(e) => fail("send", e.name().into()),
    }
    check("data still flows after timeouts", {
        send_all(&c, b"x");
        true
    });
    done();
}
