//! `wasock serve`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context as _;
use socket2::{Domain, Socket, Type};

use super::args::ServeArgs;
use crate::policy::{Effect, Operation};
use crate::runtime::{ServeOptions, Server, WorkerReport, pooling_config};

/// Serve until SIGINT or SIGTERM, then drain. Exit 0 if every instance
/// finished in time, 1 if some had to be stopped or serving failed, 2 for
/// bad arguments.
pub fn main(args: ServeArgs) -> i32 {
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
            "warning: no --allow tcp-accept rule: every connection will be closed unseen; e.g. --allow 'tcp-accept=127.0.0.0/8:*'"
        );
    }
    match serve(args, policy, pinned) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// Serve on `--workers` threads, each a single-threaded runtime with its
/// own listener on the address (`SO_REUSEPORT`) and the instances of the
/// connections it accepts. Separate listeners rather than one shared: the
/// kernel spreads new connections over them without waking every thread
/// for each, and an instance never leaves the thread (and the CPU caches)
/// it started on. They share the server: one limit on instances running
/// at once, one policy, one set of counters.
fn serve(
    args: ServeArgs,
    policy: crate::policy::Policy,
    pinned: crate::runtime::PinnedNames,
) -> anyhow::Result<bool> {
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
    let runner = super::runner_for(config, &limits)?;
    let component = super::compose::load(&runner, &args.component, &args.providers.providers)?;
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
    let options = ServeOptions {
        max_concurrent: max,
        drain_timeout: args.drain_timeout,
        limits,
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
    }
    .max(1);
    let mut listeners = bind_listeners(args.listen, workers)?.into_iter();
    let first = listeners.next().context("no listener")?;
    let addr = first.local_addr()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut threads = Vec::new();
    for (i, listener) in listeners.enumerate() {
        let server = server.clone();
        let stopped = stopped.clone();
        let thread = std::thread::Builder::new()
            .name(format!("wasock-serve-{}", i + 1))
            .spawn(move || worker(server, listener, stopped))
            .context("cannot start a serving thread")?;
        threads.push(thread);
    }
    // The first worker runs here, with the signal handlers.
    let first = super::single_threaded()?.block_on(async {
        // Install the signal handlers before saying we listen, so that a
        // signal sent as soon as the address is known is handled, not
        // fatal.
        let shutdown = shutdown_signal()?;
        println!("listening on {addr}");
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        accept(server.clone(), first, stopped).await
    })?;
    let mut reports = vec![first];
    for t in threads {
        reports.push(
            t.join()
                .map_err(|_| anyhow::anyhow!("a serving thread panicked"))??,
        );
    }
    let stats = server.stats();
    let drained = reports.iter().all(|r| r.drained);
    let per_worker: Vec<String> = reports.iter().map(|r| r.served.to_string()).collect();
    eprintln!(
        "wasock: served {} connections ({} failed, {} refused by policy; per worker: {}); at most {} at once; {}",
        stats.served.load(Ordering::SeqCst),
        stats.failed.load(Ordering::SeqCst),
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

/// One serving thread: its own runtime, accepting on `listener` until
/// the server stops.
fn worker(
    server: Arc<Server>,
    listener: std::net::TcpListener,
    stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<WorkerReport> {
    super::single_threaded()?.block_on(accept(server, listener, stopped))
}

/// A worker's accept loop on the runtime it is called on, until the
/// server stops.
async fn accept(
    server: Arc<Server>,
    listener: std::net::TcpListener,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<WorkerReport> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let stop = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    Ok(server.serve(listener, stop).await)
}

/// `n` listeners on `addr` (the later ones on the port the first got, if
/// `addr` asks for any), sharing it with `SO_REUSEPORT` when there are
/// several.
fn bind_listeners(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<std::net::TcpListener>> {
    let mut listeners = Vec::with_capacity(n);
    let mut at = addr;
    for _ in 0..n {
        let sock = Socket::new(Domain::for_address(at), Type::STREAM, None)?;
        sock.set_reuse_address(true)?;
        if n > 1 {
            sock.set_reuse_port(true)?;
        }
        sock.bind(&at.into())
            .with_context(|| format!("cannot listen on {addr}"))?;
        sock.listen(1024)
            .with_context(|| format!("cannot listen on {addr}"))?;
        sock.set_nonblocking(true)?;
        let listener = std::net::TcpListener::from(sock);
        at = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// SIGINT or SIGTERM, with the handlers installed now.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        eprintln!("wasock: shutting down: no new connections; waiting for running instances");
    })
}
