//! The `wasock` command line: argument parsing and the subcommands. The
//! binary's `main` only calls [`main`].

mod args;
mod explain;
mod run;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command, PolicyCommand, RuleArgs, RunArgs};

use crate::policy::Policy;

impl RuleArgs {
    /// The policy these rules make.
    pub fn policy(&self) -> Policy {
        let mut policy = Policy::deny_all();
        for rule in self.allow.iter().chain(&self.deny) {
            policy.push(rule.clone());
        }
        policy
    }
}

/// Log to stderr; `RUST_LOG` chooses what (default: warnings, which include
/// every policy denial).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
}

/// Run the command line: parse arguments (exit 2 on a bad one, before
/// anything runs), then the subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let code = match cli.command {
        Command::Run(args) => run::main(args),
        Command::Policy(PolicyCommand::Explain(args)) => explain::main(&args),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
