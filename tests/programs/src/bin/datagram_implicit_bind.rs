//! datagram: send-to on an unbound socket binds it implicitly; replies
//! reach it; it cannot be bound afterwards.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (server, server_addr) = f.bound_datagram();
    let c = f.datagram();
    expect_err(
        "unbound: local-address",
        c.local_address(),
        ErrorCode::InvalidArgument,
    );
    expect_err(
        "unbound: recv-from",
        c.recv_from(16, RecvFlags::empty()),
        ErrorCode::InvalidArgument,
    );
    check_eq(
        "send-to unbound",
        ok(
            "send-to",
            c.send_to(b"hi", wit(server_addr), SendFlags::empty()),
        ),
        2,
    );
    let bound = local(&c);
    check("implicitly bound to a port", bound.port() != 0);
    expect_err(
        "bind after implicit bind",
        c.bind(wit(f.loopback(0))),
        ErrorCode::InvalidArgument,
    );
    let d = ok("recv-from", server.recv_from(16, RecvFlags::empty()));
    check_eq("payload", d.data, b"hi".to_vec());
    check_eq(
        "sender port",
        std_addr(d.remote_address).port(),
        bound.port(),
    );
    ok(
        "reply",
        server.send_to(b"yo", d.remote_address, SendFlags::empty()),
    );
    let r = ok("recv-from reply", c.recv_from(16, RecvFlags::empty()));
    check_eq("reply payload", r.data, b"yo".to_vec());
    check_eq("reply sender", std_addr(r.remote_address), server_addr);
    done();
}
