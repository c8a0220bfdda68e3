//! stream: when the peer closes, receives return the rest of the data, then
//! an empty list (orderly end) every time; poll reports readable.

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (_l, c, s) = f.connected();
    send_all(&s, b"bye");
    drop(s);
    check_eq("data before the end", recv_exact(&c, 3), b"bye".to_vec());
    let r = poll_one(&c, Readiness::READABLE, Some(Duration::from_secs(10)));
    check("end of stream is readable", r.contains(Readiness::READABLE));
    for i in 0..3 {
        check_eq(
            &format!("end of stream ({i})"),
            ok("recv", c.recv(16, RecvFlags::empty())).len(),
            0,
        );
    }
    done();
}
