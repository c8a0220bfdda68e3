//! stream: what an accepted socket inherits from its listener (documented
//! in wit/README.md): keep-alive and its timings, no-delay, linger, buffer
//! sizes; not timeouts or non-blocking mode.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let l = f.stream();
    let set = [
        SocketOption::KeepAlive(true),
        SocketOption::KeepAliveIdle(33 * SEC),
        SocketOption::KeepAliveInterval(9 * SEC),
        SocketOption::KeepAliveCount(4),
        SocketOption::NoDelay(true),
        SocketOption::Linger(Some(2 * SEC)),
    ];
    for o in set {
        ok(&format!("set {o:?} on listener"), l.set_option(o));
    }
    ok(
        "set receive timeout on listener",
        l.set_option(SocketOption::ReceiveTimeout(Some(SEC))),
    );
    ok("set non-blocking on listener", l.set_nonblocking(true));
    ok("bind", l.bind(wit(f.loopback(0))));
    ok("listen", l.listen(4));
    let c = f.stream();
    ok("connect", c.connect(wit(local(&l))));
    wait_readable(&l);
    let (s, _) = ok("accept", l.accept());
    for (o, name) in set.iter().zip([
        OptionName::KeepAlive,
        OptionName::KeepAliveIdle,
        OptionName::KeepAliveInterval,
        OptionName::KeepAliveCount,
        OptionName::NoDelay,
        OptionName::Linger,
    ]) {
        check_eq(
            &format!("accepted socket inherits {o:?}"),
            ok("get", s.get_option(name)),
            *o,
        );
    }
    check_eq(
        "timeouts are not inherited",
        ok("get", s.get_option(OptionName::ReceiveTimeout)),
        SocketOption::ReceiveTimeout(None),
    );
    check("accepted socket is blocking", !s.is_nonblocking());
    done();
}
