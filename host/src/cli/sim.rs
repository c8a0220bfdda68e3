//! `wasock sim`: run a scenario's guests on the simulated network and print
//! the transcript.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::args::SimArgs;
use super::scenario::{Scenario, component_path, parse_scenario};
use crate::runtime::{Limits, Outcome, Runner, SimGuest, SimRun, Simulation};

/// Run the scenario. Exit 0 when every guest (daemons aside) exits 0 by the
/// deadline, 1 otherwise (naming the first that did not), 2 for a scenario
/// that does not parse.
pub fn main(args: SimArgs) -> i32 {
    let shown = args.scenario.display().to_string();
    let text = match std::fs::read(&args.scenario) {
        Ok(bytes) if bytes.starts_with(b"\0asm") => {
            eprintln!(
                "error: {shown} is a WebAssembly file, not a scenario: a scenario is a TOML file \
                 naming the hosts and the components they run (see examples/sim)"
            );
            return 2;
        }
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                eprintln!("error: the scenario {shown} is not UTF-8 text (a scenario is TOML)");
                return 2;
            }
        },
        Err(e) => {
            eprintln!("error: cannot read the scenario {shown}: {e}");
            return 2;
        }
    };
    let dir = args
        .scenario
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let guest_dir = args.guest_dir.clone();
    let mut scenario =
        match parse_scenario(&shown, &text, |name| component_path(name, &dir, &guest_dir)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
    // The trace's file is opened before the run, so that a path that
    // cannot be written is said before the run's time is spent.
    let trace_file = match &args.trace {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("error: cannot write the trace {}: {e}", path.display());
                return 2;
            }
        },
        None => None,
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(until) = args.until {
        scenario.until = until;
    }
    let run = match simulate(
        &scenario,
        &args.providers.providers,
        args.quiet,
        first_interrupt(),
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return 1;
        }
    };
    print!("{}", run.transcript.render());
    if let (Some(mut file), Some(path)) = (trace_file, &args.trace)
        && let Err(e) = std::io::Write::write_all(&mut file, run.transcript.json_lines().as_bytes())
    {
        eprintln!("error: cannot write the trace {}: {e}", path.display());
        return 1;
    }
    let secs = run.virtual_elapsed.as_secs_f64();
    let wall = run.wall_elapsed.as_secs_f64().max(1e-6);
    eprintln!(
        "sim: seed {}, {}, {} network events simulated ({:.0}/s), {} of them in the transcript; {:.3} s of virtual time in {:.3} s ({:.0}x)",
        scenario.seed,
        super::counted(run.outcomes.len() as u64, "guest"),
        run.events_processed,
        run.events_processed as f64 / wall,
        run.transcript.net_events(),
        secs,
        wall,
        secs / wall
    );
    if !scenario.nemeses.is_empty() {
        let who = if scenario.nemeses.len() > 1 {
            "nemeses"
        } else {
            "nemesis"
        };
        eprintln!(
            "sim: the {who} drew {} from seed {} (those before the run's end are in the transcript)",
            super::counted(run.faults_drawn as u64, "fault"),
            scenario.seed
        );
    }
    for (host, outcome, _) in &run.outcomes {
        if matches!(outcome, Outcome::Crashed) {
            eprintln!(
                "sim: host {host:?} crashed and was not back by the end (the scenario's crash, \
                 not a failure of its guest)"
            );
        }
    }
    if run.interrupted {
        eprintln!(
            "sim: interrupted at {secs:.3} s of virtual time; the transcript above ends there"
        );
        return 130;
    }
    match run.first_failure() {
        None => 0,
        Some((host, why)) => {
            eprintln!("error: host {host:?} failed: {why}");
            1
        }
    }
}

/// Completes at the first Ctrl-C (SIGINT), which then stops the run with
/// its transcript so far; a second one ends the process at once (exit
/// 130). Never completes if the signal cannot be caught (it then ends the
/// process, as it does by default).
fn first_interrupt() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let (interrupted, heard) = tokio::sync::oneshot::channel::<()>();
    // Caught from here on: the handler is in place before this returns.
    let caught = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .ok()
        .and_then(|rt| {
            let int = {
                let _in_rt = rt.enter();
                signal(SignalKind::interrupt()).ok()?
            };
            Some((rt, int))
        });
    let spawned = caught.and_then(|(rt, mut int)| {
        std::thread::Builder::new()
            .name("sim-interrupt".into())
            .spawn(move || {
                rt.block_on(async {
                    if int.recv().await.is_none() {
                        return;
                    }
                    eprintln!(
                        "sim: interrupted: stopping the guests; the transcript so far follows \
                         (Ctrl-C again to quit without it)"
                    );
                    let _ = interrupted.send(());
                    int.recv().await;
                    std::process::exit(130);
                });
            })
            .ok()
    });
    async move {
        if spawned.is_none() || heard.await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Load the scenario's components (each file once, composed on `providers`
/// if any are given) on a deterministic runner and run it until the
/// scenario's deadline or until `stop` completes.
pub fn simulate(
    scenario: &Scenario,
    providers: &[PathBuf],
    quiet: bool,
    stop: impl Future<Output = ()> + Send,
) -> anyhow::Result<SimRun> {
    let mut config = Runner::default_config();
    config.cache(wasmtime::Cache::from_file(None).ok());
    let runner = Runner::deterministic(&config)?;
    let mut components = BTreeMap::<PathBuf, _>::new();
    let mut sim = Simulation::new(scenario.seed);
    sim.default_link(scenario.default_link).verbose(!quiet);
    for h in &scenario.hosts {
        let guest = match &h.component {
            None => None,
            Some(path) => {
                let component = match components.get(path) {
                    Some(c) => Clone::clone(c),
                    None => {
                        let c = super::compose::load(&runner, path, providers).with_context(|| {
                            let dir = match path.parent() {
                                Some(d) if !d.as_os_str().is_empty() => d,
                                _ => Path::new("."),
                            };
                            // --guest-dir is where bare names are looked up;
                            // a path is the scenario's own.
                            let bare = h
                                .component_name
                                .as_deref()
                                .is_some_and(|n| !n.contains('/') && !n.ends_with(".wasm"));
                            if path.exists() || !bare {
                                format!("host {:?}", h.name)
                            } else if !dir.is_dir() {
                                format!(
                                    "host {:?}: there is no folder {}; name the folder the guests are in with --guest-dir",
                                    h.name,
                                    dir.display()
                                )
                            } else {
                                format!(
                                    "host {:?}: no such component in {}; build the guests first (cargo build --release --target wasm32-wasip2), or name the folder they are in with --guest-dir",
                                    h.name,
                                    dir.display()
                                )
                            }
                        })?;
                        components.insert(path.clone(), c.clone());
                        c
                    }
                };
                let mut guest = SimGuest::new(component)
                    .args(h.args.clone())
                    .env(h.env.clone())
                    .policy(h.policy.clone())
                    .start_at(h.start)
                    .limits(Limits {
                        timeout: h.timeout,
                        fuel: h.fuel,
                        ..Limits::default()
                    });
                if h.daemon {
                    guest = guest.daemon();
                }
                for c in &h.crashes {
                    guest = guest.crash(c.at, c.restart);
                }
                for s in &h.skews {
                    guest = guest.skew_clock(s.at, s.offset, s.restore);
                }
                for p in &h.pauses {
                    guest = guest.pause(p.at, p.resume);
                }
                Some(guest)
            }
        };
        sim.host(&h.name, &h.addrs, guest);
    }
    for (a, b, link) in &scenario.links {
        sim.link(a, b, *link);
    }
    for p in &scenario.partitions {
        sim.add_partition(p.clone());
    }
    for n in &scenario.nemeses {
        sim.nemesis(n.clone());
    }
    for (name, addrs) in &scenario.names {
        sim.name(name, addrs);
    }
    sim.run_until_stopped(&runner, scenario.until, stop)
}
