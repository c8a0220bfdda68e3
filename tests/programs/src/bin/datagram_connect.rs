//! datagram: connect sets the default peer and filters incoming datagrams
//! to it; disconnect lifts both; connecting again replaces the peer; a
//! socket bound to the unspecified address keeps its port through both.

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (a, a_addr) = f.bound_datagram();
    let (b, b_addr) = f.bound_datagram();
    let (other, other_addr) = f.bound_datagram();

    expect_err(
        "send without a peer",
        a.send(b"x", SendFlags::empty()),
        ErrorCode::DestinationAddressRequired,
    );
    expect_err(
        "remote-address without a peer",
        a.remote_address(),
        ErrorCode::NotConnected,
    );
    expect_err(
        "shutdown without a peer",
        a.shutdown(ShutdownHow::Both),
        ErrorCode::NotConnected,
    );
    ok("disconnect without a peer", a.disconnect());
    let elsewhere = if f.v6() {
        "127.0.0.1:9".parse().unwrap()
    } else {
        "[::1]:9".parse().unwrap()
    };
    expect_err(
        "send-to the other family",
        a.send_to(b"x", wit(elsewhere), SendFlags::empty()),
        ErrorCode::AddressFamilyNotSupported,
    );
    expect_err(
        "connect to the other family",
        a.connect(wit(elsewhere)),
        ErrorCode::AddressFamilyNotSupported,
    );

    ok("connect to b", a.connect(wit(b_addr)));
    check_eq(
        "remote-address",
        std_addr(ok("remote-address", a.remote_address())),
        b_addr,
    );
    expect_err(
        "send-to while connected",
        a.send_to(b"x", wit(b_addr), SendFlags::empty()),
        ErrorCode::AlreadyConnected,
    );
    check_eq(
        "send to the peer",
        ok("send", a.send(b"to b", SendFlags::empty())),
        4,
    );
    let d = ok("b receives", b.recv_from(16, RecvFlags::empty()));
    check_eq("payload", d.data, b"to b".to_vec());
    check_eq("from a", std_addr(d.remote_address), a_addr);

    // Only the peer's datagrams arrive.
    ok(
        "other sends to a",
        other.send_to(b"stranger", wit(a_addr), SendFlags::empty()),
    );
    ok(
        "b sends to a",
        b.send_to(b"peer", wit(a_addr), SendFlags::empty()),
    );
    check_eq(
        "a receives only the peer's",
        ok("recv", a.recv(16, RecvFlags::empty())),
        b"peer".to_vec(),
    );
    let r = poll_one(&a, Readiness::READABLE, Some(Duration::from_millis(200)));
    check(
        "the stranger's datagram was filtered",
        !r.contains(Readiness::READABLE),
    );

    // Reconnect to another peer.
    ok("connect to other", a.connect(wit(other_addr)));
    check_eq(
        "new remote-address",
        std_addr(ok("remote-address", a.remote_address())),
        other_addr,
    );
    ok(
        "send to the new peer",
        a.send(b"hello other", SendFlags::empty()),
    );
    check_eq(
        "other receives",
        ok("recv-from", other.recv_from(32, RecvFlags::empty())).data,
        b"hello other".to_vec(),
    );

    // Disconnect: everyone may send again, and send-to works.
    ok("disconnect", a.disconnect());
    expect_err(
        "no peer after disconnect",
        a.remote_address(),
        ErrorCode::NotConnected,
    );
    ok(
        "b sends",
        b.send_to(b"after", wit(a_addr), SendFlags::empty()),
    );
    let d = ok(
        "recv-from after disconnect",
        a.recv_from(16, RecvFlags::empty()),
    );
    check_eq("from b", std_addr(d.remote_address), b_addr);
    ok(
        "send-to after disconnect",
        a.send_to(b"x", wit(b_addr), SendFlags::empty()),
    );

    // A socket bound to the unspecified address with a port keeps that
    // port through a connect and a disconnect, and connects again.
    let w = f.datagram();
    ok(
        "bind the unspecified address",
        w.bind(wit(f.unspecified(0))),
    );
    let port = local(&w).port();
    ok("connect the wildcard-bound socket", w.connect(wit(b_addr)));
    ok("disconnect it", w.disconnect());
    check_eq("its port after disconnect", local(&w).port(), port);
    expect_err(
        "no peer after its disconnect",
        w.remote_address(),
        ErrorCode::NotConnected,
    );
    ok("connect it again", w.connect(wit(other_addr)));
    ok("send to the new peer", w.send(b"again", SendFlags::empty()));
    check_eq(
        "other receives from the rebound socket",
        ok("recv-from", other.recv_from(32, RecvFlags::empty())).data,
        b"again".to_vec(),
    );
    done();
}
