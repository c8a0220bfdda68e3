//! stream: a peer that aborts (linger 0, then close) resets the
//! connection: the next receive fails with connection-reset, and so does a
//! send after it.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    ok("linger 0", s.set_option(SocketOption::Linger(Some(0))));
    drop(s);
    wait_readable(&c);
    expect_err(
        "recv after reset",
        c.recv(16, RecvFlags::empty()),
        ErrorCode::ConnectionReset,
    );
    expect_err(
        "send after reset",
        c.send(b"anyone?", SendFlags::empty()),
        ErrorCode::ConnectionReset,
    );
    done();
}
