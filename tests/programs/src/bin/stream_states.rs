//! stream: every operation in every state gives the documented result
//! (wit/README.md, "Socket states").

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (_l, addr) = f.listener();
    let data = b"x";

    // Unbound.
    let s = f.stream();
    expect_err("unbound: accept", s.accept(), ErrorCode::InvalidArgument);
    expect_err(
        "unbound: send",
        s.send(data, SendFlags::empty()),
        ErrorCode::NotConnected,
    );
    expect_err(
        "unbound: recv",
        s.recv(1, RecvFlags::empty()),
        ErrorCode::NotConnected,
    );
    expect_err(
        "unbound: send-to",
        s.send_to(data, wit(addr), SendFlags::empty()),
        ErrorCode::NotSupported,
    );
    expect_err(
        "unbound: recv-from",
        s.recv_from(1, RecvFlags::empty()),
        ErrorCode::NotSupported,
    );
    expect_err(
        "unbound: shutdown",
        s.shutdown(ShutdownHow::Both),
        ErrorCode::NotConnected,
    );
    expect_err(
        "unbound: local-address",
        s.local_address(),
        ErrorCode::InvalidArgument,
    );
    expect_err(
        "unbound: remote-address",
        s.remote_address(),
        ErrorCode::NotConnected,
    );
    expect_err(
        "unbound: disconnect",
        s.disconnect(),
        ErrorCode::NotSupported,
    );
    check_eq(
        "unbound: bytes-available",
        ok("bytes-available", s.bytes_available()),
        0,
    );
    check_eq(
        "unbound: no pending error",
        ok("take-error", s.take_error()),
        None,
    );

    // Bound.
    ok("bind", s.bind(wit(f.loopback(0))));
    expect_err(
        "bound: bind",
        s.bind(wit(f.loopback(0))),
        ErrorCode::InvalidArgument,
    );
    expect_err("bound: accept", s.accept(), ErrorCode::InvalidArgument);
    expect_err(
        "bound: send",
        s.send(data, SendFlags::empty()),
        ErrorCode::NotConnected,
    );
    expect_err(
        "bound: recv",
        s.recv(1, RecvFlags::empty()),
        ErrorCode::NotConnected,
    );
    expect_err(
        "bound: shutdown",
        s.shutdown(ShutdownHow::Send),
        ErrorCode::NotConnected,
    );
    expect_err(
        "bound: remote-address",
        s.remote_address(),
        ErrorCode::NotConnected,
    );

    // Listening.
    ok("listen", s.listen(4));
    expect_err(
        "listening: bind",
        s.bind(wit(f.loopback(0))),
        ErrorCode::InvalidArgument,
    );
    expect_err(
        "listening: connect",
        s.connect(wit(addr)),
        ErrorCode::InvalidArgument,
    );
    expect_err(
        "listening: send",
        s.send(data, SendFlags::empty()),
        ErrorCode::NotConnected,
    );
    expect_err(
        "listening: recv",
        s.recv(1, RecvFlags::empty()),
        ErrorCode::NotConnected,
    );
    expect_err(
        "listening: shutdown",
        s.shutdown(ShutdownHow::Both),
        ErrorCode::NotConnected,
    );
    expect_err(
        "listening: remote-address",
        s.remote_address(),
        ErrorCode::NotConnected,
    );
    expect_err(
        "listening: bytes-available",
        s.bytes_available(),
        ErrorCode::InvalidArgument,
    );
    ok("listening: listen again", s.listen(4));

    // Connected.
    let c = f.stream();
    ok("connect", c.connect(wit(addr)));
    expect_err(
        "connected: bind",
        c.bind(wit(f.loopback(0))),
        ErrorCode::InvalidArgument,
    );
    expect_err(
        "connected: listen",
        c.listen(4),
        ErrorCode::AlreadyConnected,
    );
    expect_err("connected: accept", c.accept(), ErrorCode::InvalidArgument);
    expect_err(
        "connected: connect",
        c.connect(wit(addr)),
        ErrorCode::AlreadyConnected,
    );
    expect_err(
        "connected: send-to",
        c.send_to(data, wit(addr), SendFlags::empty()),
        ErrorCode::NotSupported,
    );
    expect_err(
        "connected: recv-from",
        c.recv_from(1, RecvFlags::empty()),
        ErrorCode::NotSupported,
    );
    expect_err(
        "connected: disconnect",
        c.disconnect(),
        ErrorCode::NotSupported,
    );
    check_eq(
        "connected: send",
        ok("send", c.send(data, SendFlags::empty())),
        1,
    );
    check_eq(
        "connected: zero-length recv",
        ok("recv", c.recv(0, RecvFlags::empty())).len(),
        0,
    );

    // Implicitly bound by a failed connect: may not listen or bind.
    let idle = f.stream();
    ok("bind idle", idle.bind(wit(f.loopback(0))));
    let i = f.stream();
    expect_err(
        "connect refused",
        i.connect(wit(local(&idle))),
        ErrorCode::ConnectionRefused,
    );
    expect_err(
        "implicitly bound: listen",
        i.listen(4),
        ErrorCode::InvalidArgument,
    );
    expect_err(
        "implicitly bound: bind",
        i.bind(wit(f.loopback(0))),
        ErrorCode::InvalidArgument,
    );

    check_eq("address-family", s.address_family(), f.family);
    check_eq("socket-type", s.socket_type(), SocketType::Stream);
    done();
}
