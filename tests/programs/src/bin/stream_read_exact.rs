//! stream, through the SDK: `read_exact` fills the whole buffer however the
//! data arrives, gives `UnexpectedEof` when the stream ends first,
//! `ConnectionReset` when it is reset after some of the data, and
//! `WouldBlock` on a non-blocking socket with nothing to read; after
//! `shutdown(Read)`, reads see the end of the stream.

use std::io::{ErrorKind, Read, Write};

use wasock::net::TcpStream;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    let (mut c, mut s) = (TcpStream::from_socket(c), TcpStream::from_socket(s));

    // Sent in pieces (less than the socket buffers hold, since this one
    // thread writes it all before reading), read back in one call.
    let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    for piece in data.chunks(7_000) {
        must("write", s.write_all(piece));
    }
    let mut got = vec![0u8; data.len()];
    must("read_exact", c.read_exact(&mut got));
    check("read_exact: every byte, in order", got == data);

    // Through a shared reference too.
    must("write", s.write_all(b"shared"));
    let mut six = [0u8; 6];
    must("read_exact", (&c).read_exact(&mut six));
    check_eq("read_exact through &TcpStream", &six, b"shared");

    // Non-blocking with nothing there: would block, as std's does.
    must("set_nonblocking", c.set_nonblocking(true));
    let mut one = [0u8; 1];
    check_eq(
        "non-blocking read_exact with nothing to read",
        c.read_exact(&mut one).map_err(|e| e.kind()),
        Err(ErrorKind::WouldBlock),
    );
    must("set_nonblocking", c.set_nonblocking(false));

    // The stream ends before the buffer is full.
    must("write", s.write_all(b"abc"));
    drop(s);
    let mut five = [0u8; 5];
    check_eq(
        "read_exact past the end of stream",
        c.read_exact(&mut five).map_err(|e| e.kind()),
        Err(ErrorKind::UnexpectedEof),
    );

    // Reset after some of the data: the reset, not an end of stream (the
    // host's wait-all receive returns the data it had and keeps the error
    // for the next receive).
    let (_l2, c2, s2) = f.connected();
    send_all(&s2, b"abc");
    ok("linger 0", s2.set_option(SocketOption::Linger(Some(0))));
    drop(s2);
    wait_readable(&c2);
    let mut c2 = TcpStream::from_socket(c2);
    check_eq(
        "read_exact cut short by a reset",
        c2.read_exact(&mut five).map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionReset),
    );

    // After shutting down reading: the end of the stream, as std's read
    // gives it on Linux, even with data waiting.
    let (_l3, c3, s3) = f.connected();
    send_all(&s3, b"unread");
    wait_readable(&c3);
    let mut c3 = TcpStream::from_socket(c3);
    let shown = format!("{c3:?}");
    check(
        &format!("Debug shows both addresses, as std's does: {shown}"),
        shown.starts_with("TcpStream { addr: ") && shown.contains(", peer: "),
    );
    must("shutdown read", c3.shutdown(std::net::Shutdown::Read));
    check_eq(
        "read after shutdown(Read)",
        must("read", c3.read(&mut five)),
        0,
    );
    check_eq(
        "read_exact after shutdown(Read)",
        c3.read_exact(&mut five).map_err(|e| e.kind()),
        Err(ErrorKind::UnexpectedEof),
    );
    done();
}
