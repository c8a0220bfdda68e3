//! An optional fourth side, D: the std::net guest (C's) under stock
//! `wasmtime run`, the runtime most people would otherwise use. Enabled by
//! pointing `WASOCK_BENCH_WASMTIME` at a wasmtime 48 CLI (`cargo install
//! wasmtime-cli --version =48.0.8 --locked`).
//!
//! The CLI runs as a child process, pinned where the measured thread is (a
//! child inherits its parent thread's CPU affinity). Only the wall-clock
//! rows have a D: the guest times its own workload, whereas the child's CPU
//! time would include the CLI's start-up.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context as _;

/// The variable that names the wasmtime CLI.
pub const VAR: &str = "WASOCK_BENCH_WASMTIME";

/// What `wasmtime run` needs to run a WASI 0.3 component with its
/// sockets.
const P3_FLAGS: &[&str] = &["-S", "p3=y"];

/// A wasmtime CLI to run the std::net guest under.
pub struct Stock {
    wasmtime: PathBuf,
    version: String,
}

impl Stock {
    /// The CLI `WASOCK_BENCH_WASMTIME` names, if it is set; an error if it
    /// is set but does not run.
    pub fn from_env() -> anyhow::Result<Option<Stock>> {
        let Some(path) = std::env::var_os(VAR) else {
            return Ok(None);
        };
        let wasmtime = PathBuf::from(path);
        let out = Command::new(&wasmtime)
            .arg("--version")
            .output()
            .with_context(|| format!("{VAR}={} does not run", wasmtime.display()))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Ok(Some(Stock { wasmtime, version }))
    }

    /// The CLI's path.
    pub fn path(&self) -> &std::path::Path {
        &self.wasmtime
    }

    /// What `wasmtime --version` said.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Run the std::net guest with `args` under `wasmtime run`, with the
    /// network inherited (stock wasmtime has no finer grant); the value it
    /// reported.
    pub fn run(&self, args: &[String]) -> anyhow::Result<f64> {
        self.run_guest(wasock_test_programs::BENCH_STD, &[], args)
    }

    /// Run the WASI 0.3 guest (B3's) with `args` under `wasmtime run`
    /// (side E), with WASI 0.3 switched on; the value it reported.
    pub fn run_p3(&self, args: &[String]) -> anyhow::Result<f64> {
        self.run_guest(wasock_test_programs::BENCH_P3, P3_FLAGS, args)
    }

    fn run_guest(&self, guest: &str, flags: &[&str], args: &[String]) -> anyhow::Result<f64> {
        let out = Command::new(&self.wasmtime)
            .args(["run", "-S", "inherit-network=y"])
            .args(flags)
            .arg("--")
            .arg(guest)
            .args(args)
            .output()
            .with_context(|| format!("running {}", self.wasmtime.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(
            out.status.success(),
            "wasmtime run {args:?} failed ({}): {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        wasock_bench_workloads::parse_report(&stdout)
            .with_context(|| format!("wasmtime run {args:?} reported nothing: {stdout}"))
    }
}
