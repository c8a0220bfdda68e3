//! Use a socket handle after closing it: the host must trap this guest.
//! The first argument picks the call: `send` (linked by hand, reading the
//! guest's memory in place) or, by default, `local-address`.

use wasock::Socket;
use wasock::raw::wasock::sockets::types::{AddressFamily, SocketType};

fn main() {
    let sock = Socket::open(AddressFamily::Ipv4, SocketType::Stream).unwrap();
    let handle = sock.handle();
    drop(sock);
    println!("ok closed");
    // SAFETY (of the guest's own memory): none is involved; the handle is
    // stale on purpose, which the component model must catch.
    let stale = unsafe { Socket::from_handle(handle) };
    if std::env::args().nth(1).as_deref() == Some("send") {
        let r = stale.send(
            b"stale",
            wasock::raw::wasock::sockets::types::SendFlags::empty(),
        );
        println!("error not trapped: {r:?}");
    } else {
        let r = stale.local_address();
        println!("error not trapped: {r:?}");
    }
}
