//! `wasock policy explain`.

use std::net::SocketAddr;

use super::args::ExplainArgs;
use crate::policy::{Decision, Policy, Reason, ip_literal, normalize_name};
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
    for note in notes(&policy, &pinned, args, &decisions) {
        println!("{note}");
    }
    if decisions.iter().all(Decision::is_allowed) {
        0
    } else {
        1
    }
}

/// What the answer depends on beyond the target as given: the names a
/// guest resolves first (a grant by name covers the addresses the guest
/// resolved from that name), or the addresses a name it connects by turns
/// out to have.
fn notes(
    policy: &Policy,
    pinned: &PinnedNames,
    args: &ExplainArgs,
    decisions: &[Decision],
) -> Vec<String> {
    let op = args.operation;
    if !op.takes_address() || decisions.iter().all(Decision::is_allowed) {
        return Vec::new();
    }
    if let Ok(addr) = args.target.parse::<SocketAddr>() {
        // Names pinned to this address: if the guest resolves one of them
        // first, grants by that name apply to the address.
        let mut names: Vec<String> = pinned
            .iter()
            .filter(|(_, ips)| ips.contains(&addr.ip()))
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        return names
            .into_iter()
            // Only a name the guest may resolve can stand for the address.
            .filter(|name| policy.check_name(name).is_allowed())
            .filter_map(|name| {
                let d = policy.check_address(op, addr, std::slice::from_ref(&name));
                d.is_allowed().then(|| {
                    format!("if the guest resolved {name} first (pinned to it by --resolve): {d}")
                })
            })
            .collect();
    }
    // A name without a pin, decided by the name alone for want of a grant
    // (not refused, and resolvable): grants on addresses may still apply.
    let host = args.target.rsplit_once(':').map_or("", |(h, _)| h);
    let for_want_of_a_grant = decisions
        .iter()
        .all(|d| d.is_allowed() || d.reason == Reason::NoGrant);
    match normalize_name(host) {
        Ok(name)
            if !pinned.contains_key(&name)
                && for_want_of_a_grant
                && policy.check_name(&name).is_allowed() =>
        {
            vec![format!(
                "decided by the name alone: rules on addresses apply to the addresses {name} \
                 resolves to when the guest runs; give --resolve {name}=IP to explain for them"
            )]
        }
        _ => Vec::new(),
    }
}

fn decide(
    policy: &Policy,
    pinned: &PinnedNames,
    args: &ExplainArgs,
) -> Result<Vec<Decision>, String> {
    let op = args.operation;
    if !op.takes_address() {
        // An address resolves to itself, without a grant (as at run time).
        if let Some(ip) = ip_literal(&args.target) {
            return Ok(vec![Decision::literal(ip)]);
        }
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
    // The guest must be allowed to resolve the name first (a grant by name
    // for the operation also grants that): said only when it is not.
    let resolve = policy.check_name(&name);
    let mut decisions = Vec::new();
    if !resolve.is_allowed() {
        decisions.push(resolve);
    }
    let names = vec![name.clone()];
    match pinned.get(&name) {
        Some(ips) => decisions.extend(
            ips.iter()
                .map(|ip| policy.check_address(op, SocketAddr::new(*ip, port), &names)),
        ),
        None => decisions.push(policy.check_named(op, &name, port)),
    }
    Ok(decisions)
}
