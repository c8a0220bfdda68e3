//! `sdk_write_vectored ipv4|ipv6`: the SDK's TCP streams send the buffers
//! of a vectored write together, in one send, as std's `writev` does (a
//! reply's head and body leave in one segment, not in two that Nagle's
//! algorithm would hold apart), blocking and async (futures-io's trait),
//! and leave out empty buffers.

use std::future::poll_fn;
use std::io::{IoSlice, Read, Write};
use std::pin::Pin;

use wasock::net::TcpStream;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    let (mut c, mut s) = (TcpStream::from_socket(c), TcpStream::from_socket(s));
    let parts = [
        IoSlice::new(b"head"),
        IoSlice::new(b""),
        IoSlice::new(b"body"),
    ];
    check_eq(
        "a blocking vectored write sends every buffer",
        c.write_vectored(&parts).map_err(|e| e.kind()),
        Ok(8),
    );
    let mut got = [0u8; 8];
    must("read_exact", s.read_exact(&mut got));
    check_eq("the buffers in order", &got, b"headbody");

    let mut c = must("from_std", wasock::rt::net::TcpStream::from_std(c));
    let sent = wasock::rt::block_on(poll_fn(|cx| {
        futures_io::AsyncWrite::poll_write_vectored(Pin::new(&mut c), cx, &parts)
    }));
    check_eq(
        "an async vectored write sends every buffer",
        sent.map_err(|e| e.kind()),
        Ok(8),
    );
    must("read_exact", s.read_exact(&mut got));
    check_eq("the buffers in order, async", &got, b"headbody");
    done();
}
