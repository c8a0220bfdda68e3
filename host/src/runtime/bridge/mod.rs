//! A provider component as a provider of the host: the bridge that lets
//! guests which do not import wasock's interface (standard `wasi:sockets`
//! 0.2 and 0.3 guests) run on a provider component.
//!
//! A wasock app is composed with its provider components instead
//! (`runtime::compose`), so that its calls stay inside wasmtime. A
//! standard guest imports `wasi:sockets`, which the host serves from its
//! socket layer on a [`Provider`]: here, one whose sockets are those of a
//! provider component's instance. wasmtime 48 cannot link one instance's
//! exports to another's imports, so the host calls the component's exports
//! itself.
//!
//! The instance lives in a store of its own, on a thread of its own (with
//! a single-threaded tokio runtime for its own host calls). Each socket
//! operation is a call sent to that thread, which the caller waits for:
//! the component's sockets are non-blocking, so that is one call's time.
//! Waiting for readiness is the thread's: between calls it asks the
//! component's `poll` about the sockets tasks wait on, and wakes them. A
//! layer (a component that imports wasock's interface, such as
//! `provider-tap`) may see its sockets become ready from below, so the
//! thread waits in its `poll`; a call for the thread ends that wait (the
//! store's waits are interrupted). A provider of its own (such as
//! `provider-memnet`) changes only when called, so the thread waits for
//! calls alone.
//!
//! The host's policy applies twice: to the guest's operations, above the
//! bridge, and to what the component does with the layer below, at its own
//! host boundary (the context it is started with).

mod driver;
mod socket;

use std::net::IpAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::Notify;
use wasmtime::component::Component;

use self::driver::{Calls, Job};
use self::socket::BridgedSocket;
use super::bindings::provider::ProviderPre;
use super::convert::{family_from_net, ip_to_std, type_from_net};
use super::runner::Runner;
use super::state::HostState;
use crate::net::{BoxFuture, ErrorCode, Family, NetSocket, Provider, SocketType};

/// What the store of a provider component that serves the host keeps for
/// the bridge (`WasockCtx::lent`).
pub(crate) struct Lent {
    /// Notified when a call for the thread comes: it ends the instance's
    /// `poll` and `poll-set.wait` as if their timeout had run out, so that
    /// the thread gets the store back.
    pub(crate) interrupt: Arc<Notify>,
    /// How many times the instance has polled the host (the layer below).
    pub(crate) polls: u64,
}

/// A provider component, instantiated on a thread of its own and serving
/// the host's socket layer as a [`Provider`].
///
/// ```no_run
/// use std::sync::Arc;
/// use wasmtime_wasi::WasiCtxBuilder;
/// use wasock_host::policy::Policy;
/// use wasock_host::runtime::{ComponentProvider, HostState, Runner, WasockCtx};
///
/// let runner = Runner::new()?;
/// let memnet = runner.load("provider_memnet.wasm".as_ref())?;
/// // What the component may do below it: nothing (memnet needs nothing);
/// // what it writes to stderr goes to ours.
/// let mut wasi = WasiCtxBuilder::new();
/// wasi.inherit_stderr();
/// let below = WasockCtx::builder().policy(Arc::new(Policy::deny_all())).build();
/// let provider = ComponentProvider::start(&runner, &memnet, HostState::new(wasi, below))?;
/// // Guests whose context has this provider run on memnet's network.
/// let ctx = WasockCtx::builder().provider(Arc::new(provider)).build();
/// # drop(ctx);
/// # Ok::<(), anyhow::Error>(())
/// ```
pub struct ComponentProvider {
    calls: Calls,
}

impl ComponentProvider {
    /// Instantiate `component` (a provider component, compiled by
    /// `runner`) in a store with `below` as its data (its WASI: where its
    /// stderr goes; its wasock context: the policy, limits and provider
    /// for what it imports), and start its thread. The thread ends when
    /// this and every socket it gave out are dropped.
    pub fn start(
        runner: &Runner,
        component: &Component,
        mut below: HostState,
    ) -> anyhow::Result<ComponentProvider> {
        let pre = runner
            .linker()
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("the provider component imports something wasock does not provide")?;
        let pre = ProviderPre::new(pre).map_err(anyhow::Error::from).context(
            "not a provider component: it must export wasock's `socket`, `poll`, `name-lookup` and `handoff` (world `wasock:sockets/provider`; `wasock::export_provider!` in Rust)",
        )?;
        let interrupt = Arc::new(Notify::new());
        below.wasock.lent = Some(Lent {
            interrupt: interrupt.clone(),
            polls: 0,
        });
        let state = below;
        let (jobs, queue) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let watches = driver::Watches::default();
        let thread_watches = watches.clone();
        let (ready, started) = std::sync::mpsc::sync_channel(1);
        let runner = runner.clone();
        // The provider is a layer itself: the host's polls of its sockets
        // lend each entry to it, and it lends them again below.
        let (engine, layers) = (
            component.engine().clone(),
            super::runner::layers(component) + 1,
        );
        std::thread::Builder::new()
            .name("wasock-provider".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready.send(Err(anyhow::Error::from(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    let instantiated = async {
                        let mut store = runner.store_on(&engine, state, layers)?;
                        let exports = pre.instantiate_async(&mut store).await?;
                        Ok::<_, wasmtime::Error>((store, exports))
                    };
                    match instantiated.await {
                        Ok((store, exports)) => {
                            let _ = ready.send(Ok(()));
                            driver::run(store, exports, queue, thread_watches).await;
                        }
                        Err(e) => {
                            let e = anyhow::Error::from(e)
                                .context("cannot start the provider component");
                            let _ = ready.send(Err(e));
                        }
                    }
                });
            })
            .context("cannot start the provider component's thread")?;
        started
            .recv()
            .context("the provider component's thread ended before it started")??;
        Ok(ComponentProvider {
            calls: Calls::new(jobs, interrupt, watches),
        })
    }
}

impl Provider for ComponentProvider {
    fn open(
        &self,
        family: Family,
        socket_type: SocketType,
    ) -> Result<Box<dyn NetSocket>, ErrorCode> {
        let (f, t) = (family_from_net(family), type_from_net(socket_type));
        let socket = self.calls.call(move |i| {
            Box::pin(async move {
                let called = i
                    .exports
                    .wasock_sockets_socket()
                    .socket()
                    .call_open(&mut i.store, f, t)
                    .await;
                let opened = i.answer(called)?;
                BridgedSocket::adopt(i, opened).await
            })
        })?;
        Ok(Box::new(BridgedSocket::new(
            self.calls.clone(),
            socket,
            family,
            socket_type,
        )))
    }

    fn resolve(&self, name: &str) -> BoxFuture<Result<Vec<IpAddr>, ErrorCode>> {
        let name = name.to_string();
        Box::pin(self.calls.ask(move |i| {
            Box::pin(async move {
                let called = i
                    .exports
                    .wasock_sockets_name_lookup()
                    .call_resolve_addresses(&mut i.store, &name, None)
                    .await;
                Ok(i.answer(called)?.into_iter().map(ip_to_std).collect())
            })
        }))
    }
}
