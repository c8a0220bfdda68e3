//! `tcp_block_recv ADDR`: connect, say so, then block in one receive;
//! print `ok received N` when it returns.

use std::io::Read;

use wasock::net::TcpStream;
use wasock_guests::{arg, report};

fn main() {
    let addr = arg(1);
    let mut s = report("connected", TcpStream::connect(addr.as_str()));
    let mut buf = [0u8; 64];
    let n = report("received", s.read(&mut buf));
    println!("ok received {n}");
}
