//! `wasock policy explain`.

use std::net::SocketAddr;

use super::args::ExplainArgs;
use crate::policy::{Decision, Policy, normalize_name};
use crate::runtime::PinnedNames;

/// Print the decision (one line per address for a pinned name); exit 0 if
/// allowed, 1 if denied, 2 if the arguments are bad.
pub fn main(args: &ExplainArgs) -> i32 {
    let (policy, pinned) = match args.rules.load() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let decisions = match decide(&policy, &pinned, args) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    for d in &decisions {
        println!("{d}");
    }
    if decisions.iter().all(Decision::is_allowed) {
        0
    } else {
        1
    }
}

fn decide(
    policy: &Policy,
    pinned: &PinnedNames,
    args: &ExplainArgs,
) -> Result<Vec<Decision>, String> {
    let op = args.operation;
    if !op.takes_address() {
        let name = normalize_name(&args.target)
            .map_err(|e| format!("`{}` is not a host name: {e}", args.target))?;
        return Ok(vec![policy.check_name(&name)]);
    }
    if let Ok(addr) = args.target.parse::<SocketAddr>() {
        return Ok(vec![policy.check_address(op, addr, &[])]);
    }
    // NAME:PORT: decide for the addresses the name is pinned to, as the
    // runtime would after resolving it; without pins, by the name alone.
    let bad = || {
        format!(
            "`{}` is not IP:PORT or NAME:PORT (IPv6 in brackets)",
            args.target
        )
    };
    let (host, port) = args.target.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let name = normalize_name(host).map_err(|e| format!("`{host}` is not a host name: {e}"))?;
    let names = vec![name.clone()];
    match pinned.get(&name) {
        Some(ips) => Ok(ips
            .iter()
            .map(|ip| policy.check_address(op, SocketAddr::new(*ip, port), &names))
            .collect()),
        None => Ok(vec![policy.check_named(op, &name, port)]),
    }
}
