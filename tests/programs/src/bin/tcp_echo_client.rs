//! `tcp_echo_client ADDR BYTES`: connect, send BYTES of a pattern while
//! reading the echo, check it byte for byte; print `ok echoed BYTES`.

use std::io::{Read, Write};

use wasock::Readiness;
use wasock::net::TcpStream;
use wasock::poll::{PollFd, poll};
use wasock_guests::{arg, pattern, report};

fn main() {
    let addr = arg(1);
    let n: usize = arg(2).parse().expect("BYTES");
    let mut s = report("connected", TcpStream::connect(addr.as_str()));
    s.set_nonblocking(true).unwrap();
    let data = pattern(n);
    let (mut sent, mut got) = (0, Vec::with_capacity(n));
    let mut buf = vec![0; 65536];
    while got.len() < n {
        let mut interest = Readiness::READABLE;
        if sent < n {
            interest |= Readiness::WRITABLE;
        }
        let mut fds = [PollFd::new(&s, interest)];
        poll(&mut fds, None).unwrap();
        let (readable, writable) = (fds[0].is_readable(), fds[0].is_writable());
        if writable && sent < n {
            match s.write(&data[sent..]) {
                Ok(k) => sent += k,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => report("write", Err::<(), _>(e)),
            }
        }
        if readable {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => report("read", Err::<(), _>(e)),
            }
        }
    }
    if got == data {
        println!("ok echoed {n}");
    } else {
        println!("error mismatch after {} bytes", got.len());
        std::process::exit(1);
    }
}
