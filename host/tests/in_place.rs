//! A guest's `send` goes from its linear memory to the kernel without a
//! copy in the host: the definition linked for `[method]socket.send` reads
//! the guest's bytes in place, where the generated binding would first lift
//! them into a host `Vec` as large as the payload. This binary records the
//! largest heap allocation made while a guest streams 4 MiB writes to a
//! native sink, and checks that none came near the size of one write. One
//! test in its own binary, since the allocator it installs sees the whole
//! process.

#[path = "all/common.rs"]
#[allow(dead_code)]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use common::{allow, spawn_in_process, tokio_rt};
use wasock_host::runtime::{GuestExit, WasockCtx};
use wasock_test_programs::BENCH_WASOCK;

/// The system allocator, noting the largest size asked for while
/// `WATCHING` is set.
struct Recording;

static WATCHING: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn note(size: usize) {
    if WATCHING.load(Relaxed) {
        LARGEST.fetch_max(size, Relaxed);
    }
}

// SAFETY: every call is passed on to `System` unchanged; noting a size
// allocates nothing.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Recording = Recording;

/// A native sink on its own thread, as the benchmark's: an 8-byte
/// little-endian length, that many bytes, then one byte back. Returns its
/// address and the thread, which ends with the count of bytes it read.
fn sink() -> (std::net::SocketAddr, std::thread::JoinHandle<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(common::PATIENCE)).unwrap();
        let mut len = [0u8; 8];
        s.read_exact(&mut len).unwrap();
        let mut left = u64::from_le_bytes(len);
        let mut got = 0;
        let mut buf = vec![0u8; 64 << 10];
        while left > 0 {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "the guest ended the stream {left} bytes short");
            assert!(buf[..n].iter().all(|&b| b == 0xa5), "corrupted payload");
            left = left.saturating_sub(n as u64);
            got += n as u64;
        }
        s.write_all(&[1]).unwrap();
        got
    });
    (addr, thread)
}

/// Stream `total` bytes in `chunk`-byte writes from the wasock benchmark
/// guest to a native sink; the bytes the sink read.
async fn stream(total: usize, chunk: usize) -> u64 {
    let (addr, sink) = sink();
    let ctx = WasockCtx::builder()
        .policy(allow(&["tcp-connect=127.0.0.1:*"]))
        .build();
    let args = [
        "tcp-stream".to_string(),
        addr.to_string(),
        total.to_string(),
        chunk.to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let done = spawn_in_process(BENCH_WASOCK, &args, ctx).finish().await;
    assert!(
        matches!(done.exit, GuestExit::Exited(0)) && done.stdout.contains("result "),
        "{:?}: {}",
        done.exit,
        done.stdout
    );
    sink.join().unwrap()
}

#[test]
fn send_reads_the_guest_memory_in_place() {
    const CHUNK: usize = 4 << 20;
    const TOTAL: usize = 4 * CHUNK;
    let rt = tokio_rt();
    rt.block_on(async {
        // Compile the guest and make one instance of it first, so that what
        // is recorded is the streaming alone.
        assert_eq!(stream(4096, 1024).await, 4096);

        LARGEST.store(0, Relaxed);
        WATCHING.store(true, Relaxed);
        let got = stream(TOTAL, CHUNK).await;
        WATCHING.store(false, Relaxed);

        assert_eq!(got, TOTAL as u64, "the sink's count");
        let largest = LARGEST.load(Relaxed);
        eprintln!("largest host allocation while streaming: {largest} bytes");
        assert!(
            largest < CHUNK / 4,
            "the host allocated {largest} bytes while the guest sent {CHUNK}-byte writes: \
             the payload was copied"
        );
    });
}
