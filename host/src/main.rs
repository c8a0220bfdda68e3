//! The `wasock` command: see `wasock --help`.

fn main() -> std::process::ExitCode {
    wasock_host::cli::main()
}
