//! A server under measurement on a thread of its own, pinned to CPU 0:
//! natively or as a guest under wasock, run as `wasock run` runs one (a
//! current-thread runtime, the smallest server policy).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::Component;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasock_host::policy::Policy;
use wasock_host::runtime::{HostState, Limits, Runner, WasockCtx};

use crate::stats::{pin_to_cpu, thread_cpu};

/// A running server: its address, and a way to stop it that returns the
/// CPU time of its thread.
pub struct Server {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    done: std::thread::JoinHandle<anyhow::Result<Duration>>,
}

impl Server {
    /// Run `serve` on a current-thread runtime (in a `LocalSet`) of its own
    /// thread, pinned to CPU 0: it sends its listening address on the
    /// channel it is given, and serves until the receiver it is given
    /// completes.
    pub fn start<F, Fut>(what: &str, serve: F) -> anyhow::Result<Server>
    where
        F: FnOnce(mpsc::Sender<SocketAddr>, tokio::sync::oneshot::Receiver<()>) -> Fut
            + Send
            + 'static,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let (tx, rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        // Named after the server (the first 15 bytes show in profiles).
        let name: String = what.chars().take(15).collect();
        let done =
            std::thread::Builder::new()
                .name(name)
                .spawn(move || -> anyhow::Result<Duration> {
                    pin_to_cpu(0);
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    let local = tokio::task::LocalSet::new();
                    let start = thread_cpu();
                    local.block_on(&rt, serve(tx, stopped))?;
                    drop(local);
                    Ok(thread_cpu().saturating_sub(start))
                })?;
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .with_context(|| format!("the {what} never listened"))?;
        Ok(Server { addr, stop, done })
    }

    /// Stop the server; the CPU time its thread used.
    pub fn finish(self) -> anyhow::Result<Duration> {
        let _ = self.stop.send(());
        self.done
            .join()
            .map_err(|_| anyhow::anyhow!("the server thread panicked"))?
    }
}

/// A server guest (`component`, with `args` as its argv) under wasock with
/// the smallest server policy (bind and accept on 127.0.0.1) and `limits`;
/// it must print `listening on ADDR`.
pub fn guest_server(
    what: &'static str,
    runner: &Runner,
    component: &Component,
    args: &'static [&'static str],
    limits: Limits,
) -> anyhow::Result<Server> {
    let runner = runner.clone();
    let pre = runner.prepare(component)?;
    Server::start(what, move |tx, stopped| async move {
        let mut b = Policy::builder();
        for r in ["tcp-bind=127.0.0.1:*", "tcp-accept=127.0.0.1:*"] {
            b = b.allow(r)?;
        }
        let ctx = WasockCtx::builder()
            .policy(Arc::new(b.build()))
            .limits(limits)
            .build();
        let out = MemoryOutputPipe::new(4096);
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(out.clone()).inherit_stderr().args(args);
        let run = runner.run(&pre, HostState::new(wasi, ctx));
        let watch = report_listening(&out, tx, stopped);
        tokio::select! {
            exit = run => anyhow::bail!("the {what} ended: {}", exit.describe()),
            r = watch => r,
        }
    })
}

/// Send the address of the guest's `listening on ADDR` line (in `out`) on
/// `tx` as soon as it appears, then wait for `stopped`.
async fn report_listening(
    out: &MemoryOutputPipe,
    tx: mpsc::Sender<SocketAddr>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<()> {
    loop {
        let text = String::from_utf8_lossy(&out.contents()).into_owned();
        if let Some(a) = text.lines().find_map(|l| l.strip_prefix("listening on ")) {
            tx.send(a.trim().parse::<SocketAddr>()?)?;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = stopped.await;
    Ok(())
}
