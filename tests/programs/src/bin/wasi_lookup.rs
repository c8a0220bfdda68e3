//! `wasi_lookup FAMILY`: standard `wasi:sockets/ip-name-lookup@0.2` through
//! the raw bindings, checked against the interface's documentation.
//! FAMILY is `v4` or `v6` (the family whose loopback literal is looked up
//! first).
//!
//! Checks: an IP address literal (either family) is returned as it is,
//! then `none`, and `none` again; `localhost` (which the host test's
//! resolver answers with loopback addresses) gives loopback addresses and
//! never an IPv4-mapped one; `resolve-next-address` says `would-block`
//! until the stream's pollable is ready; a syntactically invalid name
//! fails at once with `invalid-argument`; numeric spellings such as
//! `2130706433` or `127.1` are not IP literals (`invalid-argument` or
//! `name-unresolvable`, never 127.0.0.1); a name that does not exist
//! (`no-such-host.invalid`) gives `name-unresolvable`.
//!
//! Prints `CASE: ok` or `CASE: FAIL WHAT` per case and `done N cases`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::{ResolveAddressStream, resolve_addresses};
use wasip2::sockets::network::{ErrorCode, IpAddress, Network};
use wasock_guests::wasi_check::*;

fn std_ip(a: IpAddress) -> IpAddr {
    match a {
        IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
        }
    }
}

/// The next result of `s`, waiting on its pollable while it would block.
fn next(s: &ResolveAddressStream) -> Result<Option<IpAddr>, ErrorCode> {
    let deadline = Instant::now() + PATIENCE;
    let p = s.subscribe();
    loop {
        match s.resolve_next_address() {
            Err(ErrorCode::WouldBlock) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || !ready_within(&p, left) {
                    return Err(ErrorCode::Timeout);
                }
            }
            other => return other.map(|a| a.map(std_ip)),
        }
    }
}

/// Every address `name` resolves to (at most 64).
fn resolve_all(net: &Network, name: &str) -> Step<Vec<IpAddr>> {
    let s = want_ok("resolve-addresses", resolve_addresses(net, name))?;
    let mut all = Vec::new();
    for _ in 0..64 {
        match want_ok("resolve-next-address", next(&s))? {
            Some(a) => all.push(a),
            None => {
                want_eq(
                    "resolve-next-address after the end",
                    want_ok("resolve-next-address", next(&s))?,
                    None,
                )?;
                return Ok(all);
            }
        }
    }
    Err(format!("{name}: more than 64 addresses"))
}

fn main() {
    let f = Fam::from_args();
    let net = instance_network();
    let mut cases = Cases::new();

    cases.case("literal-own-family", || {
        let ip = f.loopback(0).ip();
        want_eq("addresses", resolve_all(&net, &ip.to_string())?, vec![ip])
    });
    cases.case("literal-other-family", || {
        let ip = f.other_loopback(0).ip();
        want_eq("addresses", resolve_all(&net, &ip.to_string())?, vec![ip])
    });
    cases.case("literal-documentation-address", || {
        // Not an address of this host: a literal still needs no lookup.
        let ip = f.non_local(0).ip();
        want_eq("addresses", resolve_all(&net, &ip.to_string())?, vec![ip])
    });
    cases.case("localhost-loopback-never-ipv4-mapped", || {
        let all = resolve_all(&net, "localhost")?;
        want("at least one address", !all.is_empty())?;
        for a in &all {
            want(&format!("{a} is loopback"), a.is_loopback())?;
            if let IpAddr::V6(v6) = a {
                want(
                    &format!("{a} is not IPv4-mapped"),
                    v6.to_ipv4_mapped().is_none(),
                )?;
            }
        }
        Ok(())
    });
    cases.case("would-block-until-ready", || {
        let s = want_ok("resolve-addresses", resolve_addresses(&net, "localhost"))?;
        let p = s.subscribe();
        let first = match s.resolve_next_address() {
            // Not ready yet: the pollable says when it is.
            Err(ErrorCode::WouldBlock) => {
                wait("resolve pollable", &p)?;
                want_ok("resolve-next-address when ready", s.resolve_next_address())?
            }
            other => want_ok("resolve-next-address", other)?,
        };
        want("an address", first.is_some())
    });
    cases.case("invalid-name-invalid-argument", || {
        for name in ["", "not a name", "exa mple.com", "a..b"] {
            want_err(
                &format!("resolve-addresses {name:?}"),
                resolve_addresses(&net, name).map(drop),
                ErrorCode::InvalidArgument,
            )?;
        }
        Ok(())
    });
    cases.case("numeric-spellings-are-not-literals", || {
        // Only the standard text forms are IP literals; spellings that
        // some parsers read as 127.0.0.1 are invalid names (and, being all
        // digits in the last label, no domain name either).
        for name in ["2130706433", "0x7f.0.0.1", "127.1", "0177.0.0.1"] {
            match resolve_addresses(&net, name).and_then(|s| next(&s)) {
                Err(ErrorCode::InvalidArgument | ErrorCode::NameUnresolvable) => {}
                other => {
                    return Err(format!(
                        "{name:?}: expected invalid-argument or name-unresolvable, got {other:?}"
                    ));
                }
            }
        }
        Ok(())
    });
    cases.case("unknown-name-name-unresolvable", || {
        let r = resolve_addresses(&net, "no-such-host.invalid").and_then(|s| next(&s));
        want_err("lookup", r, ErrorCode::NameUnresolvable)
    });

    cases.finish()
}
