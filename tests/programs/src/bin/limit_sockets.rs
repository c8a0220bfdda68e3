//! `limit_sockets N`: open up to N sockets; print `ok opened K` for the
//! ones that opened and `error CODE` for the first that did not.

use wasock::Socket;
use wasock::raw::wasock::sockets::types::{AddressFamily, SocketType};

fn main() {
    let n: usize = wasock_guests::arg(1).parse().expect("N");
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
