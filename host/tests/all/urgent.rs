//! Urgent (out-of-band) data from a native peer: a receive stops short at
//! the urgent mark with more data queued behind it, and the next blocking
//! receive must still get that data (the host may not take a short read for
//! an empty queue and wait for an event that already came).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::time::Duration;

use wasock_host::runtime::GuestExit;
use wasock_test_programs::TCP_READ_UNTIL;

use crate::common::{PATIENCE, allow, run_in_process, tokio_rt};

/// Send `data` as urgent data (`MSG_OOB`).
fn send_urgent(s: &std::net::TcpStream, data: &[u8]) {
    // SAFETY: a valid socket and a buffer of the given length.
    let n = unsafe {
        libc::send(
            s.as_raw_fd(),
            data.as_ptr().cast(),
            data.len(),
            libc::MSG_OOB,
        )
    };
    assert_eq!(
        n,
        data.len() as isize,
        "{}",
        std::io::Error::last_os_error()
    );
}

#[test]
fn data_behind_an_urgent_byte_is_received() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_nodelay(true).unwrap();
        s.write_all(b"AAAA").unwrap();
        send_urgent(&s, b"B");
        s.write_all(b"CCCC").unwrap();
        // The guest answers once it has the eight inline bytes.
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut done = [0u8; 4];
        s.read_exact(&mut done).map(|_| done)
    });
    let rt = tokio_rt();
    let run = rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(20),
            run_in_process(
                TCP_READ_UNTIL,
                // All of it is there before the first read.
                &[&addr, "8", "200"],
                allow(&[&format!("tcp-connect={addr}")]),
            ),
        )
        .await
    });
    let done = run.expect("the guest stalled behind the urgent byte");
    assert!(
        matches!(done.exit, GuestExit::Exited(0)) && done.stdout.contains("ok read AAAACCCC"),
        "{:?}\n{}",
        done.exit,
        done.stdout
    );
    assert_eq!(&peer.join().unwrap().unwrap(), b"done");
}
