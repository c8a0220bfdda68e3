//! Provider components' rows: the same wasock guest directly on the host
//! (A) and composed on `examples/provider-tap` (B), for the wall-clock
//! workloads; and a round trip between two sockets of one guest on the
//! native provider (A) and on `examples/provider-memnet` (B). Each pair is
//! measured back to back in each run, the order alternating.

use wasmtime::Config;

use crate::guest::{Guest, Guests};
use crate::peer::Peers;
use crate::stats::in_turn;
use crate::{Plan, Row, guest_args, median, ratio};

/// The tap's workloads: (workload, row name, lower is better).
const TAP: &[(&str, &str, bool)] = &[
    ("tcp-bulk", "tcp_bulk_64KiB_pingpong_MBps_tap", false),
    ("tcp-stream", "tcp_stream_64KiB_writes_MBps_tap", false),
    ("tcp-rtt", "tcp_rtt_64B_us_tap", true),
    ("udp-rtt", "udp_rtt_64B_us_tap", true),
];

const TAP_WASM: &str = wasock_test_programs::PROVIDER_TAP;
const MEMNET_WASM: &str = wasock_test_programs::PROVIDER_MEMNET;

/// The guests, compiled, and the rows.
pub struct LayerBench {
    guests: Guests,
    /// One per [`TAP`] entry, then memnet's.
    pub rows: Vec<Row>,
}

impl LayerBench {
    /// Compile B's guest directly, on the tap and on memnet.
    pub fn new(config: &Config) -> anyhow::Result<LayerBench> {
        let guests = Guests::composed(
            config,
            &[
                (Guest::Wasock, None),
                (Guest::Wasock, Some(TAP_WASM)),
                (Guest::Wasock, Some(MEMNET_WASM)),
            ],
        )?;
        let mut rows: Vec<Row> = TAP
            .iter()
            .map(|(_, name, lower)| Row::new(name, *lower))
            .collect();
        rows.push(Row::new("loop_rtt_64B_us_memnet", true));
        Ok(LayerBench { guests, rows })
    }

    /// One run of every row.
    pub fn run(
        &mut self,
        run: usize,
        rt: &tokio::runtime::Runtime,
        peers: &Peers,
        plan: &Plan,
    ) -> anyhow::Result<()> {
        for (i, (workload, _, _)) in TAP.iter().enumerate() {
            let scale = if i < 2 { 1e-6 } else { 1e-3 };
            let args = guest_args(workload, peers, plan);
            let (a, b) = in_turn(
                run,
                || rt.block_on(self.guests.run(Guest::Wasock, &args)),
                || rt.block_on(self.guests.run_on(Guest::Wasock, Some(TAP_WASM), &args)),
            )?;
            self.rows[i].a.0.push(a * scale);
            self.rows[i].b.0.push(b * scale);
        }
        let args: Vec<String> = [
            "loop-rtt".to_string(),
            "127.0.0.1:0".into(),
            plan.rtt_rounds.to_string(),
            "64".into(),
        ]
        .into();
        let (a, b) = in_turn(
            run,
            || rt.block_on(self.guests.run(Guest::Wasock, &args)),
            || rt.block_on(self.guests.run_on(Guest::Wasock, Some(MEMNET_WASM), &args)),
        )?;
        let memnet = self.rows.len() - 1;
        self.rows[memnet].a.0.push(a * 1e-3);
        self.rows[memnet].b.0.push(b * 1e-3);
        Ok(())
    }

    /// Print the rows: B over A, and in how many runs B did better.
    pub fn print(&self) {
        println!();
        println!(
            "provider components — A: the wasock guest directly on the host; B: the same guest composed on provider-tap (rows *_tap), or on provider-memnet (loop_rtt: both ends in the guest; A on the native provider over loopback)"
        );
        for r in &self.rows {
            // The median of the runs' own ratios, beside the ratio of the
            // medians: each pair ran back to back.
            let mut paired: Vec<f64> = r.a.0.iter().zip(&r.b.0).map(|(a, b)| b / a).collect();
            paired.sort_by(f64::total_cmp);
            let paired = paired
                .get(paired.len() / 2)
                .map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"));
            let wins =
                r.b.wins_over(&r.a, r.lower_is_better)
                    .map_or_else(|| "n/a".into(), |(k, n)| format!("{k}/{n}"));
            println!(
                "{}: A={} B={} B/A={} paired_B/A={paired} B_wins={wins}",
                r.name,
                median(&r.a),
                median(&r.b),
                ratio(&r.b, &r.a),
            );
        }
    }
}
