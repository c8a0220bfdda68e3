//! wrk, the HTTP load generator, run as a child process.

use std::net::SocketAddr;
use std::process::Command;

use anyhow::Context as _;

use crate::stats::pin_to_cpu;

/// Whether wrk is installed; if not, says which rows are left out.
pub fn installed(rows: &str) -> bool {
    let ok = Command::new("wrk").arg("--version").output().is_ok();
    if !ok {
        eprintln!("wrk is not installed; the {rows} rows are left out");
    }
    ok
}

/// What one wrk run reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Requests per second (`Requests/sec`).
    pub per_s: f64,
    /// Requests completed in all.
    pub total: f64,
}

/// What a wrk run printed, read; an error if it saw socket errors or
/// non-2xx answers.
pub fn parse(out: &str) -> anyhow::Result<Report> {
    anyhow::ensure!(
        !out.contains("Socket errors") && !out.contains("Non-2xx"),
        "wrk saw errors:\n{out}"
    );
    let per_s = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk's output:\n{out}"))?;
    let total = out
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no request count in wrk's output:\n{out}"))?;
    Ok(Report { per_s, total })
}

/// How wrk loads a server.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// How long, in seconds.
    pub secs: u32,
    /// Connections open at once.
    pub connections: u32,
    /// Whether each request asks for its connection to be closed
    /// (`Connection: close`): a connection per request.
    pub close: bool,
}

/// `wrk -t1 -c{connections} -d{secs}s http://{addr}/`, from a thread pinned
/// to `cpu` (wrk inherits its affinity) or, with `None`, from one that
/// runs wherever the scheduler puts it.
pub fn run(addr: SocketAddr, load: Load, cpu: Option<usize>) -> anyhow::Result<Report> {
    std::thread::spawn(move || {
        match cpu {
            Some(cpu) => pin_to_cpu(cpu),
            None => crate::stats::unpin(),
        }
        let mut wrk = Command::new("wrk");
        if load.close {
            wrk.args(["-H", "Connection: close"]);
        }
        let out = wrk
            .args([
                "-t1".to_string(),
                format!("-c{}", load.connections),
                format!("-d{}s", load.secs),
                format!("http://{addr}/"),
            ])
            .output()
            .context("running wrk")?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        anyhow::ensure!(
            out.status.success(),
            "wrk failed ({}): {text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        parse(&text)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the wrk thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::{Report, parse};

    #[test]
    fn output_is_read() {
        let out = "Running 2s test @ http://127.0.0.1:1/\n  1 threads and 50 connections\n  \
                   120000 requests in 2.00s, 14.00MB read\nRequests/sec:  60000.50\n";
        assert_eq!(
            parse(out).unwrap(),
            Report {
                per_s: 60000.5,
                total: 120000.0
            }
        );
        assert!(parse(&format!("{out}  Non-2xx or 3xx responses: 3\n")).is_err());
    }
}
