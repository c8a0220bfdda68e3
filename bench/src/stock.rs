//! An optional fourth side, D: the std::net guest (C's) under stock
//! `wasmtime run`, the runtime most people would otherwise use. Enabled by
//! pointing `WASOCK_BENCH_WASMTIME` at a wasmtime 48 CLI (`cargo install
//! wasmtime-cli --version =48.0.8 --locked`).
//!
//! The CLI runs as a child process, pinned where the measured thread is (a
//! child inherits its parent thread's CPU affinity). Only the wall-clock
//! rows have a D: the guest times its own workload, whereas the child's CPU
//! time would include the CLI's start-up.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;

use crate::guest::PATIENCE;

/// The variable that names the wasmtime CLI.
pub const VAR: &str = "WASOCK_BENCH_WASMTIME";

/// What `wasmtime run` needs to run a WASI 0.3 component with its
/// sockets.
const P3_FLAGS: &[&str] = &["-S", "p3=y"];

/// A wasmtime CLI to run the std::net guest under.
pub struct Stock {
    wasmtime: PathBuf,
    version: String,
    /// How long one run may take (see [`PATIENCE`]).
    patience: Duration,
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
        Ok(Some(Stock {
            wasmtime,
            version,
            patience: PATIENCE,
        }))
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

    /// Run `guest` under `wasmtime run` with `flags` and `args`, for at
    /// most its patience.
    fn run_guest(&self, guest: &str, flags: &[&str], args: &[String]) -> anyhow::Result<f64> {
        let mut child = Command::new(&self.wasmtime)
            .args(["run", "-S", "inherit-network=y"])
            .args(flags)
            .arg("--")
            .arg(guest)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("running {}", self.wasmtime.display()))?;
        // The pipes are read on threads of their own; the child has ended
        // when its standard output does.
        let read_all = |pipe: Option<Box<dyn Read + Send>>| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let mut text = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut text);
                }
                let _ = tx.send(String::from_utf8_lossy(&text).into_owned());
            });
            rx
        };
        let stdout = read_all(child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = read_all(child.stderr.take().map(|p| Box::new(p) as _));
        let Ok(stdout) = stdout.recv_timeout(self.patience) else {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!(
                "wasmtime run {args:?} did not end within {:?} and was stopped; \
                 its peer may be waiting for it, or it for the peer",
                self.patience
            );
        };
        let status = child.wait().context("waiting for wasmtime run")?;
        anyhow::ensure!(
            status.success(),
            "wasmtime run {args:?} failed ({status}): {stdout}{}",
            stderr.recv().unwrap_or_default()
        );
        wasock_bench_workloads::parse_report(&stdout)
            .with_context(|| format!("wasmtime run {args:?} reported nothing: {stdout}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in for the CLI: a shell script with `body`.
    fn fake_cli(name: &str, body: &str) -> Stock {
        let path = std::env::temp_dir().join(format!("wasock-bench-{}-{name}", std::process::id()));
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Stock {
            wasmtime: path,
            version: String::new(),
            patience: Duration::from_millis(500),
        }
    }

    /// `cli.run(args)`, again while the script cannot be run yet: a test
    /// thread that forks (another test spawning a process) while this one
    /// writes its script keeps a copy of the writing descriptor until the
    /// child execs, and running the script meanwhile fails with `ETXTBSY`.
    fn run(cli: &Stock, args: &[String]) -> anyhow::Result<f64> {
        let mut tries = 0;
        loop {
            match cli.run(args) {
                Err(e) if tries < 50 && format!("{e:#}").contains("Text file busy") => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    #[test]
    fn a_run_that_ends_gives_its_report() {
        let cli = fake_cli("ends", "echo result 42.5");
        assert_eq!(run(&cli, &[]).unwrap(), 42.5);
    }

    #[test]
    fn a_run_that_hangs_is_stopped_and_named() {
        let cli = fake_cli("hangs", "echo result 1; exec sleep 60");
        let start = std::time::Instant::now();
        let err = run(&cli, &["tcp-rtt".into()]).unwrap_err().to_string();
        assert!(start.elapsed() < Duration::from_secs(30), "it waited");
        assert!(err.contains("did not end within"), "{err}");
        assert!(err.contains("tcp-rtt"), "{err}");
    }

    #[test]
    fn a_run_that_fails_says_what_it_printed() {
        let cli = fake_cli("fails", "echo no luck >&2; exit 3");
        let err = run(&cli, &[]).unwrap_err().to_string();
        assert!(err.contains("no luck"), "{err}");
    }
}
