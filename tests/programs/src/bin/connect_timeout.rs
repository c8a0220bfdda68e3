//! `connect_timeout ipv4|ipv6` (Linux's queues; not a conformance
//! program): a blocking connect to a listener whose queue is full runs out
//! its send-timeout with timed-out and leaves the handshake under way, as
//! `socket.wit` says: a second connect is `already`; once the listener takes
//! a connection, the handshake completes (writable, no error, connected).

use std::time::Duration;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let l = f.stream();
    ok("bind", l.bind(wit(f.loopback(0))));
    ok("listen", l.listen(1));
    let addr = local(&l);
    // Connect until the queue is full (Linux queues one more than the
    // backlog); the first connect that finds no room is the one to watch.
    let mut queued = Vec::new();
    let c = loop {
        let c = f.stream();
        ok(
            "send-timeout",
            c.set_option(SocketOption::SendTimeout(Some(300_000_000))),
        );
        let t0 = now();
        match c.connect(wit(addr)) {
            Ok(()) if queued.len() < 8 => queued.push(c),
            Ok(()) => fail(
                "connect",
                "eight connections queued at a backlog of 1".into(),
            ),
            Err(ErrorCode::TimedOut) => {
                check(
                    "it waited its send-timeout",
                    t0.elapsed() >= Duration::from_millis(300),
                );
                break c;
            }
            Err(e) => fail("connect to a full queue", e.name().into()),
        }
    };
    println!("ok timed out after {} queued", queued.len());
    expect_err("connect again", c.connect(wit(addr)), ErrorCode::Already);
    // Room in the queue: the handshake under way completes (the client's
    // SYN is sent again after a second).
    ok("accept", l.accept());
    let r = poll_one(&c, Readiness::WRITABLE, Some(Duration::from_secs(10)));
    check("writable once connected", r.contains(Readiness::WRITABLE));
    check_eq("take-error: none", ok("take-error", c.take_error()), None);
    check_eq(
        "connected to the listener",
        std_addr(ok("remote-address", c.remote_address())),
        addr,
    );
    drop(queued);
    done();
}
