//! `sdk_try_clone ipv4|ipv6`: the SDK's `try_clone` gives a second handle
//! to one socket, as `dup` does. A `BufReader` over one handle reads lines
//! while the program writes through the other; non-blocking mode and
//! `shutdown` set through either hold for both; dropping one handle leaves
//! the connection open, dropping the last closes it (the peer reads the
//! end); `into_socket` gives the handle back while a clone is alive; an
//! async socket refuses a shared one; a listener's clone accepts; a
//! datagram socket's clone receives and sends for it, and keeps it bound.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};

use wasock::net::{TcpListener, TcpStream, UdpSocket};
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    let (c, mut s) = (TcpStream::from_socket(c), TcpStream::from_socket(s));

    // The std::net idiom: lines read through a BufReader over a clone,
    // answers written through the original.
    let mut lines = BufReader::new(must("try_clone", c.try_clone()));
    let mut writer = c;
    must("write", s.write_all(b"one\ntwo\n"));
    for want in ["one\n", "two\n"] {
        let mut line = String::new();
        must("read_line", lines.read_line(&mut line));
        check_eq("a line read through the clone", line.as_str(), want);
        must("write", writer.write_all(line.to_uppercase().as_bytes()));
    }
    let mut back = [0u8; 8];
    must("read_exact", s.read_exact(&mut back));
    check_eq("answers written through the original", &back, b"ONE\nTWO\n");

    let clone = lines.into_inner();
    must("set_nonblocking", writer.set_nonblocking(true));
    let mut one = [0u8; 1];
    check_eq(
        "non-blocking mode set through one handle holds for the other",
        (&clone).read(&mut one).map_err(|e| e.kind()),
        Err(ErrorKind::WouldBlock),
    );
    must("set_nonblocking", writer.set_nonblocking(false));

    // `into_socket` cannot take a socket another handle shares.
    let writer = match writer.into_socket() {
        Ok(_) => fail(
            "into_socket with a clone alive",
            "gave the socket away".into(),
        ),
        Err(back) => back,
    };
    // Nor can an async socket.
    let writer = {
        let probe = must("try_clone", writer.try_clone());
        check_eq(
            "an async stream over a shared socket",
            wasock::rt::net::TcpStream::from_std(probe)
                .map(drop)
                .map_err(|e| e.kind()),
            Err(ErrorKind::InvalidInput),
        );
        writer
    };

    // Dropping one handle leaves the connection open.
    drop(writer);
    must("write", s.write_all(b"still"));
    let mut five = [0u8; 5];
    must("read_exact", (&clone).read_exact(&mut five));
    check_eq(
        "read through the clone after the original was dropped",
        &five,
        b"still",
    );
    must("write", (&clone).write_all(b"there"));
    must("read_exact", s.read_exact(&mut five));
    check_eq(
        "written through the clone after the original was dropped",
        &five,
        b"there",
    );

    // The last handle gone, the connection closes: the peer reads the end.
    let alone = match clone.into_socket() {
        Ok(sock) => TcpStream::from_socket(sock),
        Err(_) => fail("into_socket of the last handle", "refused".into()),
    };
    drop(alone);
    check_eq(
        "the peer's read after the last handle closed",
        must("read", s.read(&mut five)),
        0,
    );

    // `shutdown` through a clone is the socket's.
    let (_l2, c2, s2) = f.connected();
    let (c2, mut s2) = (TcpStream::from_socket(c2), TcpStream::from_socket(s2));
    let c2b = must("try_clone", c2.try_clone());
    must("shutdown write", c2b.shutdown(std::net::Shutdown::Write));
    check_eq(
        "the peer reads the end after a clone's shutdown",
        must("read", s2.read(&mut five)),
        0,
    );
    drop(c2b);
    must("write", s2.write_all(b"reply"));
    must("read_exact", (&c2).read_exact(&mut five));
    check_eq(
        "the original still reads after its clone shut down writing",
        &five,
        b"reply",
    );

    // A listener's clone accepts from the one queue.
    let listener = must("bind", TcpListener::bind(f.loopback(0)));
    let addr = must("local_addr", listener.local_addr());
    let other = must("try_clone", listener.try_clone());
    let _client = must("connect", TcpStream::connect(addr));
    let (_conn, peer) = must("accept through the clone", other.accept());
    check_eq("the accepted peer's family", peer.is_ipv6(), f.v6());
    drop(listener);
    let _client2 = must("connect", TcpStream::connect(addr));
    must("accept after the original was dropped", other.accept());

    // A datagram socket's clone.
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
