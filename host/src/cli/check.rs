//! `wasock policy check`.

use super::args::CheckArgs;
use crate::policy::{Effect, parse_policy_file};

/// Print `ok` and a summary (exit 0), or every problem with its line and
/// column (exit 1).
pub fn main(args: &CheckArgs) -> i32 {
    let shown = args.file.display().to_string();
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read the policy file {shown}: {e}");
            return 1;
        }
    };
    match parse_policy_file(&shown, &text) {
        Ok(file) => {
            let rules = file.policy.rules();
            let grants = rules.iter().filter(|r| r.effect == Effect::Allow).count();
            println!(
                "ok: {shown}: {grants} grants, {} refusals, {} pinned names",
                rules.len() - grants,
                file.pinned.len()
            );
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}
