//! Containers: how long from `ctr run` to the guest echoing its first
//! connection, and how much memory an idle container takes, for the same
//! echo run (A) by runc as a native static binary and (B) by wasock's
//! containerd shim as the `tcp-echo` component, on a containerd of the
//! bench's own ([`Containerd`]). Both on the host's network, nothing pinned
//! (as containerd runs them), the sides alternating.
//!
//! Needs root, Debian's containerd, and the release builds of
//! `containerd-shim-wasock-v1` and `native-echo` beside the bench's binary
//! (`.ci/run` builds them); without them the rows are skipped, saying why.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use containerd_shim_wasock::harness::{self, Containerd, PATIENCE, RUNC};

use crate::stats::Samples;

/// A or B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Runc,
    Wasock,
}

/// The bench: a containerd with both images imported.
pub struct ContainerBench {
    containerd: Containerd,
    native: String,
    wasm: String,
    /// How the native echo is linked: `static` or `dynamic`.
    linked: &'static str,
    /// Milliseconds from `ctr run` to the first echo, per side.
    start_ms: [Samples; 2],
    /// Proportional set size of the container's processes (the shim and
    /// what runs in the container), KiB, per side.
    idle_kib: [Samples; 2],
    /// Memory per container with [`CROWD`] of a side idle at once, KiB.
    crowd_kib: [f64; 2],
    runs: usize,
}

/// How many idle containers of a side [`ContainerBench::crowd`] runs at once.
const CROWD: usize = 10;

impl ContainerBench {
    /// `None` (having said why) where containers cannot be run here.
    pub fn new(runs: usize) -> anyhow::Result<Option<ContainerBench>> {
        let skip = |why: &str| {
            println!("containers: skipped: {why}");
            Ok(None)
        };
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return skip("needs root (containerd)");
        }
        if std::process::Command::new("containerd")
            .arg("--version")
            .output()
            .is_err()
        {
            return skip("containerd is not installed (apt-get install containerd)");
        }
        let dir = bin_dir()?;
        let shim = dir.join("containerd-shim-wasock-v1");
        let echo = dir.join("native-echo");
        for (path, build) in [
            (&shim, "cargo build --release -p containerd-shim-wasock"),
            (
                &echo,
                "cargo rustc --release -p wasock-bench --bin native-echo -- -C target-feature=+crt-static",
            ),
        ] {
            if !path.exists() {
                return skip(&format!(
                    "{} is missing; build it with `{build}`",
                    path.display()
                ));
            }
        }
        let containerd = Containerd::start(&dir);
        // A dynamically linked build (cargo build rebuilds it so) brings its
        // libraries; the bench says which it ran.
        let native = harness::native_image("docker.io/wasock/native-echo:bench", &echo);
        let linked = if native.libraries.is_empty() {
            "static"
        } else {
            "dynamic"
        };
        let native = containerd.import_image(&native.image);
        let wasm = containerd.import("tcp-echo-bench", wasock_test_programs::TCP_ECHO, |b| b);
        Ok(Some(ContainerBench {
            containerd,
            native,
            wasm,
            linked,
            start_ms: Default::default(),
            idle_kib: Default::default(),
            crowd_kib: [0.0; 2],
            runs,
        }))
    }

    /// Every run: both sides once, alternating which goes first, then
    /// [`ContainerBench::crowd`]; one start of each before, not counted (the images' first unpacking, and
    /// the component's first compile, which fills the shim's cache).
    pub fn run(&mut self) -> anyhow::Result<()> {
        for side in [Side::Runc, Side::Wasock] {
            self.start(side, "warm")?;
        }
        self.containerd.wait_for_background_compiles();
        for run in 0..self.runs {
            let order = if run % 2 == 0 {
                [Side::Runc, Side::Wasock]
            } else {
                [Side::Wasock, Side::Runc]
            };
            for side in order {
                let (ms, kib) = self.start(side, &format!("c{run}"))?;
                self.start_ms[side as usize].0.push(ms);
                self.idle_kib[side as usize].0.push(kib);
            }
        }
        self.crowd()
    }

    /// Start one container of `side`, time it to its first echo, measure
    /// it idle, and stop it.
    fn start(&self, side: Side, id: &str) -> anyhow::Result<(f64, f64)> {
        let (id, running, first) = self.launch(side, id)?;
        let ms = first?;
        let kib = container_pss_kib(&self.containerd, &id);
        self.stop(&id, running, kib).map(|kib| (ms, kib))
    }

    /// Start one container of `side`; its id, its run, and the time to its
    /// first echo (or why there was none).
    fn launch(
        &self,
        side: Side,
        id: &str,
    ) -> anyhow::Result<(String, harness::Running, anyhow::Result<f64>)> {
        let id = format!("{side:?}-{id}").to_lowercase();
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let began = Instant::now();
        let running = match side {
            Side::Runc => {
                self.containerd
                    .run_with(RUNC, &id, &self.native, &[], &["/program", &listen])
            }
            Side::Wasock => self.containerd.run(
                &id,
                &self.wasm,
                &[
                    "--annotation",
                    "wasock.dev/allow=tcp-bind=127.0.0.1:* tcp-accept=127.0.0.0/8:*",
                ],
                &["/app.wasm", &listen],
            ),
        };
        let addr: SocketAddr = listen.parse()?;
        let first = first_echo(addr, began).map(|()| began.elapsed().as_secs_f64() * 1e3);
        Ok((id, running, first))
    }

    /// Kill container `id` and wait for its end; `measured`, or its error
    /// with the container's exit status and stderr.
    fn stop<T>(
        &self,
        id: &str,
        running: harness::Running,
        measured: anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.containerd.kill(id, "SIGKILL");
        let (status, err) = running.finish();
        measured.map_err(|e| anyhow::anyhow!("{id}: {e}; exit {status}; stderr:\n{err}"))
    }

    /// Memory per container with [`CROWD`] idle containers of each side
    /// running at once (a side at a time): what their processes take
    /// together, over their number. Pages every container's processes
    /// share (the shim's and runc's code) count once here, as they do on a
    /// node, where they count whole for a container alone.
    fn crowd(&mut self) -> anyhow::Result<()> {
        for side in [Side::Runc, Side::Wasock] {
            let mut crowd = Vec::new();
            for i in 0..CROWD {
                let (id, running, first) = self.launch(side, &format!("crowd{i}"))?;
                crowd.push((id, running));
                if let Err(e) = first {
                    let (id, running) = crowd.pop().expect("just pushed");
                    return self.stop(&id, running, Err(e));
                }
            }
            let mut total = 0.0;
            let mut pids = Vec::new();
            for (id, _) in &crowd {
                pids.extend(container_pids(&self.containerd, id)?);
            }
            pids.sort_unstable();
            pids.dedup();
            for pid in pids {
                total += pss_kib(pid);
            }
            for (id, running) in crowd {
                self.stop(&id, running, Ok(()))?;
            }
            self.crowd_kib[side as usize] = total / CROWD as f64;
        }
        Ok(())
    }

    /// The rows.
    pub fn print(&self) {
        println!();
        println!(
            "containers — `ctr run --net-host` on a containerd of the bench's own, {} runs, nothing pinned: A the echo as a native {} binary under runc, B examples/tcp-echo under containerd-shim-wasock-v1 (its component from the shim's compilation cache, filled by the uncounted first start)",
            self.runs, self.linked
        );
        let [a, b] = &self.start_ms;
        println!(
            "container_start_to_first_echo_ms: A={} B={} B/A={} (target: <= 1.0) B_wins={}",
            crate::median(a),
            crate::median(b),
            crate::ratio(b, a),
            b.wins_over(a, true)
                .map_or_else(|| "n/a".into(), |(k, n)| format!("{k}/{n}")),
        );
        let [a, b] = &self.idle_kib;
        println!(
            "container_idle_pss_kib: A={} B={} B/A={} (shim and container processes, one container alone)",
            crate::median(a),
            crate::median(b),
            crate::ratio(b, a),
        );
        let [a, b] = self.crowd_kib;
        if a > 0.0 && b > 0.0 {
            println!(
                "container_idle_pss_kib_{CROWD}_at_once: A={a:.0} B={b:.0} B/A={:.2} (per container, {CROWD} idle containers of a side at once)",
                b / a
            );
        }
    }
}

/// Where the bench's own binary is (and the binaries built beside it).
fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.parent().map(Path::to_path_buf).unwrap_or_default())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Connect (retrying every millisecond until the server listens) and echo
/// one byte.
fn first_echo(addr: SocketAddr, began: Instant) -> anyhow::Result<()> {
    loop {
        if let Ok(mut s) = TcpStream::connect(addr) {
            s.set_read_timeout(Some(PATIENCE))?;
            s.write_all(b"x")?;
            let mut b = [0u8; 1];
            s.read_exact(&mut b)?;
            return Ok(());
        }
        anyhow::ensure!(began.elapsed() < PATIENCE, "no echo on {addr}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The proportional set size of container `id`'s processes
/// ([`container_pids`]).
fn container_pss_kib(containerd: &Containerd, id: &str) -> anyhow::Result<f64> {
    Ok(container_pids(containerd, id)?
        .into_iter()
        .map(pss_kib)
        .sum())
}

/// Container `id`'s processes: its shim's (every process started with
/// `-id ID`: the shim, and for wasock its zygote) and the task's process
/// tree.
fn container_pids(containerd: &Containerd, id: &str) -> anyhow::Result<Vec<u32>> {
    let out = containerd.ctr(&["task", "ls"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    let task: u32 = listing
        .lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            (f.next() == Some(id)).then(|| f.next()?.parse().ok())?
        })
        .ok_or_else(|| anyhow::anyhow!("task {id} not listed: {listing}"))?;
    let mut pids = vec![task];
    let needle = format!("-id\0{id}\0");
    for entry in std::fs::read_dir("/proc")? {
        let Ok(pid) = entry?.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let parent = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')?
                    .1
                    .split_whitespace()
                    .nth(1)?
                    .parse::<u32>()
                    .ok()
            });
        if String::from_utf8_lossy(&cmdline).contains(&needle) || parent == Some(task) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// A process's proportional set size in KiB (0 once it has gone).
fn pss_kib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}
