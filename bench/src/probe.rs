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
//! SIDE is `native`, `wasock` or `std`; WORKLOAD is `tcp-bulk`,
//! `tcp-stream`, `tcp-rtt` or `udp-rtt`. `--probe many` runs the async
//! echo guest's 1,000-connection row three times instead, pinned as in
//! the bench (server on CPU 0, clients on CPU 1).

use anyhow::Context as _;

use crate::guest::{Guest, Guests};
use crate::peer::PeerProcess;

/// Run the probe the arguments after `--probe` ask for.
pub fn main(args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: wasock-bench --probe native|wasock|std tcp-bulk|tcp-stream|tcp-rtt|udp-rtt [RUNS], or --probe many";
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
    let guests = Guests::new(&wasock_host::runtime::Runner::default_config())?;
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
