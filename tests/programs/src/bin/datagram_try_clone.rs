//! datagram, through the SDK: `try_clone` gives a second handle to one
//! socket, as `dup` does: a datagram sent to the socket is received
//! through either handle, once; a default peer set through one holds for
//! the other; the socket stays bound until the last handle is dropped.

use std::io::ErrorKind;

use wasock::net::UdpSocket;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let a = must("bind", UdpSocket::bind(f.loopback(0)));
    let b = must("bind", UdpSocket::bind(f.loopback(0)));
    let a_addr = must("local_addr", a.local_addr());
    let b_addr = must("local_addr", b.local_addr());
    let a2 = must("try_clone", a.try_clone());
    check_eq(
        "the clone's local address",
        must("local_addr", a2.local_addr()),
        a_addr,
    );

    let mut buf = [0u8; 16];
    must("send_to", b.send_to(b"first", a_addr));
    let (n, from) = must("recv_from through the clone", a2.recv_from(&mut buf));
    check_eq(
        "received through the clone",
        (&buf[..n], from),
        (&b"first"[..], b_addr),
    );
    must("set_nonblocking", a2.set_nonblocking(true));
    check_eq(
        "taken once: nothing left for the original",
        a.recv_from(&mut buf).map(|(n, _)| n).map_err(|e| e.kind()),
        Err(ErrorKind::WouldBlock),
    );
    must("set_nonblocking", a.set_nonblocking(false));

    must("connect", a.connect(b_addr));
    must(
        "send through the clone to the peer set through the original",
        a2.send(b"second"),
    );
    let (n, from) = must("recv_from", b.recv_from(&mut buf));
    check_eq(
        "the peer got it from the socket",
        (&buf[..n], from),
        (&b"second"[..], a_addr),
    );

    drop(a);
    must("send_to", b.send_to(b"third", a_addr));
    let n = must(
        "recv through the clone after the original was dropped",
        a2.recv(&mut buf),
    );
    check_eq(
        "still bound while the clone lives",
        &buf[..n],
        &b"third"[..],
    );
    done();
}
