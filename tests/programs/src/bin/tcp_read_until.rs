//! `tcp_read_until ADDR N [WAIT_MS]`: connect, wait WAIT_MS (so that what
//! the peer sends is all there before the first read), then read with
//! blocking `read`s into a 4 KiB buffer until N bytes have come; print
//! `ok read TEXT` (the bytes, as text), send `done` and exit.

use std::io::{Read, Write};
use std::time::Duration;

use wasock::net::TcpStream;
use wasock_guests::{arg, opt_arg, report};

fn main() {
    let addr = arg(1);
    let n: usize = arg(2).parse().expect("N");
    let wait = opt_arg(3).map_or(0, |w| w.parse().expect("WAIT_MS"));
    let mut s = report("connected", TcpStream::connect(addr.as_str()));
    std::thread::sleep(Duration::from_millis(wait));
    let mut got = Vec::with_capacity(n);
    let mut buf = [0u8; 4096];
    while got.len() < n {
        let k = report("read", s.read(&mut buf));
        if k == 0 {
            break;
        }
        got.extend_from_slice(&buf[..k]);
    }
    println!("ok read {}", String::from_utf8_lossy(&got));
    report("sent", s.write_all(b"done"));
}
