//! `wasock serve`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context as _;

use super::args::ServeArgs;
use crate::policy::{Effect, Operation};
use crate::runtime::{ServeOptions, Server, Workers, pooling_config};

/// Serve until SIGINT or SIGTERM, then drain. Exit 0 if every instance
/// finished in time, 1 if some had to be stopped or serving failed, 2 for
/// bad arguments.
pub fn main(args: ServeArgs) -> i32 {
    // A passed socket is taken first, before this process opens any
    // descriptor that could take number 3.
    let listen = match args.listen {
        Some(addr) => Listen::At(addr),
        None => match super::activation::listener() {
            Ok(l) => Listen::Passed(l),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        },
    };
    let (policy, pinned) = match args.rules.load() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if !policy
        .rules()
        .iter()
        .any(|r| r.effect == Effect::Allow && r.operation == Operation::TcpAccept)
    {
        eprintln!(
            "warning: no tcp-accept grant: every connection will be closed unseen; {} (for peers on loopback)",
            policy.set_by().grant("tcp-accept=127.0.0.0/8:*")
        );
    }
    match serve(args, listen, policy, pinned) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// The runner `serve` makes for these arguments (a pooled engine sized
/// for `--max-concurrent` instances), and the handler compiled on it.
pub(super) fn load(
    args: &ServeArgs,
) -> anyhow::Result<(crate::runtime::Runner, wasmtime::component::Component)> {
    let limits = args.limits.limits();
    let max = usize::try_from(args.max_concurrent).unwrap_or(usize::MAX);
    // Each provider composed under the handler brings its own core
    // instances, memory and tables: room for as many times more.
    let components = u32::try_from(args.providers.providers.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let config = pooling_config(
        u32::try_from(max)
            .unwrap_or(u32::MAX)
            .saturating_add(8)
            .saturating_mul(components),
        limits.max_memory,
    );
    let runner = super::runner_for(config, &limits).map_err(|e| {
        // wasmtime's pool reserves address space for every instance at once.
        if format!("{e:#}").contains("memory pool") {
            e.context(format!(
                "cannot set up {max} instances at once (max-concurrent): each memory \
                 reserves 4 GiB of address space (not of RAM); allow fewer at once"
            ))
        } else {
            e
        }
    })?;
    let component = super::compose::load(&runner, &args.component, &args.providers.providers)?;
    super::report_cache(&args.component);
    Ok((runner, component))
}

/// Where the server takes its connections.
enum Listen {
    /// A listener bound here (`--listen`).
    At(std::net::SocketAddr),
    /// The listener a service manager passed (socket activation).
    Passed(std::net::TcpListener),
}

/// Serve on `--workers` threads ([`Workers`]: a single-threaded runtime
/// and an `SO_REUSEPORT` listener each, or the passed listener shared),
/// sharing one server.
fn serve(
    args: ServeArgs,
    listen: Listen,
    policy: crate::policy::Policy,
    pinned: crate::runtime::PinnedNames,
) -> anyhow::Result<bool> {
    let limits = args.limits.limits();
    let max = usize::try_from(args.max_concurrent).unwrap_or(usize::MAX);
    let (runner, component) = load(&args)?;
    if let Some(nearest) = args.providers.providers.first()
        && component
            .get_export_index(None, crate::runtime::HANDOFF_EXPORT)
            .is_none()
    {
        anyhow::bail!(
            "provider {} does not export wasock:sockets/handoff, which serve needs to hand it each connection; build it with the wasock SDK's provider feature (wasock::export_provider!), or run the server as an app (wasock run --provider)",
            nearest.display()
        );
    }
    super::release_freed_memory();
    let options = ServeOptions {
        max_concurrent: max,
        drain_timeout: args.drain_timeout,
        limits,
        env: args.env.clone(),
        ..ServeOptions::default()
    };
    let server = Arc::new(
        Server::new(
            runner,
            &component,
            Arc::new(policy),
            Arc::new(pinned),
            options,
        )
        .with_context(|| format!("cannot serve {}", args.component.display()))?,
    );
    let workers = match args.workers {
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let workers = match listen {
        Listen::At(addr) => Workers::bind(addr, workers)?,
        Listen::Passed(listener) => Workers::from_listener(listener, workers)?,
    };
    let addr = workers.local_addr()?;
    let reports = workers.run(server.clone(), || {
        // Install the signal handlers before saying we listen, so that a
        // signal sent as soon as the address is known is handled, not
        // fatal.
        let shutdown = shutdown_signal()?;
        println!("listening on {addr}");
        Ok(shutdown)
    })?;
    let stats = server.stats();
    let drained = reports.iter().all(|r| r.drained);
    let per_worker: Vec<String> = reports.iter().map(|r| r.served.to_string()).collect();
    eprintln!(
        "wasock: served {} ({} failed, {} left by the peer, {} refused by policy; per worker: {}); at most {} at once; {}",
        super::counted(stats.served.load(Ordering::SeqCst), "connection"),
        stats.failed.load(Ordering::SeqCst),
        stats.peer_left.load(Ordering::SeqCst),
        stats.refused.load(Ordering::SeqCst),
        per_worker.join(", "),
        stats.peak.load(Ordering::SeqCst),
        if drained {
            "drained cleanly".to_string()
        } else {
            format!(
                "stopped {} instances at the drain deadline",
                stats.aborted.load(Ordering::SeqCst)
            )
        }
    );
    Ok(drained)
}

/// SIGINT or SIGTERM, with the handlers installed now.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let cannot = |what: &str, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("cannot handle {what}: {e}"))
    };
    let mut term = signal(SignalKind::terminate()).map_err(|e| cannot("SIGTERM", e))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| cannot("SIGINT", e))?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        eprintln!("wasock: shutting down: no new connections; waiting for running instances");
    })
}
