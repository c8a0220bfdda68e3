//! Host memory per idle instance and per idle connection.
//!
//! Each figure is measured in a fresh process of its own
//! (`wasock-bench --memory WHAT SIDE N HOLD_ADDR`), so that no measurement
//! inherits heap, allocator or pool memory that an earlier one left in the
//! resident set. Inside that process a small warm-up of the same kind runs
//! first, then the resident set is read before and after `N` idle instances
//! (or connections) are set up.

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasock_host::runtime::{GuestExit, pooling_config};

use crate::guest::{Guest, Guests};
use crate::stats::rss;

/// What is held idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// Instances, each holding one connection (pooling allocator).
    Instance,
    /// Connections, all held by one instance (or by native code).
    Connection,
}

/// Who holds it: native code (`None`) or a guest.
pub type Side = Option<Guest>;

impl What {
    fn name(self) -> &'static str {
        match self {
            What::Instance => "instance",
            What::Connection => "connection",
        }
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        None => "a",
        Some(Guest::Wasock) => "b",
        Some(Guest::Std) => "c",
        Some(Guest::P3) => "b3",
    }
}

/// Measure, in a child process, the resident-set growth in KiB per idle
/// `what` when `side` holds `n` of them open to the peer at `hold`.
pub fn measure(what: What, side: Side, n: u32, hold: SocketAddr) -> anyhow::Result<f64> {
    let out = Command::new(std::env::current_exe()?)
        .args([
            "--memory",
            what.name(),
            side_name(side),
            &n.to_string(),
            &hold.to_string(),
        ])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "memory measurement {} {} failed ({}): {}{}",
        what.name(),
        side_name(side),
        out.status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("kib "))
        .ok_or_else(|| anyhow::anyhow!("memory measurement printed no figure: {stdout}"))?
        .trim()
        .parse()
        .map_err(Into::into)
}

/// The child process's main: `args` are `WHAT SIDE N HOLD_ADDR`; prints
/// `kib X`.
pub fn child(args: &[String]) -> anyhow::Result<()> {
    let [what, side, n, hold] = args else {
        anyhow::bail!("usage: wasock-bench --memory instance|connection a|b|c N ADDR");
    };
    let what = match what.as_str() {
        "instance" => What::Instance,
        "connection" => What::Connection,
        other => anyhow::bail!("unknown memory measurement {other}"),
    };
    let side = match side.as_str() {
        "a" => None,
        "b" => Some(Guest::Wasock),
        "c" => Some(Guest::Std),
        "b3" => Some(Guest::P3),
        other => anyhow::bail!("unknown side {other}"),
    };
    let n: u32 = n.parse()?;
    let hold: SocketAddr = hold.parse()?;
    let kib = match (what, side) {
        (What::Connection, None) => native_connections(n, hold)?,
        (_, None) => anyhow::bail!("native code has no instances"),
        (What::Instance, Some(guest)) => guest_holders(guest, n, 1, hold)?,
        (What::Connection, Some(guest)) => guest_holders(guest, 1, n, hold)?,
    };
    println!("kib {kib}");
    Ok(())
}

fn per_item_kib(before: u64, after: u64, n: u32) -> f64 {
    after.saturating_sub(before) as f64 / f64::from(n.max(1)) / 1024.0
}

fn native_connections(n: u32, hold: SocketAddr) -> anyhow::Result<f64> {
    let connect = |k: u32| -> anyhow::Result<Vec<TcpStream>> {
        (0..k)
            .map(|_| TcpStream::connect(hold).map_err(Into::into))
            .collect()
    };
    drop(connect(n.min(100))?);
    let before = rss();
    let held = connect(n)?;
    let after = rss();
    drop(held);
    Ok(per_item_kib(before, after, n))
}

type Running = (tokio::task::JoinHandle<GuestExit>, MemoryOutputPipe);

fn hold_args(guest: Guest, hold: SocketAddr, n: u32) -> Vec<String> {
    // The wasock guest waits on all its connections with one poll; the
    // std::net guest (which has no poll) blocks reading the first.
    let workload = if guest == Guest::Wasock && n > 1 {
        "poll-hold"
    } else {
        "hold"
    };
    vec![workload.into(), hold.to_string(), n.to_string(), "0".into()]
}

/// Resident-set growth per held connection when `instances` guests each
/// hold `each` connections, after a smaller warm-up of the same shape: per
/// idle instance with `each` 1, per idle connection with `instances` 1.
fn guest_holders(guest: Guest, instances: u32, each: u32, hold: SocketAddr) -> anyhow::Result<f64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let guests = Guests::only(&pooling_config(instances + 16, 64 << 20), &[guest])?;
    let _g = rt.enter();
    let start = |count: u32, each: u32| -> anyhow::Result<Vec<Running>> {
        let running = (0..count)
            .map(|_| guests.spawn(guest, &hold_args(guest, hold, each), false))
            .collect::<anyhow::Result<Vec<_>>>()?;
        rt.block_on(wait_holding(&running))?;
        Ok(running)
    };
    let stop = |running: Vec<Running>| {
        for (t, _) in running {
            t.abort();
            let _ = rt.block_on(t);
        }
    };
    stop(start(instances.min(16), each.min(100))?);
    let before = rss();
    let running = start(instances, each)?;
    let after = rss();
    stop(running);
    Ok(per_item_kib(before, after, instances * each))
}

/// Wait until every guest in `running` printed `holding`.
async fn wait_holding(running: &[Running]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    for (task, out) in running {
        while !String::from_utf8_lossy(&out.contents()).contains("holding") {
            if task.is_finished() {
                anyhow::bail!(
                    "a holding guest ended early: {}",
                    String::from_utf8_lossy(&out.contents())
                );
            }
            anyhow::ensure!(Instant::now() < deadline, "guests did not start holding");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(())
}
