//! wasock's benchmark: the same workloads done by (A) native Rust std::net
//! code, (B) a guest using the wasock SDK under the wasock host and (C) the
//! same guest logic written with std::net (standard wasi:sockets) under the
//! same host, interleaved in one run so that machine drift hits all alike.
//!
//! `cargo run --release -p wasock-bench [-- --quick]` prints a table, then
//! one line per comparison: `NAME: A=.. B=.. C=.. B/A=.. B/C=.. B_wins=k/n`
//! (B_wins: in how many of the n runs B did better than C measured in the
//! same run). With
//! `WASOCK_BENCH_WASMTIME` naming a wasmtime CLI, a fourth side D (C's
//! guest under stock `wasmtime run`) is added to the wall-clock rows, and to
//! their lines as ` D=.. B/D=.. B_wins_over_D=k/n` (the paired count, as
//! for C).

mod containers;
mod guest;
mod http;
mod kv;
mod layers;
mod many;
mod memory;
mod p3;
mod peer;
mod probe;
mod serve;
mod server;
mod sim;
mod stats;
mod stock;
mod wrk;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use guest::{Guest, Guests};
use peer::{PeerProcess, Peers, Placement};
use stats::{Samples, thread_cpu};
use stock::Stock;
use wasock_bench_workloads as w;
use wasock_host::runtime::pooling_config;

/// One row: a quantity measured three ways.
struct Row {
    name: String,
    lower_is_better: bool,
    /// Whether B/A means something (not for memory native code keeps in
    /// the kernel, outside the resident set).
    against_native: bool,
    a: Samples,
    b: Samples,
    c: Samples,
    /// C's guest under stock `wasmtime run`, where measured.
    d: Samples,
}

impl Row {
    fn new(name: &str, lower_is_better: bool) -> Row {
        Row {
            name: name.to_string(),
            lower_is_better,
            against_native: true,
            a: Samples::default(),
            b: Samples::default(),
            c: Samples::default(),
            d: Samples::default(),
        }
    }

    /// The samples of one side.
    fn side(&mut self, side: Side) -> &mut Samples {
        match side {
            Side::Native => &mut self.a,
            // The WASI 0.3 guest's rows (p3.rs) keep B3 in B's place.
            Side::Guest(Guest::Wasock | Guest::P3) => &mut self.b,
            Side::Guest(Guest::Std) => &mut self.c,
            Side::Stock => &mut self.d,
        }
    }
}

/// Who does a workload.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// A: native code.
    Native,
    /// B or C: a guest under the wasock host.
    Guest(Guest),
    /// D: C's guest under stock `wasmtime run`.
    Stock,
}

impl From<Option<Guest>> for Side {
    fn from(g: Option<Guest>) -> Side {
        g.map_or(Side::Native, Side::Guest)
    }
}

/// Who does a workload: native code (`None`) or a guest; runs rotate
/// through them so that no side always goes first.
const SIDES: [Option<Guest>; 3] = [None, Some(Guest::Wasock), Some(Guest::Std)];

struct NativeUdp(UdpSocket);

impl w::Datagram for NativeUdp {
    fn send(&self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.send(buf)
    }
    fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.recv(buf)
    }
}

/// How much work each run does.
struct Plan {
    runs: usize,
    bulk_rounds: u32,
    stream_bytes: u32,
    rtt_rounds: u32,
    accepts: u32,
    instantiations: usize,
    idle_instances: usize,
    idle_connections: u32,
    /// Round trips per connection in the 1,000-connection rows.
    many_rounds: u32,
}

impl Plan {
    /// `--quick`: 3 short runs.
    fn quick() -> Plan {
        Plan {
            runs: 3,
            bulk_rounds: 300,
            stream_bytes: 64 << 20,
            rtt_rounds: 2000,
            accepts: 300,
            instantiations: 50,
            idle_instances: 100,
            idle_connections: 1000,
            many_rounds: 20,
        }
    }

    /// The full run: 15 runs.
    fn full() -> Plan {
        Plan {
            runs: 15,
            bulk_rounds: 2000,
            stream_bytes: 512 << 20,
            rtt_rounds: 20000,
            accepts: 2000,
            instantiations: 200,
            idle_instances: 1000,
            idle_connections: 10000,
            many_rounds: 100,
        }
    }
}

fn native(workload: &str, peers: &Peers, plan: &Plan) -> anyhow::Result<f64> {
    let tcp = |addr| -> anyhow::Result<TcpStream> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        Ok(s)
    };
    Ok(match workload {
        "tcp-bulk" => w::tcp_ping_pong(&mut tcp(peers.tcp_echo)?, plan.bulk_rounds, 65536)?,
        "tcp-stream" => {
            w::tcp_stream(&mut tcp(peers.tcp_sink)?, plan.stream_bytes as usize, 65536)?
        }
        "tcp-rtt" => w::tcp_round_trips(&mut tcp(peers.tcp_echo)?, plan.rtt_rounds, 64)?,
        "udp-rtt" => {
            let u = UdpSocket::bind("127.0.0.1:0")?;
            u.connect(peers.udp_echo)?;
            w::udp_round_trips(&NativeUdp(u), plan.rtt_rounds, 64)?
        }
        other => anyhow::bail!("no native {other}"),
    })
}

fn guest_args(workload: &str, peers: &Peers, plan: &Plan) -> Vec<String> {
    let (addr, rounds, size) = match workload {
        "tcp-bulk" => (peers.tcp_echo, plan.bulk_rounds, 65536),
        "tcp-stream" => (peers.tcp_sink, plan.stream_bytes, 65536),
        "tcp-rtt" => (peers.tcp_echo, plan.rtt_rounds, 64),
        _ => (peers.udp_echo, plan.rtt_rounds, 64),
    };
    vec![
        workload.into(),
        addr.to_string(),
        rounds.to_string(),
        size.to_string(),
    ]
}

/// Accepted connections per second: the server under test accepts (and
/// closes) `n` connections that a native client opens one after another.
fn accept_rate(
    server: impl FnOnce() -> anyhow::Result<std::net::SocketAddr>,
    n: u32,
) -> anyhow::Result<f64> {
    let addr = server()?;
    let start = Instant::now();
    for _ in 0..n {
        let mut s = TcpStream::connect(addr)?;
        // The server writes one byte per accepted connection.
        let mut b = [0u8; 1];
        s.read_exact(&mut b)?;
    }
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

/// A native server accepting `n` connections on a thread of its own (on
/// this thread's CPU); its address, and the thread, which ends with the CPU
/// time it used.
fn native_accept_server(
    n: u32,
) -> anyhow::Result<(std::net::SocketAddr, std::thread::JoinHandle<Duration>)> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let addr = l.local_addr()?;
    let server = std::thread::spawn(move || {
        let start = thread_cpu();
        for _ in 0..n {
            if let Ok((mut s, _)) = l.accept() {
                let _ = s.write_all(&[1]);
            }
        }
        thread_cpu().saturating_sub(start)
    });
    Ok((addr, server))
}

fn main() -> anyhow::Result<()> {
    // The CPUs there are to pin to, read before anything is pinned.
    stats::allowed_cpus();
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--peer") {
        return peer::serve(Placement::from_args(&args));
    }
    if args.get(1).map(String::as_str) == Some("--memory") {
        return memory::child(&args[2..]);
    }
    if args.get(1).map(String::as_str) == Some("--probe") {
        return probe::main(&args[2..]);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let plan = if quick { Plan::quick() } else { Plan::full() };

    let stock = Stock::from_env()?;
    let peer = PeerProcess::start(Placement::OtherCpu)?;
    let peers = peer.peers;
    // The same peers unpinned, for the rows measured as users run wasock:
    // nothing pinned anywhere.
    let free_peer = PeerProcess::start(Placement::Free)?;
    // And on the measured thread's CPU, for the rows where both ends share
    // one CPU.
    let near_peer = PeerProcess::start(Placement::SameCpu)?;
    // The measured side on one CPU, the peers on the other.
    stats::pin_to_cpu(0);
    // Guests run as `wasock run` runs them: on a single-threaded runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let guests = Guests::new(&wasock_host::runtime::Runner::default_config())?;
    // Instantiation is timed one instance at a time: a small pool will do.
    let pooled = Guests::new(&pooling_config(16, 64 << 20))?;

    let throughput = [
        ("tcp-bulk", "tcp_bulk_64KiB_pingpong_MBps"),
        ("tcp-stream", "tcp_stream_64KiB_writes_MBps"),
    ];
    let latency = [("tcp-rtt", "tcp_rtt_64B_us"), ("udp-rtt", "udp_rtt_64B_us")];
    // The wall-clock rows, named with `suffix` for a placement of its own.
    let wall_rows = |suffix: &str| -> Vec<Row> {
        throughput
            .iter()
            .map(|(_, n)| (n, false))
            .chain(latency.iter().map(|(_, n)| (n, true)))
            .map(|(n, lower_is_better)| Row::new(&format!("{n}{suffix}"), lower_is_better))
            .collect()
    };
    let mut rows = wall_rows("");
    // The same workloads with nothing pinned: the measured thread, the
    // peers and stock wasmtime's process all where the scheduler puts them.
    let mut unpinned = wall_rows("_unpinned");
    // And with both ends on one CPU, where a round trip costs what the two
    // ends compute and no cross-CPU wake-up: the placement the scheduler
    // sometimes chooses for unpinned native code.
    let mut one_cpu = wall_rows("_one_cpu");
    // What each operation costs the thread that does it, in CPU time: on a
    // machine where the wall clock is bound by the kernel's loopback and
    // cross-CPU wake-ups, this is the part a runtime can change.
    let mut cpu: Vec<Row> = [
        "tcp_bulk_cpu_us_per_round",
        "tcp_stream_cpu_us_per_64KiB",
        "tcp_rtt_cpu_us_per_round",
        "udp_rtt_cpu_us_per_round",
    ]
    .iter()
    .map(|n| Row::new(n, true))
    .collect();
    // The simulated provider beside the native one: A is the wasock guest's
    // UDP round trip on the native provider (B's udp-rtt, same run), B the
    // same guest on the simulator; wall clock both.
    let sim_bench = sim::SimBench::new()?;
    let mut sim_row = Row::new("udp_rtt_64B_sim_vs_native_us", true);
    // 1,000 connections to an async echo: A native tokio, B the async-echo
    // guest on the SDK's runtime.
    let many = many::Many::new()?;
    let mut many_rows = [
        Row::new("async_echo_1000conn_msgs_per_s", false),
        Row::new("async_echo_1000conn_p99_us", true),
        Row::new("async_echo_1000conn_cpu_us_per_msg", true),
    ];
    // The same echo with 10 clients talking among 2,000 silent ones: what a
    // wait costs when few of the sockets waited on are ready.
    let mut idle_rows = [
        Row::new("async_echo_10_of_2000conn_msgs_per_s", false),
        Row::new("async_echo_10_of_2000conn_cpu_us_per_msg", true),
    ];
    let mut accepts = Row::new("tcp_accepts_per_s", false);
    let mut accept_cpu = Row::new("tcp_accept_cpu_us_per_conn", true);
    // redis-benchmark against the kv guest and against redis-server.
    let kv_bench = kv::KvBench::new()?;
    let mut kv_rows = kv::rows();
    // wrk against the http guest and against the same logic natively.
    let http_bench = http::HttpBench::new()?;
    let mut http_rows = http::rows();
    // wrk against `wasock serve` with one and two workers, and against
    // stock `wasmtime serve`.
    let mut serve_bench =
        serve::ServeBench::new(stock.as_ref().map(Stock::path), if quick { 2 } else { 3 })?;
    // The same guest directly and through provider components.
    let mut layer_bench = layers::LayerBench::new(&wasock_host::runtime::Runner::default_config())?;
    // The workloads as a WASI 0.3 guest: B3 against A, and E.
    let mut p3_bench = p3::P3Bench::new(&wasock_host::runtime::Runner::default_config())?;

    // The wall-clock workloads rotate through every side there is.
    let mut sides: Vec<Side> = SIDES.iter().map(|&s| s.into()).collect();
    if stock.is_some() {
        sides.push(Side::Stock);
    }

    // One wall-clock measurement of `workload` on `side` against `peers`.
    let measure = |side: Side, workload: &str, peers: &Peers| -> anyhow::Result<f64> {
        let gargs = guest_args(workload, peers, &plan);
        Ok(match side {
            Side::Native => native(workload, peers, &plan)?,
            Side::Guest(guest) => rt.block_on(guests.run(guest, &gargs))?,
            Side::Stock => stock
                .as_ref()
                .context("side D without a CLI")?
                .run(&gargs)?,
        })
    };

    // Every wall-clock workload on every side against `peers`, the sides'
    // order rotating with `run` so that none always goes first, into
    // `rows`; with `cpu`, the measuring thread's CPU time per operation too
    // (not D's: its work is in a process of its own).
    let measure_rows = |run: usize,
                        peers: &Peers,
                        rows: &mut [Row],
                        mut cpu: Option<&mut [Row]>|
     -> anyhow::Result<()> {
        for (i, (workload, _)) in throughput.iter().chain(latency.iter()).enumerate() {
            let scale = if i < throughput.len() { 1e-6 } else { 1e-3 };
            let ops = f64::from(match *workload {
                "tcp-bulk" => plan.bulk_rounds,
                "tcp-stream" => plan.stream_bytes / 65536,
                _ => plan.rtt_rounds,
            });
            for k in 0..sides.len() {
                let side = sides[(run + k) % sides.len()];
                let start = thread_cpu();
                let value = measure(side, workload, peers)?;
                let used = thread_cpu().saturating_sub(start);
                rows[i].side(side).0.push(value * scale);
                if let Some(cpu) = cpu.as_deref_mut()
                    && !matches!(side, Side::Stock)
                {
                    cpu[i].side(side).0.push(used.as_secs_f64() * 1e6 / ops);
                }
            }
        }
        Ok(())
    };

    for run in 0..plan.runs {
        eprintln!("run {}/{}", run + 1, plan.runs);
        stats::unpin();
        measure_rows(run, &free_peer.peers, &mut unpinned, None)?;
        stats::pin_to_cpu(0);
        measure_rows(run, &near_peer.peers, &mut one_cpu, None)?;
        measure_rows(run, &peers, &mut rows, Some(&mut cpu))?;
        let native_provider = rows
            .iter()
            .find(|r| r.name == "udp_rtt_64B_us")
            .and_then(|r| r.b.0.last().copied())
            .unwrap_or(f64::NAN);
        layer_bench.run(run, &rt, &peers, &plan)?;
        p3_bench.run(run, &rt, &peers, &free_peer.peers, &plan, stock.as_ref())?;
        sim_row.a.0.push(native_provider);
        sim_row.b.0.push(sim_bench.udp_rtt_us(plan.rtt_rounds)?);
        let rounds = plan.many_rounds;
        let (a, b) = stats::in_turn(run, || many.native(rounds), || many.guest(rounds))?;
        for (row, (va, vb)) in many_rows.iter_mut().zip([
            (a.per_s, b.per_s),
            (a.p99_us, b.p99_us),
            (a.cpu_us, b.cpu_us),
        ]) {
            row.a.0.push(va);
            row.b.0.push(vb);
        }
        let idle_rounds = rounds * 100;
        let (a, b) = stats::in_turn(
            run,
            || many.native_mostly_idle(idle_rounds),
            || many.guest_mostly_idle(idle_rounds),
        )?;
        for (row, (va, vb)) in idle_rows
            .iter_mut()
            .zip([(a.per_s, b.per_s), (a.cpu_us, b.cpu_us)])
        {
            row.a.0.push(va);
            row.b.0.push(vb);
        }
        // The native server's thread on this CPU, its client on the other.
        let (addr, server) = native_accept_server(plan.accepts)?;
        let n = plan.accepts;
        accepts.a.0.push(
            std::thread::spawn(move || {
                stats::pin_to_cpu(1);
                accept_rate(|| Ok(addr), n)
            })
            .join()
            .map_err(|_| anyhow::anyhow!("client panicked"))??,
        );
        let used = server
            .join()
            .map_err(|_| anyhow::anyhow!("server panicked"))?;
        accept_cpu.a.0.push(used.as_secs_f64() * 1e6 / f64::from(n));
        for guest in [Guest::Wasock, Guest::Std] {
            let n = plan.accepts;
            let start = thread_cpu();
            let (task, out) = {
                let _g = rt.enter();
                guests.spawn(
                    guest,
                    &[
                        "accept".into(),
                        "127.0.0.1:0".into(),
                        n.to_string(),
                        "0".into(),
                    ],
                    // One guest on this thread, as `wasock run` runs it.
                    true,
                )?
            };
            // The native client runs on its own thread while this one drives
            // the guest.
            let client = std::thread::spawn(move || {
                // The client where the peers are, as for native code.
                stats::pin_to_cpu(1);
                accept_rate(
                    || {
                        let deadline = Instant::now() + Duration::from_secs(30);
                        loop {
                            let text = String::from_utf8_lossy(&out.contents()).into_owned();
                            if let Some(a) = text.lines().find_map(|l| l.strip_prefix("listening "))
                            {
                                return Ok(a.trim().parse()?);
                            }
                            anyhow::ensure!(Instant::now() < deadline, "the guest never listened");
                            std::thread::sleep(Duration::from_millis(2));
                        }
                    },
                    n,
                )
            });
            rt.block_on(task)?;
            let used = thread_cpu().saturating_sub(start);
            let side = Side::Guest(guest);
            accepts.side(side).0.push(
                client
                    .join()
                    .map_err(|_| anyhow::anyhow!("client panicked"))??,
            );
            accept_cpu
                .side(side)
                .0
                .push(used.as_secs_f64() * 1e6 / f64::from(n));
        }
        if let Some(k) = &kv_bench {
            k.run(run, &mut kv_rows)?;
        }
        if let Some(h) = &http_bench {
            h.run(run, &mut http_rows)?;
        }
        if let Some(s) = &mut serve_bench {
            s.run(run)?;
        }
    }
    rows.extend(unpinned);
    rows.extend(one_cpu);
    rows.push(accepts);
    rows.extend(many_rows);
    rows.extend(idle_rows);
    if kv_bench.is_some() {
        rows.extend(kv_rows);
    }
    if http_bench.is_some() {
        rows.extend(http_rows);
    }
    rows.extend(cpu);
    rows.push(accept_cpu);

    // Instantiation, pooled and not.
    let mut inst = Vec::new();
    for (label, g) in [
        ("instantiate_pooled_us", &pooled),
        ("instantiate_ondemand_us", &guests),
    ] {
        let mut row = Row::new(label, true);
        for _ in 0..plan.runs.min(3) {
            row.b.0.push(
                rt.block_on(g.instantiate_time(Guest::Wasock, plan.instantiations))?
                    .as_secs_f64()
                    * 1e6,
            );
            row.c.0.push(
                rt.block_on(g.instantiate_time(Guest::Std, plan.instantiations))?
                    .as_secs_f64()
                    * 1e6,
            );
        }
        inst.push(row);
    }
    rows.extend(inst);

    // Memory: per idle instance (each holding one connection), and per idle
    // connection (one instance, or native code, holding many); each figure
    // from a fresh process, the order rotating run by run.
    let mut per_instance = Row::new("memory_per_idle_instance_KiB", true);
    let mut per_connection = Row::new("memory_per_idle_connection_KiB", true);
    per_connection.against_native = false;
    let (instance, connection) = (memory::What::Instance, memory::What::Connection);
    for run in 0..plan.runs.min(3) {
        for k in 0..3 {
            let side = SIDES[(run + k) % 3];
            let conn = memory::measure(connection, side, plan.idle_connections, peers.tcp_hold)?;
            per_connection.side(side.into()).0.push(conn);
            if side.is_some() {
                let inst =
                    memory::measure(instance, side, plan.idle_instances as u32, peers.tcp_hold)?;
                per_instance.side(side.into()).0.push(inst);
            }
        }
    }
    rows.push(per_instance);
    rows.push(per_connection);

    // Containers: runc and the native echo against wasock's shim and the
    // component, 20 starts each (4 when quick).
    let mut container_bench = containers::ContainerBench::new(if quick { 4 } else { 20 })?;
    if let Some(c) = &mut container_bench {
        c.run()?;
    }

    print_table(&rows, quick, stock.as_ref().map(Stock::version));
    print_sim(&sim_row);
    layer_bench.print();
    p3_bench.print();
    if let Some(s) = &serve_bench {
        s.print();
    }
    if let Some(c) = &container_bench {
        c.print();
    }
    drop(peer);
    Ok(())
}

/// The simulator's line: B's rate over A's, and in how many runs the
/// simulator was the faster.
fn print_sim(r: &Row) {
    let wins =
        r.a.0
            .iter()
            .zip(&r.b.0)
            .filter(|(native, sim)| sim < native)
            .count();
    println!();
    println!(
        "simulated provider — the wasock guest's 64 B UDP round trip, wall clock: A on the native provider (loopback), B on the simulator (two hosts, zero-latency link)"
    );
    println!(
        "{}: native_provider={} sim={} sim_rate/native_rate={} sim_wins={wins}/{} (target: rate ratio >= 3)",
        r.name,
        median(&r.a),
        median(&r.b),
        ratio(&r.a, &r.b),
        r.a.0.len()
    );
}

fn fmt(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn ratio(x: &Samples, y: &Samples) -> String {
    let (a, b) = (x.median(), y.median());
    if a == 0.0 || b == 0.0 {
        "n/a".into()
    } else {
        format!("{:.2}", a / b)
    }
}

/// B/A where it means something.
fn ratio_to_native(r: &Row) -> String {
    if r.against_native {
        ratio(&r.b, &r.a)
    } else {
        "n/a".into()
    }
}

/// In how many runs B did better than C, as `k/n`, or n/a.
fn wins(r: &Row) -> String {
    wins_over(&r.b, &r.c, r.lower_is_better)
}

/// In how many runs `b` did better than `other` measured in the same run,
/// as `k/n`, or n/a.
fn wins_over(b: &Samples, other: &Samples, lower_is_better: bool) -> String {
    b.wins_over(other, lower_is_better)
        .map_or_else(|| "n/a".into(), |(k, n)| format!("{k}/{n}"))
}

/// A median and range, or n/a.
fn cell(s: &Samples) -> String {
    if s.0.is_empty() {
        "n/a".to_string()
    } else {
        let (lo, hi) = s.range();
        format!("{} [{}..{}]", fmt(s.median()), fmt(lo), fmt(hi))
    }
}

/// A median, or n/a.
fn median(s: &Samples) -> String {
    if s.0.is_empty() {
        "n/a".to_string()
    } else {
        fmt(s.median())
    }
}

/// The table, then the lines for scripts; `stock` is the version of the
/// wasmtime CLI that side D ran under, if it did.
fn print_table(rows: &[Row], quick: bool, stock: Option<&str>) {
    println!();
    println!(
        "wasock benchmark{} — A: native std::net, B: wasock guest, C: std::net guest on wasi:sockets",
        if quick { " (quick)" } else { "" }
    );
    if let Some(version) = stock {
        println!("D: C's guest under stock `wasmtime run` ({version})");
    }
    println!(
        "medians of {} runs, [min..max]",
        rows.first()
            .map(|r| r.a.0.len().max(r.b.0.len()))
            .unwrap_or(0)
    );
    println!();
    let d_head = if stock.is_some() {
        format!(" {:>22} {:>6} {:>6}", "D", "B/D", "B>D")
    } else {
        String::new()
    };
    println!(
        "{:<32} {:>22} {:>22} {:>22} {:>6} {:>6} {:>6}{d_head}",
        "workload", "A", "B", "C", "B/A", "B/C", "B>C"
    );
    for r in rows {
        let better = if r.lower_is_better {
            "(lower is better)"
        } else {
            ""
        };
        let d = if stock.is_some() {
            format!(
                " {:>22} {:>6} {:>6}",
                cell(&r.d),
                ratio(&r.b, &r.d),
                wins_over(&r.b, &r.d, r.lower_is_better)
            )
        } else {
            String::new()
        };
        println!(
            "{:<32} {:>22} {:>22} {:>22} {:>6} {:>6} {:>6}{d} {better}",
            r.name,
            cell(&r.a),
            cell(&r.b),
            cell(&r.c),
            ratio_to_native(r),
            ratio(&r.b, &r.c),
            wins(r)
        );
    }
    println!();
    for r in rows {
        let d = if r.d.0.is_empty() {
            String::new()
        } else {
            format!(
                " D={} B/D={} B_wins_over_D={}",
                median(&r.d),
                ratio(&r.b, &r.d),
                wins_over(&r.b, &r.d, r.lower_is_better)
            )
        };
        println!(
            "{}: A={} B={} C={} B/A={} B/C={} B_wins={}{d}",
            r.name,
            median(&r.a),
            median(&r.b),
            median(&r.c),
            ratio_to_native(r),
            ratio(&r.b, &r.c),
            wins(r)
        );
    }
}
