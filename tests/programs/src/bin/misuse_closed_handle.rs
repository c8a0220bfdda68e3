//! Use a socket handle after closing it: the host must trap this guest.
//! The first argument picks the call: `send` (linked by hand, reading the
//! guest's memory in place) or, by default, `local-address`.

use wasock::Socket;
use wasock::raw::wasock::sockets::types::{AddressFamily, SendFlags, SocketType};

fn main() {
    let sock = Socket::open(AddressFamily::Ipv4, SocketType::Stream).unwrap();
    let handle = sock.handle();
    drop(sock);
    println!("ok closed");
    // SAFETY (of the guest's own memory): none is involved; the handle is
    // stale on purpose, which the component model must catch.
    let stale = unsafe { Socket::from_handle(handle) };
    let r = if std::env::args().nth(1).as_deref() == Some("send") {
        stale.send(b"stale", SendFlags::empty()).map(|_| ())
    } else {
        stale.local_address().map(|_| ())
    };
    println!("error not trapped: {r:?}");
}
