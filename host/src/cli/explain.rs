//! `wasock policy explain`.

use std::net::SocketAddr;

use super::args::ExplainArgs;
use crate::policy::normalize_name;

/// Print the decision; 0 if allowed, 1 if denied, 2 if the target is bad.
pub fn main(args: &ExplainArgs) -> i32 {
    let policy = args.rules.policy();
    let decision = if args.operation.takes_address() {
        match args.target.parse::<SocketAddr>() {
            Ok(addr) => policy.check_address(args.operation, addr, &[]),
            Err(_) => {
                eprintln!(
                    "error: `{}` is not an address: expected IP:PORT, e.g. 127.0.0.1:80 or [::1]:80",
                    args.target
                );
                return 2;
            }
        }
    } else {
        match normalize_name(&args.target) {
            Ok(name) => policy.check_name(&name),
            Err(e) => {
                eprintln!("error: `{}` is not a host name: {e}", args.target);
                return 2;
            }
        }
    };
    println!("{decision}");
    if decision.is_allowed() { 0 } else { 1 }
}
