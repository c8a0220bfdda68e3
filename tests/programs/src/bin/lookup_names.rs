//! name-lookup: IP literals resolve to themselves, `localhost` resolves to
//! a loopback address, unknown names and numeric spellings fail; a lookup
//! started without blocking decides the same at once, and at most 64 stay
//! alive.

use wasock::raw::wasock::sockets::name_lookup::{Lookup, resolve_addresses};
use wasock::raw::wasock::sockets::types::IpAddress;
use wasock_guests::conformance::*;

fn main() {
    let f = family();
    let v4 = IpAddress::Ipv4((127, 0, 0, 1));
    let v6 = IpAddress::Ipv6((0, 0, 0, 0, 0, 0, 0, 1));
    check_eq(
        "IPv4 literal",
        ok("resolve", resolve_addresses("127.0.0.1", None)),
        vec![v4],
    );
    check_eq(
        "IPv6 literal",
        ok("resolve", resolve_addresses("::1", None)),
        vec![v6],
    );
    check_eq(
        "bracketed IPv6 literal",
        ok("resolve", resolve_addresses("[::1]", None)),
        vec![v6],
    );
    expect_err(
        "literal of the other family",
        resolve_addresses("127.0.0.1", Some(AddressFamily::Ipv6)),
        ErrorCode::NameNotFound,
    );
    let local = ok("resolve localhost", resolve_addresses("localhost", None));
    check(
        "localhost is loopback",
        local.iter().any(|a| *a == v4 || *a == v6),
    );
    if !f.v6() {
        let only = ok(
            "resolve localhost v4",
            resolve_addresses("localhost", Some(AddressFamily::Ipv4)),
        );
        check(
            "family restricted",
            only.iter().all(|a| matches!(a, IpAddress::Ipv4(_))),
        );
    }
    expect_err(
        "unknown name",
        resolve_addresses("no-such-host.invalid", None),
        ErrorCode::NameNotFound,
    );
    expect_err(
        "numeric spelling",
        resolve_addresses("2130706433", None),
        ErrorCode::InvalidArgument,
    );
    expect_err(
        "empty name",
        resolve_addresses("", None),
        ErrorCode::InvalidArgument,
    );
    expect_err(
        "malformed name",
        resolve_addresses("a b", None),
        ErrorCode::InvalidArgument,
    );
    // The lookup that does not block decides the same at its start.
    expect_err(
        "start: empty name",
        Lookup::start("", None),
        ErrorCode::InvalidArgument,
    );
    // At most 64 lookups alive, answered or not; dropping one makes room.
    let mut alive: Vec<Lookup> = (0..64)
        .map(|_| ok("start", Lookup::start("127.0.0.1", None)))
        .collect();
    check_eq(
        "an answered lookup keeps its answer",
        alive[0].answer().map(|a| a.map(|ips| ips.len())),
        Some(Ok(1)),
    );
    expect_err(
        "the 65th alive",
        Lookup::start("127.0.0.1", None),
        ErrorCode::TemporaryResolverFailure,
    );
    alive.pop();
    ok("after one is dropped", Lookup::start("127.0.0.1", None));
    done();
}
