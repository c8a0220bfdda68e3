//! stream: `wait-all` waits for the whole length (or the end); without it
//! a receive returns what has arrived.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    send_all(&s, b"abc");
    wait_readable(&c);
    check_eq(
        "without wait-all: what arrived",
        ok("recv", c.recv(10, RecvFlags::empty())),
        b"abc".to_vec(),
    );
    send_all(&s, b"0123456789");
    let got = ok("recv wait-all", c.recv(10, RecvFlags::WAIT_ALL));
    check_eq("wait-all: the whole length", got, b"0123456789".to_vec());
    send_all(&s, b"tail");
    drop(s);
    check_eq(
        "wait-all stops at the end of stream",
        ok("recv", c.recv(100, RecvFlags::WAIT_ALL)),
        b"tail".to_vec(),
    );
    done();
}
