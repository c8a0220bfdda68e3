//! `reply_budget ECHO_ADDR`: the reply rule's memory is bounded per
//! instance. Four sockets send to 4,096 peers each (nothing listens
//! there), which uses up the instance's 16,384 remembered peers; then a
//! fifth socket's datagram to the echo peer is not remembered, and the echo
//! is dropped (the policy grants no `udp-recv`). Closing one of the four
//! gives its share back, and the next echo comes through. Prints
//! `full: TimedOut` and `after close: ping`.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use wasock::net::UdpSocket;

fn main() {
    let echo = std::env::args().nth(1).unwrap_or_default();
    let senders: Vec<UdpSocket> = (0..4u8)
        .map(|i| {
            let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
            let to = Ipv4Addr::new(127, 0, 0, 2 + i);
            for port in 1..=4096u16 {
                s.send_to(b"x", SocketAddrV4::new(to, port))
                    .expect("send_to");
            }
            s
        })
        .collect();

    let e = UdpSocket::bind("127.0.0.1:0").expect("bind");
    e.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    e.send_to(b"ping", echo.as_str()).expect("send_to echo");
    match e.recv_from(&mut buf) {
        Ok((n, _)) => println!("full: {}", String::from_utf8_lossy(&buf[..n])),
        Err(err) => println!("full: {:?}", err.kind()),
    }

    drop(senders);
    e.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    e.send_to(b"ping", echo.as_str()).expect("send_to echo");
    match e.recv_from(&mut buf) {
        Ok((n, _)) => println!("after close: {}", String::from_utf8_lossy(&buf[..n])),
        Err(err) => println!("after close: {:?}", err.kind()),
    }
}
