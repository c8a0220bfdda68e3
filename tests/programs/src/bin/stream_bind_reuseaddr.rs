//! stream: with reuse-address, a port whose connection was just closed
//! (TIME_WAIT on the side that closed first) can be bound again.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let l = f.stream();
    ok(
        "set reuse-address on listener",
        l.set_option(SocketOption::ReuseAddress(true)),
    );
    ok("bind", l.bind(wit(f.loopback(0))));
    ok("listen", l.listen(4));
    let addr = local(&l);
    let c = f.stream();
    ok("connect", c.connect(wit(addr)));
    let (s, _) = ok("accept", l.accept());
    // The server side closes first and keeps TIME_WAIT on `addr`.
    drop(s);
    drop(l);
    check_eq(
        "client sees the end",
        ok("recv", c.recv(16, RecvFlags::empty())).len(),
        0,
    );
    drop(c);

    let again = f.stream();
    ok(
        "set reuse-address",
        again.set_option(SocketOption::ReuseAddress(true)),
    );
    ok("bind the same address again", again.bind(wit(addr)));
    ok("listen again", again.listen(4));
    done();
}
