//! WASI 0.3 rows: the same workloads as a WASI 0.3 guest (`bench_p3`, on
//! `wasi:sockets@0.3`'s async calls and streams) under wasock (B3), against
//! native code (A) and, when a wasmtime CLI is given, against the same
//! guest under stock `wasmtime run` (E). Both CPU placements: pinned as the
//! main rows are, and nothing pinned, as users run it. The sides rotate run
//! by run.

use crate::guest::{Guest, Guests};
use crate::peer::Peers;
use crate::stock::Stock;
use crate::{Plan, Row, guest_args, median, native, ratio, stats};

/// The workloads: (workload, row name, lower is better, target on B3/A).
const WORKLOADS: &[(&str, &str, bool, &str)] = &[
    ("tcp-bulk", "tcp_bulk_64KiB_pingpong_MBps", false, ""),
    (
        "tcp-stream",
        "tcp_stream_64KiB_writes_MBps",
        false,
        ">= 0.80",
    ),
    ("tcp-rtt", "tcp_rtt_64B_us", true, "<= 1.15"),
    ("udp-rtt", "udp_rtt_64B_us", true, "<= 1.15"),
];

/// Who does one measurement.
#[derive(Clone, Copy)]
enum P3Side {
    Native,
    Wasock,
    Stock,
}

/// The WASI 0.3 guest, compiled, and the rows: pinned, then unpinned.
pub struct P3Bench {
    guests: Guests,
    rows: Vec<Row>,
}

impl P3Bench {
    /// Compile the WASI 0.3 guest on `config` (the runner builds its
    /// engine with concurrency support for it).
    pub fn new(config: &wasmtime::Config) -> anyhow::Result<P3Bench> {
        let guests = Guests::only(config, &[Guest::P3])?;
        let rows = [false, true]
            .iter()
            .flat_map(|&unpinned| {
                WORKLOADS.iter().map(move |(_, name, lower, _)| {
                    let suffix = if unpinned { "_unpinned" } else { "" };
                    Row::new(&format!("p3_{name}{suffix}"), *lower)
                })
            })
            .collect();
        Ok(P3Bench { guests, rows })
    }

    /// One run of every row: unpinned against `free`, then pinned (the
    /// measured thread on CPU 0) against `pinned`, as the main rows.
    pub fn run(
        &mut self,
        run: usize,
        rt: &tokio::runtime::Runtime,
        pinned: &Peers,
        free: &Peers,
        plan: &Plan,
        stock: Option<&Stock>,
    ) -> anyhow::Result<()> {
        let mut sides = vec![P3Side::Native, P3Side::Wasock];
        if stock.is_some() {
            sides.push(P3Side::Stock);
        }
        for (offset, peers, unpin) in [(WORKLOADS.len(), free, true), (0, pinned, false)] {
            if unpin {
                stats::unpin();
            } else {
                stats::pin_to_cpu(0);
            }
            for (i, (workload, _, _, _)) in WORKLOADS.iter().enumerate() {
                let scale = if i < 2 { 1e-6 } else { 1e-3 };
                let args = guest_args(workload, peers, plan);
                for k in 0..sides.len() {
                    let side = sides[(run + k) % sides.len()];
                    let row = &mut self.rows[offset + i];
                    let value = match side {
                        P3Side::Native => native(workload, peers, plan)?,
                        P3Side::Wasock => rt.block_on(self.guests.run(Guest::P3, &args))?,
                        P3Side::Stock => stock.expect("side E without a CLI").run_p3(&args)?,
                    };
                    let samples = match side {
                        P3Side::Native => &mut row.a,
                        P3Side::Wasock => &mut row.b,
                        P3Side::Stock => &mut row.d,
                    };
                    samples.0.push(value * scale);
                }
            }
        }
        stats::pin_to_cpu(0);
        Ok(())
    }

    /// The rows' lines: B3/A with its target, and B3/E with B3's wins.
    pub fn print(&self) {
        println!();
        println!(
            "WASI 0.3 guest — A: native std::net, B3: the same workloads as a WASI 0.3 guest (wasi:sockets@0.3) under wasock, E: that guest under stock `wasmtime run`"
        );
        for (k, r) in self.rows.iter().enumerate() {
            let (_, _, _, target) = WORKLOADS[k % WORKLOADS.len()];
            let target = if target.is_empty() {
                String::new()
            } else {
                format!(" (target: B3/A {target})")
            };
            let e = if r.d.0.is_empty() {
                String::new()
            } else {
                let wins =
                    r.b.wins_over(&r.d, r.lower_is_better)
                        .map_or_else(|| "n/a".into(), |(w, n)| format!("{w}/{n}"));
                format!(
                    " E={} B3/E={} B3_wins_over_E={wins}",
                    median(&r.d),
                    ratio(&r.b, &r.d)
                )
            };
            println!(
                "{}: A={} B3={} B3/A={}{e}{target}",
                r.name,
                median(&r.a),
                median(&r.b),
                ratio(&r.b, &r.a),
            );
        }
    }
}
