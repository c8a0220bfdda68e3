//! `mixed_sockets`: a guest with sockets of both kinds, one of wasock's
//! interface and one of standard `wasi:sockets` (std::net). Binds a UDP
//! socket of each on 127.0.0.1 and prints `wasock ADDR` and `std ADDR`.
//! Composed on a provider, only the first is the provider's: `wasock run`
//! warns about the second.

fn main() {
    let ours = wasock::net::UdpSocket::bind("127.0.0.1:0").expect("wasock bind");
    let std = std::net::UdpSocket::bind("127.0.0.1:0").expect("std bind");
    println!("wasock {}", ours.local_addr().expect("wasock address"));
    println!("std {}", std.local_addr().expect("std address"));
}
