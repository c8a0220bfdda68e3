//! stream: a blocking receive never waits while data or the end of the
//! stream is already there, however the receives before it left the
//! receive queue: read in exact-sized messages (which fill their buffers,
//! so the queue may or may not be empty after them), in short reads, or
//! exactly emptied before more arrives or the peer closes; and a read after
//! small ones returns all that is queued.
//!
//! Each case lets the host's reactor see the arrivals before reading
//! (`settle`): a receive that wrongly waited would then have no event left
//! to wake it, and fails on its read timeout instead.

use std::io::{Read, Write};
use std::time::Duration;

use wasock::net::TcpStream;
use wasock_guests::conformance::*;

/// One 64-byte message, numbered.
fn message(n: u8) -> [u8; 64] {
    [n; 64]
}

fn read_message(c: &mut TcpStream, what: &str) -> [u8; 64] {
    let mut m = [0u8; 64];
    must(what, c.read_exact(&mut m));
    m
}

fn write(s: &mut TcpStream, data: &[u8]) {
    must("write", s.write_all(data));
}

/// Give the host's reactor a turn (a short wait on a listener nobody
/// connects to), so that it takes in what has arrived.
fn settle(idle: &Socket) {
    poll_one(idle, Readiness::READABLE, Some(Duration::from_millis(20)));
}

/// A connected pair whose reading end gives up after 5 s.
fn pair(f: &Fam) -> (Socket, TcpStream, TcpStream) {
    let (l, c, s) = f.connected();
    let c = TcpStream::from_socket(c);
    must(
        "set_read_timeout",
        c.set_read_timeout(Some(Duration::from_secs(5))),
    );
    (l, c, TcpStream::from_socket(s))
}

fn main() {
    let f = family();
    let (l, mut c, mut s) = pair(&f);

    // Exact reads that empty the queue, each before the next message.
    for n in 0..4 {
        write(&mut s, &message(n));
        settle(&l);
        check_eq(
            "a message after an emptying read",
            read_message(&mut c, "read n"),
            message(n),
        );
    }

    // Two messages in one write, read one at a time: the first read fills
    // its buffer and leaves the second queued.
    let mut two = message(4).to_vec();
    two.extend_from_slice(&message(5));
    write(&mut s, &two);
    settle(&l);
    check_eq("first of two", read_message(&mut c, "read 1"), message(4));
    check_eq("second of two", read_message(&mut c, "read 2"), message(5));

    // Short reads (a bigger buffer than what is queued) empty the queue.
    for n in 6..9 {
        write(&mut s, &message(n));
        settle(&l);
        let mut big = [0u8; 256];
        let got = must("short read", c.read(&mut big));
        check_eq("a short read", &big[..got], &message(n)[..]);
    }

    // A message and the end of the stream, both there before the read: the
    // message, then the end at once.
    write(&mut s, &message(9));
    drop(s);
    settle(&l);
    check_eq(
        "the last message",
        read_message(&mut c, "read last"),
        message(9),
    );
    let mut rest = [0u8; 16];
    check_eq(
        "end of stream after an exact read",
        c.read(&mut rest).map_err(|e| e.kind()),
        Ok(0),
    );

    // The queue emptied exactly, then the peer closes: the end of stream.
    let (l2, mut c2, mut s2) = pair(&f);
    for n in 0..3 {
        write(&mut s2, &message(n));
        settle(&l2);
        check_eq("a message", read_message(&mut c2, "read"), message(n));
    }
    drop(s2);
    settle(&l2);
    check_eq(
        "end of stream after an emptying read",
        c2.read(&mut rest).map_err(|e| e.kind()),
        Ok(0),
    );

    // The first receives of a connection (the first one is when the host
    // starts asking the kernel how much is left): two messages at once.
    let (l3, mut c3, mut s3) = pair(&f);
    let mut two = message(1).to_vec();
    two.extend_from_slice(&message(2));
    write(&mut s3, &two);
    settle(&l3);
    check_eq(
        "first of two, fresh",
        read_message(&mut c3, "read"),
        message(1),
    );
    check_eq(
        "second of two, fresh",
        read_message(&mut c3, "read"),
        message(2),
    );

    // Small reads, then more queued than they took: one read with a big
    // buffer returns all of it (the host sizes its room from the reads
    // before, and must grow it when the data fills it).
    let mut big = vec![0u8; 16384];
    for n in 3..6 {
        write(&mut s3, &message(n));
        settle(&l3);
        let got = must("small read", c3.read(&mut big));
        check_eq("a small read", &big[..got], &message(n)[..]);
    }
    let burst: Vec<u8> = (0..4000u32).map(|i| i as u8).collect();
    write(&mut s3, &burst);
    settle(&l3);
    let got = must("read after small ones", c3.read(&mut big));
    check_eq("bytes in one read after small ones", got, burst.len());
    check_eq(
        "what one read after small ones got",
        &big[..got],
        &burst[..],
    );
    done();
}
