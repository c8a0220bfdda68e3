//! `tcp_connect ADDR`: connect; print `ok connected` or `error CODE`.

use wasock::net::TcpStream;
use wasock_guests::{arg, report};

fn main() {
    let addr = arg(1);
    let s = report("connected", TcpStream::connect(addr.as_str()));
    drop(s);
}
