//! `wasock-bench --probe SIDE WORKLOAD [RUNS]`: one wall-clock workload on
//! one side, nothing pinned, against an unpinned peer process, printing
//! each run's value. For looking at one case under `perf stat`, `perf
//! sched` or `strace -c` without the rest of the bench around it:
//!
//! ```text
//! perf stat -e context-switches,cpu-migrations -- \
//!     target/release/wasock-bench --probe wasock tcp-rtt 5
//! ```
//!
//! SIDE is `native`, `wasock`, `std` or `p3` (the WASI 0.3 guest);
//! WORKLOAD is `tcp-bulk`, `tcp-stream`, `tcp-rtt` or `udp-rtt`. `--probe
//! many` runs the async echo guest's 1,000-connection row three times
//! instead, pinned as in the bench (server on CPU 0, clients on CPU 1);
//! `--probe p3-rows [RUNS]` the WASI 0.3 rows (A, B3 and, with
//! `WASOCK_BENCH_WASMTIME`, E) with the quick plan's sizes; `--probe
//! containers [RUNS]` the containers rows (runc and wasock's shim).

use anyhow::Context as _;

use crate::guest::{Guest, Guests};
use crate::peer::PeerProcess;

/// Run the probe the arguments after `--probe` ask for.
pub fn main(args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: wasock-bench --probe native|wasock|std|p3 tcp-bulk|tcp-stream|tcp-rtt|udp-rtt [RUNS], --probe many, --probe p3-rows [RUNS], or --probe containers [RUNS]";
    if args.first().map(String::as_str) == Some("containers") {
        let runs: usize = match args.get(1) {
            Some(n) => n.parse().context(usage)?,
            None => 20,
        };
        if let Some(mut bench) = crate::containers::ContainerBench::new(runs)? {
            bench.run()?;
            bench.print();
        }
        return Ok(());
    }
    if args.first().map(String::as_str) == Some("p3-rows") {
        let runs: usize = match args.get(1) {
            Some(n) => n.parse().context(usage)?,
            None => 5,
        };
        let stock = crate::stock::Stock::from_env()?;
        let pinned = PeerProcess::start(true)?;
        let free = PeerProcess::start(false)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut bench = crate::p3::P3Bench::new(&wasock_host::runtime::Runner::default_config())?;
        let plan = crate::Plan::quick();
        for run in 0..runs {
            eprintln!("run {}/{runs}", run + 1);
            bench.run(run, &rt, &pinned.peers, &free.peers, &plan, stock.as_ref())?;
        }
        bench.print();
        return Ok(());
    }
    if args.first().map(String::as_str) == Some("many") {
        let many = crate::many::Many::new()?;
        for _ in 0..3 {
            let m = many.guest(20)?;
            println!(
                "many per_s={:.0} p99_us={:.0} cpu_us={:.2}",
                m.per_s, m.p99_us, m.cpu_us
            );
        }
        return Ok(());
    }
    let side = match args.first().map(String::as_str) {
        Some("native") => None,
        Some("wasock") => Some(Guest::Wasock),
        Some("std") => Some(Guest::Std),
        Some("p3") => Some(Guest::P3),
        _ => anyhow::bail!("{usage}"),
    };
    let workload = args.get(1).context(usage)?.as_str();
    anyhow::ensure!(
        ["tcp-bulk", "tcp-stream", "tcp-rtt", "udp-rtt"].contains(&workload),
        "{usage}"
    );
    let runs: usize = match args.get(2) {
        Some(n) => n.parse().context(usage)?,
        None => 5,
    };
    let plan = crate::Plan::full();
    let peer = PeerProcess::start(false)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let which: Vec<Guest> = side.into_iter().collect();
    let guests = Guests::only(&wasock_host::runtime::Runner::default_config(), &which)?;
    for _ in 0..runs {
        let value = match side {
            None => crate::native(workload, &peer.peers, &plan)?,
            Some(g) => {
                rt.block_on(guests.run(g, &crate::guest_args(workload, &peer.peers, &plan)))?
            }
        };
        println!("{workload} {value:.0}");
    }
    Ok(())
}
