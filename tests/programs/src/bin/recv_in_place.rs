//! recv, through the SDK: the received bytes go straight into the caller's
//! buffer (the SDK's `cabi_realloc` hands the host that buffer for the
//! returned list), so receiving into a large buffer takes no second buffer
//! of its size in guest memory. Stream and datagram, whole and partial
//! reads, a datagram peeked into a smaller buffer, and the allocator after
//! a receive (no longer handing out the caller's buffer).

use std::io::{Read, Write};

use wasock::net::{TcpStream, UdpSocket};
use wasock_guests::conformance::*;

/// Guest memory, in 64 KiB pages (these programs also build natively, for
/// the workspace's checks; they only run as guests).
fn pages() -> usize {
    #[cfg(target_arch = "wasm32")]
    return core::arch::wasm32::memory_size(0);
    #[cfg(not(target_arch = "wasm32"))]
    0
}

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    let (mut c, mut s) = (TcpStream::from_socket(c), TcpStream::from_socket(s));

    // 100,000 bytes (less than loopback's socket buffers hold, since this
    // one thread writes them all before reading), read in one call. Had
    // they come in a list of their own, the allocator would have needed
    // 100,000 more bytes than the top of the heap can have left over
    // (under a 64 KiB page), so memory would grow.
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let mut got = vec![0u8; data.len()];
    must("write", s.write_all(&data));
    let before = pages();
    must("read_exact", c.read_exact(&mut got));
    let after = pages();
    check("every byte, in order", got == data);
    check_eq("guest memory pages grown by the read", after - before, 0);

    // A partial read into the front of a larger buffer leaves the rest.
    must("write", s.write_all(b"abc"));
    let mut buf = [7u8; 16];
    let n = must("read", c.read(&mut buf));
    check_eq("a partial read", &buf[..n], &b"abc"[..]);
    check(
        "the rest of the buffer untouched",
        buf[n..].iter().all(|&b| b == 7),
    );

    // Datagrams, including one peeked into a buffer smaller than itself.
    let (a, a_addr) = f.bound_datagram();
    let (b, b_addr) = f.bound_datagram();
    let (a, b) = (UdpSocket::from_socket(a), UdpSocket::from_socket(b));
    must("connect a", a.connect(b_addr));
    must("connect b", b.connect(a_addr));
    must("send", a.send(b"datagram one"));
    let mut small = [0u8; 4];
    let n = must("peek", b.peek(&mut small));
    check_eq("a datagram peeked, truncated", &small[..n], &b"data"[..]);
    let mut whole = [0u8; 64];
    let n = must("recv", b.recv(&mut whole));
    check_eq("the datagram", &whole[..n], &b"datagram one"[..]);
    allocator_after_a_receive(&whole);
    done();
}

/// After a receive, `cabi_realloc` is the plain allocator again: a
/// byte-aligned allocation is not the buffer the receive used, and a
/// zero-sized one is the alignment, as std's `cabi_realloc` answers.
#[cfg(target_arch = "wasm32")]
fn allocator_after_a_receive(used: &[u8]) {
    unsafe extern "C" {
        fn cabi_realloc(old: *mut u8, old_len: usize, align: usize, new_len: usize) -> *mut u8;
    }
    // SAFETY: fresh allocations (old pointer null, old size 0), the
    // non-empty one freed with the layout it was made with.
    unsafe {
        let p = cabi_realloc(std::ptr::null_mut(), 0, 1, used.len());
        check(
            "an allocation after a receive is not its buffer",
            p.cast_const() != used.as_ptr(),
        );
        std::alloc::dealloc(
            p,
            std::alloc::Layout::from_size_align(used.len(), 1).unwrap(),
        );
        check_eq(
            "a zero-sized allocation",
            cabi_realloc(std::ptr::null_mut(), 0, 4, 0) as usize,
            4,
        );
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn allocator_after_a_receive(_: &[u8]) {}
