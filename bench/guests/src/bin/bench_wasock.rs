//! The benchmark workloads over wasock's SDK (B).

use std::io;
use std::net::SocketAddr;

use wasock::net::{TcpListener, TcpStream, UdpSocket};
use wasock_bench_guests::{Net, main_with};
use wasock_bench_workloads::Datagram;

struct Wasock;

struct Udp(UdpSocket);

impl Datagram for Udp {
    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.send(buf)
    }
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.recv(buf)
    }
}

impl Net for Wasock {
    type Stream = TcpStream;
    type Listener = TcpListener;
    type Udp = Udp;

    fn connect(addr: &str) -> io::Result<TcpStream> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        Ok(s)
    }
    fn listen(addr: &str) -> io::Result<(TcpListener, SocketAddr)> {
        let l = TcpListener::bind(addr)?;
        let a = l.local_addr()?;
        Ok((l, a))
    }
    fn accept(l: &TcpListener) -> io::Result<TcpStream> {
        l.accept().map(|(s, _)| s)
    }
    fn udp(local: &str, peer: &str) -> io::Result<Udp> {
        let u = UdpSocket::bind(local)?;
        u.connect(peer)?;
        Ok(Udp(u))
    }
}

fn main() -> io::Result<()> {
    main_with::<Wasock>()
}
