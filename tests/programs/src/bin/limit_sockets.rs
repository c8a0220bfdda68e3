//! `limit_sockets N`: open up to N sockets; print `ok opened K` for the
//! ones that opened and `error CODE` for the first that did not.
//!
//! `limit_sockets N accept`: a listener and a client connected to it, then
//! datagram sockets up to the limit; the accept that needs one more socket
//! says `error CODE`, and after one is closed it takes the waiting
//! connection (`ok accepted after close`).

use wasock::Socket;
use wasock::raw::wasock::sockets::types::{AddressFamily, SocketType};

fn main() {
    let n: usize = wasock_guests::arg(1).parse().expect("N");
    if std::env::args().nth(2).as_deref() == Some("accept") {
        return accept_at_the_limit(n);
    }
    let mut held = Vec::new();
    for _ in 0..n {
        match Socket::open(AddressFamily::Ipv4, SocketType::Datagram) {
            Ok(s) => held.push(s),
            Err(e) => {
                println!("ok opened {}", held.len());
                println!("error {}", e.name());
                // Closing one makes room for another.
                held.pop();
                match Socket::open(AddressFamily::Ipv4, SocketType::Stream) {
                    Ok(_) => println!("ok reopened after close"),
                    Err(e) => println!("error reopen {}", e.name()),
                }
                return;
            }
        }
    }
    println!("ok opened {}", held.len());
}

fn accept_at_the_limit(n: usize) {
    let listener = Socket::open(AddressFamily::Ipv4, SocketType::Stream).expect("listener");
    let loopback = wasock::addr::from_std("127.0.0.1:0".parse().unwrap());
    listener.bind(loopback).expect("bind");
    listener.listen(8).expect("listen");
    let client = Socket::open(AddressFamily::Ipv4, SocketType::Stream).expect("client");
    client
        .connect(listener.local_address().expect("local address"))
        .expect("connect");
    let mut held = Vec::new();
    while held.len() < n {
        match Socket::open(AddressFamily::Ipv4, SocketType::Datagram) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    println!("ok opened {}", held.len() + 2);
    match listener.accept() {
        Ok(_) => println!("ok accepted at the limit"),
        Err(e) => println!("error {}", e.name()),
    }
    held.pop();
    match listener.accept() {
        Ok(_) => println!("ok accepted after close"),
        Err(e) => println!("error accept after close {}", e.name()),
    }
}
