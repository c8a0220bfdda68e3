//! `wasock serve`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context as _;

use super::args::ServeArgs;
use crate::policy::{Effect, Operation};
use crate::runtime::{ServeOptions, Server, pooling_config};

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
    let result = match super::block_on(true, serve(args, policy, pinned)) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match result {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

async fn serve(
    args: ServeArgs,
    policy: crate::policy::Policy,
    pinned: crate::runtime::PinnedNames,
) -> anyhow::Result<bool> {
    let limits = args.limits.limits();
    let max = usize::try_from(args.max_concurrent).unwrap_or(usize::MAX);
    let config = pooling_config(
        u32::try_from(max).unwrap_or(u32::MAX).saturating_add(8),
        limits.max_memory,
    );
    let runner = super::runner_for(config, &limits)?;
    let component = runner.load(&args.component)?;
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
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    // Install the signal handlers before saying we listen, so that a signal
    // sent as soon as the address is known is handled, not fatal.
    let shutdown = shutdown_signal()?;
    println!("listening on {}", listener.local_addr()?);
    let stats = server.stats();
    let drained = server.serve(listener, shutdown).await;
    eprintln!(
        "wasock: served {} connections ({} failed, {} refused by policy); at most {} at once; {}",
        stats.served.load(Ordering::SeqCst),
        stats.failed.load(Ordering::SeqCst),
        stats.refused.load(Ordering::SeqCst),
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
