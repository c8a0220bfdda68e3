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
//! Under `taskset -c 0` both ends share one CPU (the peer process inherits
//! the affinity), as in the bench's `*_one_cpu` rows.
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
use crate::peer::{PeerProcess, Placement};

/// Run the probe the arguments after `--probe` ask for.
pub fn main(args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: wasock-bench --probe native|wasock|std|p3 tcp-bulk|tcp-stream|tcp-rtt|udp-rtt [RUNS], --probe many [RUNS], --probe many-load ADDR [IDLE], --probe p3-rows [RUNS], or --probe containers [RUNS]";
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
        let pinned = PeerProcess::start(Placement::OtherCpu)?;
        let free = PeerProcess::start(Placement::Free)?;
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
    if args.first().map(String::as_str) == Some("many-load") {
        // The many-connections client alone, against a server started
        // elsewhere (to count that server's system calls).
        let addr = args.get(1).context(usage)?.parse().context(usage)?;
        let (active, idle, rounds) = match args.get(2) {
            // With IDLE silent connections: 10 active ones, more rounds.
            Some(n) => (crate::many::BUSY, n.parse().context(usage)?, 2000),
            None => (crate::many::CONNECTIONS, 0, 20),
        };
        let (wall, rtts) = crate::many::load_with(addr, active, idle, rounds)?;
        println!("{} messages in {:?}", rtts.len(), wall);
        return Ok(());
    }
    if args.first().map(String::as_str) == Some("many") {
        let runs: usize = match args.get(1) {
            Some(n) => n.parse().context(usage)?,
            None => 3,
        };
        let many = crate::many::Many::new()?;
        for run in 0..runs {
            // Alternate which side goes first, as the bench does.
            let (a, b) = if run % 2 == 0 {
                let a = many.native(20)?;
                (a, many.guest(20)?)
            } else {
                let b = many.guest(20)?;
                (many.native(20)?, b)
            };
            println!(
                "many A per_s={:.0} p99_us={:.0} cpu_us={:.2} | B per_s={:.0} p99_us={:.0} cpu_us={:.2} | B/A {:.2} p99 {:.2}",
                a.per_s,
                a.p99_us,
                a.cpu_us,
                b.per_s,
                b.p99_us,
                b.cpu_us,
                b.per_s / a.per_s,
                b.p99_us / a.p99_us
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
    let peer = PeerProcess::start(Placement::Free)?;
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
