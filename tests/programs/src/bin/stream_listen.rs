//! stream: listen backlogs, listen without bind (binds the unspecified
//! address and an ephemeral port), listen twice.

use wasock_guests::conformance::*;

fn main() {
    let f = family();
    for backlog in [0u32, 1, 128, u32::MAX] {
        let l = f.stream();
        ok("bind", l.bind(wit(f.loopback(0))));
        ok(&format!("listen with backlog {backlog}"), l.listen(backlog));
        let addr = local(&l);
        let c = f.stream();
        ok("connect", c.connect(wit(addr)));
        ok("accept", l.accept());
    }
    // Without bind: the system binds the unspecified address.
    let l = f.stream();
    ok("listen without bind", l.listen(8));
    let a = local(&l);
    check("implicit bind has a port", a.port() != 0);
    check_eq(
        "implicit bind is unspecified",
        a.ip(),
        f.unspecified(0).ip(),
    );
    let c = f.stream();
    ok(
        "connect to it on loopback",
        c.connect(wit(f.loopback(a.port()))),
    );
    ok("accept", l.accept());
    ok("listen twice", l.listen(8));
    done();
}
