//! `wasock policy explain`.

use std::net::SocketAddr;

use super::args::ExplainArgs;
use crate::policy::{
    Decision, Operation, Policy, Reason, ip_literal, no_destination, normalize_name,
};
use crate::runtime::PinnedNames;

/// Print the decision (one line per address for a pinned name), then what
/// it depends on; exit 0 if allowed, 1 if denied, 2 if the arguments are
/// bad.
pub fn main(args: &ExplainArgs) -> i32 {
    let (policy, pinned) = match args.rules.load() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Ok(addr) = args.target.parse::<SocketAddr>()
        && let Some(why) = never_a_destination(args.operation, addr)
    {
        println!("{why}");
        return 1;
    }
    let explained = match decide(&policy, &pinned, args) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    for d in &explained.decisions {
        println!("{d}");
    }
    for why in &explained.refused {
        println!("{why}");
    }
    for note in &explained.notes {
        println!("{note}");
    }
    if explained.refused.is_empty() && explained.decisions.iter().all(Decision::is_allowed) {
        0
    } else {
        1
    }
}

/// Why `addr` can never be `op`'s destination, whatever the policy says:
/// the host refuses a connect or send to the unspecified address or to
/// port 0 before it asks the policy (`address-not-available`, as the
/// WIT's `error-code` documents), so no grant would help.
fn never_a_destination(op: Operation, addr: SocketAddr) -> Option<String> {
    if !matches!(op, Operation::TcpConnect | Operation::UdpSend) {
        return None;
    }
    no_destination(addr).map(|what| {
        format!(
            "denied {op} {addr}: {what} is no destination, and the host fails it with \
             address-not-available before the policy is asked (wit/types.wit), so no grant \
             helps; give the peer's own address (127.0.0.1 for this machine)"
        )
    })
}

/// Whether `addr` may be `op`'s destination; if not, why, into `refused`.
fn destination(op: Operation, addr: SocketAddr, refused: &mut Vec<String>) -> bool {
    match never_a_destination(op, addr) {
        Some(why) => {
            refused.push(why);
            false
        }
        None => true,
    }
}

/// The decisions on a target, and what a denial among them depends on
/// beyond the target as given: a name the guest resolves first (a grant
/// by name covers the addresses the guest resolved from that name), or
/// the addresses a name turns out to have.
struct Explained {
    decisions: Vec<Decision>,
    /// Addresses the name has that the host refuses as destinations
    /// before the policy is asked (see [`never_a_destination`]).
    refused: Vec<String>,
    notes: Vec<String>,
}

impl From<Decision> for Explained {
    fn from(d: Decision) -> Explained {
        Explained {
            decisions: vec![d],
            refused: Vec::new(),
            notes: Vec::new(),
        }
    }
}

fn decide(policy: &Policy, pinned: &PinnedNames, args: &ExplainArgs) -> Result<Explained, String> {
    let op = args.operation;
    if !op.takes_address() {
        // An address resolves to itself, without a grant (as at run time).
        if let Some(ip) = ip_literal(&args.target) {
            return Ok(Decision::literal(ip).into());
        }
        let name = normalize_name(&args.target)
            .map_err(|e| format!("`{}` is not a host name: {e}", args.target))?;
        return Ok(policy.check_name(&name).into());
    }
    if let Ok(addr) = args.target.parse::<SocketAddr>() {
        let decision = policy.check_address(op, addr, &[]);
        if decision.is_allowed() {
            return Ok(decision.into());
        }
        // Names pinned to this address that the guest may resolve: once it
        // has, grants by that name apply to the address.
        let mut names: Vec<&str> = pinned
            .iter()
            .filter(|(name, ips)| ips.contains(&addr.ip()) && policy.check_name(name).is_allowed())
            .map(|(name, _)| name)
            .collect();
        names.sort();
        let notes = names
            .into_iter()
            .filter_map(|name| {
                let d = policy.check_address(op, addr, &[name.to_string()]);
                d.is_allowed().then(|| {
                    format!("if the guest resolved {name} first (pinned to it by --resolve): {d}")
                })
            })
            .collect();
        return Ok(Explained {
            decisions: vec![decision],
            refused: Vec::new(),
            notes,
        });
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
    if host.starts_with('[') {
        return Err(format!(
            "`{}` is not an IPv6 address and port: an address goes in brackets, with a scope as \
             a numeric interface index, e.g. [fe80::1%2]:80",
            args.target
        ));
    }
    let port: u16 = port.parse().map_err(|_| bad())?;
    let name = normalize_name(host).map_err(|e| format!("`{host}` is not a host name: {e}"))?;
    // The guest must be allowed to resolve the name first (a grant by name
    // for the operation also grants that): said only when it is not.
    let resolve = policy.check_name(&name);
    let resolvable = resolve.is_allowed();
    let mut explained = Explained {
        decisions: Vec::new(),
        refused: Vec::new(),
        notes: Vec::new(),
    };
    let names = vec![name.clone()];
    let mut then = match pinned.get(&name) {
        Some(ips) => ips
            .iter()
            .map(|ip| SocketAddr::new(*ip, port))
            .filter(|&a| destination(op, a, &mut explained.refused))
            .map(|a| policy.check_address(op, a, &names))
            .collect(),
        None => {
            let by_name = policy.check_named(op, &name, port);
            // Denied for want of a grant (not refused), of a name the guest
            // may resolve: grants on its addresses may still apply, to the
            // addresses the name has. Decided for those this machine
            // resolves it to now, when it can say.
            if resolvable && by_name.reason == Reason::NoGrant {
                match resolve_now(&name, port) {
                    Some(addrs) => {
                        explained.notes.push(format!(
                            "decided for the addresses {name} resolves to on this machine now; \
                             the guest's lookup may answer others (give --resolve {name}=IP to \
                             explain for them)"
                        ));
                        addrs
                            .into_iter()
                            .filter(|&a| destination(op, a, &mut explained.refused))
                            .map(|a| policy.check_address(op, a, &names))
                            .collect()
                    }
                    None => {
                        explained.notes.push(format!(
                            "decided by the name alone: rules on addresses apply to the \
                             addresses {name} resolves to when the guest runs; give --resolve \
                             {name}=IP to explain for them"
                        ));
                        vec![by_name]
                    }
                }
            } else {
                vec![by_name]
            }
        }
    };
    if resolvable {
        explained.decisions.append(&mut then);
    } else {
        // Nothing after the lookup happens: what would, is a note.
        explained.decisions.push(resolve);
        explained.notes.extend(
            then.iter()
                .map(|d| format!("once the guest may resolve {name}: {d}")),
        );
    }
    Ok(explained)
}

/// The addresses `name` has on this machine now (as the native provider
/// would resolve it for a guest), if the system answers within a few
/// seconds; `None` otherwise (no resolver, no such name).
fn resolve_now(name: &str, port: u16) -> Option<Vec<SocketAddr>> {
    use std::net::ToSocketAddrs;
    let (tx, rx) = std::sync::mpsc::channel();
    let query = (name.to_string(), port);
    // A thread of its own, so that a resolver that hangs costs only the wait.
    std::thread::Builder::new()
        .name("wasock-explain-resolve".into())
        .spawn(move || {
            let found = query.to_socket_addrs().map(|a| a.collect::<Vec<_>>());
            let _ = tx.send(found);
        })
        .ok()?;
    let mut addrs = rx
        .recv_timeout(std::time::Duration::from_secs(3))
        .ok()?
        .ok()?;
    let mut seen = std::collections::HashSet::new();
    addrs.retain(|a| seen.insert(*a));
    (!addrs.is_empty()).then_some(addrs)
}
