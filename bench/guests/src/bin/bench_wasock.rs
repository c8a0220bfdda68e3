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

/// `poll-hold ADDR N`: open N connections, print `holding N`, then wait on
/// all of them at once with `poll` until one of them closes.
fn poll_hold(addr: &str, n: usize) -> io::Result<()> {
    use wasock::Readiness;
    use wasock::poll::{PollFd, poll};
    let held: Vec<TcpStream> = (0..n)
        .map(|_| Wasock::connect(addr))
        .collect::<io::Result<_>>()?;
    println!("holding {}", held.len());
    loop {
        let mut fds: Vec<PollFd<'_>> = held
            .iter()
            .map(|s| PollFd::new(s, Readiness::READABLE))
            .collect();
        if poll(&mut fds, None)? > 0 {
            return Ok(());
        }
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("poll-hold") {
        let n = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1);
        return poll_hold(&args[2], n);
    }
    main_with::<Wasock>()
}
