//! `tcp_recv_huge ADDR`: connect and ask one receive for 4 GiB; print
//! `ok received N` (the host caps N; it must not try to allocate 4 GiB).

use wasock::net::{AsSocket, TcpStream};
use wasock::raw::wasock::sockets::types::RecvFlags;
use wasock_guests::{arg, report};

fn main() {
    let addr = arg(1);
    let s = report("connected", TcpStream::connect(addr.as_str()));
    let got = s.as_socket().recv(4 << 30, RecvFlags::WAIT_ALL);
    let data = report("recv", got.map_err(std::io::Error::from));
    println!("ok received {}", data.len());
}
