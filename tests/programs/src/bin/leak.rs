//! `leak`: open a listener, a connected pair and a datagram socket, then
//! exit without closing any: the host must close them with the instance.

use wasock::net::{TcpListener, TcpStream, UdpSocket};

fn main() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    std::mem::forget((l, c, s, u));
    println!("ok leaked");
}
