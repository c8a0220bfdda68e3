//! non-blocking: connect returns in-progress, poll reports writable when it
//! is done, take-error tells the outcome (none, or connection-refused); a
//! second connect says already or already-connected.

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let (l, addr) = f.listener();
    let c = f.stream();
    ok("non-blocking", c.set_nonblocking(true));
    check("is non-blocking", c.is_nonblocking());
    match c.connect(wit(addr)) {
        Err(ErrorCode::InProgress) => {
            println!("ok connect in progress");
            match c.connect(wit(addr)) {
                Err(ErrorCode::Already) | Err(ErrorCode::AlreadyConnected) => {
                    println!("ok second connect refused")
                }
                other => fail("second connect", format!("{other:?}")),
            }
        }
        Ok(()) => println!("ok connect finished at once"),
        Err(e) => fail("connect", e.name().into()),
    }
    let r = poll_one(&c, Readiness::WRITABLE, Some(Duration::from_secs(10)));
    check("writable when done", r.contains(Readiness::WRITABLE));
    check_eq(
        "take-error: success",
        ok("take-error", c.take_error()),
        None,
    );
    check_eq(
        "connected to the listener",
        std_addr(ok("remote-address", c.remote_address())),
        addr,
    );
    expect_err(
        "connect after success",
        c.connect(wit(addr)),
        ErrorCode::AlreadyConnected,
    );
    ok("accept", l.accept());

    // Refused.
    let idle = f.stream();
    ok("bind idle", idle.bind(wit(f.loopback(0))));
    let r2 = f.stream();
    ok("non-blocking", r2.set_nonblocking(true));
    match r2.connect(wit(local(&idle))) {
        Err(ErrorCode::InProgress) => {
            let r = poll_one(&r2, Readiness::WRITABLE, Some(Duration::from_secs(10)));
            check("refused connect reports readiness", !r.is_empty());
            check_eq(
                "take-error: refused",
                ok("take-error", r2.take_error()),
                Some(ErrorCode::ConnectionRefused),
            );
            check_eq(
                "take-error cleared",
                ok("take-error", r2.take_error()),
                None,
            );
        }
        Err(ErrorCode::ConnectionRefused) => println!("ok refused at once"),
        other => fail("refused connect", format!("{other:?}")),
    }
    done();
}
