//! datagram: bind ephemeral, fixed, in use, not local, wrong family, twice.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let s = f.datagram();
    ok("bind ephemeral", s.bind(wit(f.loopback(0))));
    let a = local(&s);
    check("port assigned", a.port() != 0);
    expect_err(
        "bind twice",
        s.bind(wit(f.loopback(0))),
        ErrorCode::InvalidArgument,
    );
    expect_err(
        "bind address in use",
        f.datagram().bind(wit(a)),
        ErrorCode::AddressInUse,
    );
    let port = a.port();
    drop(s);
    let t = f.datagram();
    ok("bind fixed port", t.bind(wit(f.loopback(port))));
    check_eq("fixed port kept", local(&t).port(), port);
    expect_err(
        "bind non-local",
        f.datagram().bind(wit(f.non_local(0))),
        ErrorCode::AddressNotAvailable,
    );
    expect_err(
        "bind other family",
        f.datagram().bind(wit(f.other_loopback(0))),
        ErrorCode::AddressFamilyNotSupported,
    );
    let u = f.datagram();
    ok(
        "reuse-address",
        u.set_option(SocketOption::ReuseAddress(true)),
    );
    ok("bind unspecified", u.bind(wit(f.unspecified(0))));
    check_eq("address-family", u.address_family(), f.family);
    check_eq("socket-type", u.socket_type(), SocketType::Datagram);
    done();
}
