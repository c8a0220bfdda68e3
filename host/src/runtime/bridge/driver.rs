//! The thread that owns a provider component's instance: it runs the calls
//! the bridged sockets send it, one at a time, and wakes the tasks that
//! wait on those sockets when the provider's `poll` says they are ready.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::net::{ErrorCode, Readiness, WakerList};
use crate::runtime::bindings::provider::Provider as Exports;
use crate::runtime::bindings::provider::exports::wasock::sockets::poll::PollEntry;
use crate::runtime::bindings::wasock::sockets::types as wit;
use crate::runtime::convert::{error_to_net, readiness_from_net, readiness_to_net};
use crate::runtime::state::HostState;

/// How long the thread lets a layer wait in its `poll` at most when
/// nothing else is to be done. A call for the thread ends the wait sooner
/// (the store's waits are interrupted); the bound keeps a component that
/// also waits some other way (a sleep) from holding calls longer.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// Every readiness condition: what a look at a socket asks for.
fn all() -> Readiness {
    Readiness::from_bits(0xf)
}

/// The future of one call, on the provider's thread.
pub(super) type CallFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// The future of one call that answers, on the provider's thread.
pub(super) type Answer<'a, R> = Pin<Box<dyn Future<Output = Result<R, ErrorCode>> + 'a>>;

/// One call for the provider's thread.
pub(super) type Job = Box<dyn for<'a> FnOnce(&'a mut Instance) -> CallFuture<'a> + Send>;

/// The provider's instance and what the thread keeps beside it.
pub(super) struct Instance {
    /// The provider's store.
    pub(super) store: Store<HostState>,
    /// Its exports.
    pub(super) exports: Exports,
    /// Tasks waiting for a socket to become ready, by socket and interest.
    watches: HashMap<(u64, Readiness), Watch>,
    /// Set once the instance trapped: every call fails from then on.
    pub(super) broken: bool,
}

/// The tasks waiting on the provider's socket `socket` (for the interest
/// in its key).
struct Watch {
    socket: ResourceAny,
    wakers: WakerList,
}

impl Watch {
    fn wake(self) {
        self.wakers.wake();
    }
}

impl Instance {
    /// Wake `waker` once the provider's socket `socket` (the bridge's
    /// number `id`) is ready for `interest`, with any other task waiting
    /// for the same.
    pub(super) fn watch(
        &mut self,
        id: u64,
        socket: ResourceAny,
        interest: Readiness,
        waker: Waker,
    ) {
        let watch = self.watches.entry((id, interest)).or_insert(Watch {
            socket,
            wakers: WakerList::default(),
        });
        if let Some(made_room) = watch.wakers.add(&waker) {
            made_room.wake();
        }
    }

    /// How many times the component has polled the layer below so far.
    fn polls_below(&self) -> u64 {
        self.store
            .data()
            .wasock
            .lent
            .as_ref()
            .map_or(0, |lent| lent.polls)
    }

    /// Forget the watches on socket `id` (closed).
    pub(super) fn forget(&mut self, id: u64) {
        self.watches.retain(|(of, _), _| *of != id);
    }

    /// What the provider's `poll` says of `socket` now, with no wait.
    pub(super) async fn look(&mut self, socket: ResourceAny) -> Result<Readiness, ErrorCode> {
        let entry = PollEntry {
            socket,
            interest: readiness_from_net(all()),
        };
        let found = self.poll(&[entry], Some(0)).await?;
        Ok(found.first().copied().unwrap_or(Readiness::ERROR))
    }

    /// The provider's `poll`, its trap made the instance's end.
    async fn poll(
        &mut self,
        entries: &[PollEntry],
        timeout: Option<u64>,
    ) -> Result<Vec<Readiness>, ErrorCode> {
        let called = self
            .exports
            .wasock_sockets_poll()
            .call_poll(&mut self.store, entries, timeout)
            .await;
        let found = self.answer(called)?;
        Ok(found.into_iter().map(readiness_to_net).collect())
    }

    /// A call's answer: a trap is the instance's end (see
    /// [`Instance::settle`]), an error code the provider contract's.
    pub(super) fn answer<T>(
        &mut self,
        called: wasmtime::Result<Result<T, wit::ErrorCode>>,
    ) -> Result<T, ErrorCode> {
        self.settle(called)?.map_err(error_to_net)
    }

    /// A call's result, with a trap turned into the instance's end: it is
    /// logged once, and the provider's sockets fail with `network-down`.
    pub(super) fn settle<T>(&mut self, called: wasmtime::Result<T>) -> Result<T, ErrorCode> {
        called.map_err(|trap| {
            if !self.broken {
                tracing::error!(target: "wasock::provider", "the provider component trapped: {trap:#}; its sockets fail with network-down from now on");
                self.broken = true;
            }
            ErrorCode::NetworkDown
        })
    }

    /// Look at every watched socket (waiting at most `timeout`) and wake
    /// the tasks whose sockets are ready. The sockets go to the component
    /// in polls of at most its host's entry limit; only the first may wait.
    async fn check(&mut self, timeout: u64) {
        let keys: Vec<(u64, Readiness)> = self.watches.keys().copied().collect();
        let most = self.store.data().wasock.limits().max_poll_entries.max(1);
        let mut wait = Some(timeout);
        for keys in keys.chunks(most) {
            let entries: Vec<PollEntry> = keys
                .iter()
                .map(|&(id, interest)| PollEntry {
                    socket: self.watches[&(id, interest)].socket,
                    interest: readiness_from_net(interest),
                })
                .collect();
            let found = match self.poll(&entries, wait.take().or(Some(0))).await {
                Ok(found) if found.len() == keys.len() => found,
                // The component refused the look, answered for other
                // sockets than asked, or is gone: wake every task, whose
                // next call meets what is wrong.
                _ => vec![all(); keys.len()],
            };
            for (key, ready) in keys.iter().zip(found) {
                if ready.intersects(key.1.wakes_on())
                    && let Some(w) = self.watches.remove(key)
                {
                    w.wake();
                }
            }
        }
    }
}

/// Run the provider's thread: calls as they come, and between them the
/// watched sockets. Ends when every sender is gone (the provider and all
/// its sockets dropped), which drops the instance.
pub(super) async fn run(
    store: Store<HostState>,
    exports: Exports,
    mut jobs: UnboundedReceiver<Job>,
) {
    let mut instance = Instance {
        store,
        exports,
        watches: HashMap::new(),
        broken: false,
    };
    loop {
        while let Ok(job) = jobs.try_recv() {
            job(&mut instance).await;
        }
        // Whether the component looked below to answer: then its sockets
        // may become ready without a call, and the thread waits in its
        // `poll`; otherwise only a call can change them.
        let mut looks_below = false;
        if !instance.watches.is_empty() && !instance.broken {
            let before = instance.polls_below();
            instance.check(0).await;
            looks_below = instance.polls_below() != before;
        }
        if !jobs.is_empty() {
            continue;
        }
        if instance.broken {
            // Wake every waiting task once: their calls fail now.
            for (_, w) in instance.watches.drain() {
                w.wake();
            }
        }
        if instance.watches.is_empty() || !looks_below || instance.broken {
            match jobs.recv().await {
                Some(job) => job(&mut instance).await,
                None => return,
            }
        } else {
            let ns = u64::try_from(IDLE_WAIT.as_nanos()).unwrap_or(u64::MAX);
            instance.check(ns).await;
        }
    }
}

/// Where calls go: the provider's thread, and what interrupts its waits.
#[derive(Clone)]
pub(super) struct Calls {
    jobs: UnboundedSender<Job>,
    interrupt: Arc<Notify>,
}

impl Calls {
    pub(super) fn new(jobs: UnboundedSender<Job>, interrupt: Arc<Notify>) -> Calls {
        Calls { jobs, interrupt }
    }

    /// Queue `job`, ending the thread's wait in the provider; `false` if
    /// the thread is gone.
    pub(super) fn send(&self, job: Job) -> bool {
        let sent = self.jobs.send(job).is_ok();
        self.interrupt.notify_one();
        sent
    }

    /// Queue `f` for the thread, with `reply` for its answer (`network-down`
    /// without running it once the instance is broken); `false` if the
    /// thread is gone.
    fn submit<R: 'static>(
        &self,
        f: impl for<'a> FnOnce(&'a mut Instance) -> Answer<'a, R> + Send + 'static,
        reply: impl FnOnce(Result<R, ErrorCode>) + Send + 'static,
    ) -> bool {
        self.send(Box::new(move |instance: &mut Instance| -> CallFuture<'_> {
            Box::pin(async move {
                let answer = if instance.broken {
                    Err(ErrorCode::NetworkDown)
                } else {
                    f(instance).await
                };
                reply(answer);
            })
        }))
    }

    /// Run `f` on the provider's thread and wait for its answer, blocking
    /// this thread: the provider's calls never block (its sockets are
    /// non-blocking), so the wait is one call's time.
    pub(super) fn call<R: Send + 'static>(
        &self,
        f: impl for<'a> FnOnce(&'a mut Instance) -> Answer<'a, R> + Send + 'static,
    ) -> Result<R, ErrorCode> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if !self.submit(f, move |answer| {
            let _ = tx.send(answer);
        }) {
            return Err(ErrorCode::NetworkDown);
        }
        rx.recv().unwrap_or(Err(ErrorCode::NetworkDown))
    }

    /// Run `f` on the provider's thread; its answer comes to the returned
    /// future, so the caller's task waits without holding its thread.
    pub(super) fn ask<R: Send + 'static>(
        &self,
        f: impl for<'a> FnOnce(&'a mut Instance) -> Answer<'a, R> + Send + 'static,
    ) -> impl Future<Output = Result<R, ErrorCode>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self.submit(f, move |answer| {
            let _ = tx.send(answer);
        });
        async move {
            if !sent {
                return Err(ErrorCode::NetworkDown);
            }
            rx.await.unwrap_or(Err(ErrorCode::NetworkDown))
        }
    }
}
