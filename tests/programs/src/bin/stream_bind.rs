//! stream: bind to an ephemeral port, a fixed port, an address in use, an
//! address that is not local, an address of the wrong family, and twice.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    // Ephemeral port: the system picks one; the address is kept.
    let s = f.stream();
    ok("bind ephemeral", s.bind(wit(f.loopback(0))));
    let a = local(&s);
    check("ephemeral port assigned", a.port() != 0);
    check_eq("bound address kept", a.ip(), f.loopback(0).ip());
    // Bound twice.
    expect_err(
        "bind twice",
        s.bind(wit(f.loopback(0))),
        ErrorCode::InvalidArgument,
    );

    // In use: another socket on the same address.
    ok("listen", s.listen(4));
    let t = f.stream();
    expect_err(
        "bind address in use",
        t.bind(wit(a)),
        ErrorCode::AddressInUse,
    );

    // Fixed port: the port just freed.
    let port = a.port();
    drop(s);
    let u = f.stream();
    ok(
        "set reuse-address",
        u.set_option(SocketOption::ReuseAddress(true)),
    );
    ok("bind fixed port", u.bind(wit(f.loopback(port))));
    check_eq("fixed port kept", local(&u).port(), port);

    // Not a local address.
    expect_err(
        "bind non-local address",
        f.stream().bind(wit(f.non_local(0))),
        ErrorCode::AddressNotAvailable,
    );
    // Wrong family.
    expect_err(
        "bind other family",
        f.stream().bind(wit(f.other_loopback(0))),
        ErrorCode::AddressFamilyNotSupported,
    );
    // Unspecified address: allowed, gets a port.
    let w = f.stream();
    ok("bind unspecified", w.bind(wit(f.unspecified(0))));
    check("unspecified bind has a port", local(&w).port() != 0);
    done();
}
