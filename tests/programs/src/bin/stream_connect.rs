//! stream: connect refused, unspecified address or port 0 rejected, wrong
//! family, bind then connect, connect twice.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    // A bound port with no listener refuses.
    let idle = f.stream();
    ok("bind idle", idle.bind(wit(f.loopback(0))));
    let idle_addr = local(&idle);
    expect_err(
        "connect refused",
        f.stream().connect(wit(idle_addr)),
        ErrorCode::ConnectionRefused,
    );

    let (l, addr) = f.listener();
    expect_err(
        "connect to the unspecified address",
        f.stream().connect(wit(f.unspecified(addr.port()))),
        ErrorCode::AddressNotAvailable,
    );
    expect_err(
        "connect to port 0",
        f.stream().connect(wit(f.loopback(0))),
        ErrorCode::AddressNotAvailable,
    );
    expect_err(
        "connect to the other family",
        f.stream().connect(wit(f.other_loopback(addr.port()))),
        ErrorCode::AddressFamilyNotSupported,
    );

    // Bind, then connect: the connection uses the bound address.
    let c = f.stream();
    ok("bind client", c.bind(wit(f.loopback(0))));
    let bound = local(&c);
    ok("connect bound client", c.connect(wit(addr)));
    check_eq("local address kept", local(&c), bound);
    check_eq(
        "remote address",
        std_addr(ok("remote-address", c.remote_address())),
        addr,
    );
    let (s, peer) = ok("accept", l.accept());
    check_eq("accepted peer is the client", std_addr(peer), bound);
    check_eq(
        "server's remote address",
        std_addr(ok("remote-address", s.remote_address())),
        bound,
    );
    expect_err(
        "connect twice",
        c.connect(wit(addr)),
        ErrorCode::AlreadyConnected,
    );
    // A failed connect leaves a socket that may try again.
    let retry = f.stream();
    expect_err(
        "first attempt refused",
        retry.connect(wit(idle_addr)),
        ErrorCode::ConnectionRefused,
    );
    ok("second attempt", retry.connect(wit(addr)));
    done();
}
