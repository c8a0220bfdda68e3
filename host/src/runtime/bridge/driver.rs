//! The thread that owns a provider component's instance: it runs the calls
//! the bridged sockets send it, one at a time, and wakes the tasks that
//! wait on those sockets when the provider says they are ready: through a
//! `poll-set` of the provider's, which keeps the watched sockets between
//! waits (so that a wait costs what the ready sockets cost, not what all
//! the watched ones do), or, for a provider that cannot make one, through
//! its `poll` over every watched socket.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::net::{ErrorCode, Readiness, WakerList};
use crate::runtime::bindings::provider::Provider as Exports;
use crate::runtime::bindings::provider::exports::wasock::sockets::poll::{PollChange, PollEntry};
use crate::runtime::bindings::wasock::sockets::types as wit;
use crate::runtime::convert::{error_to_net, readiness_from_net, readiness_to_net};
use crate::runtime::state::HostState;

/// How long the thread lets a layer wait in its `poll` at most when
/// nothing else is to be done. A call for the thread ends the wait sooner
/// (the store's waits are interrupted); the bound keeps a component that
/// also waits some other way (a sleep) from holding calls longer.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// The most events one wait of the provider's set returns; more wait for
/// the next turn.
const MAX_EVENTS: u32 = 1024;

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
    /// Tasks waiting for a socket to become ready, by socket and interest
    /// (shared with the sockets: see [`Calls::wait_on`]).
    watches: Watches,
    /// The provider's poll set of the watched sockets, if it has made one.
    set: Set,
    /// What each socket is armed for in [`Instance::set`] (one-shot: an
    /// event takes it out), by the bridge's number.
    armed: HashMap<u64, Readiness>,
    /// Sockets whose watches changed since the set's last turn.
    dirty: HashSet<u64>,
    /// Set once the instance trapped: every call fails from then on.
    pub(super) broken: bool,
}

/// Whether the provider keeps a poll set for the thread.
enum Set {
    /// Not asked yet.
    Unmade,
    /// Its `poll-set`.
    Made(ResourceAny),
    /// It cannot make one, or a wait of it failed: `poll` it is.
    Refused,
}

/// The tasks waiting on the provider's sockets, by the bridge's number
/// and interest. The thread removes a watch when it wakes it; while one is
/// there, its socket was not ready at the last look, and the thread will
/// say when it is, so another task's wait needs no look of its own.
pub(super) type Watches = Arc<Mutex<HashMap<(u64, Readiness), Watch>>>;

/// Every interest a watch may have: a readiness bit set, empty included
/// (a wait for an error or the peer's end alone, as `poll` with no events).
const INTERESTS: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// Socket `id`'s provider socket and the interests its watches wait for,
/// merged (as a poll set is armed: an empty interest would take the
/// socket out of the set, so a wait for an error or the end alone is
/// armed for `error`, which reports both); `None` if none waits on it.
fn watched(
    watches: &HashMap<(u64, Readiness), Watch>,
    id: u64,
) -> Option<(ResourceAny, Readiness)> {
    let mut found: Option<(ResourceAny, Readiness)> = None;
    for interest in INTERESTS.map(Readiness::from_bits) {
        if let Some(w) = watches.get(&(id, interest)) {
            let entry = found.get_or_insert((w.socket, Readiness::EMPTY));
            entry.1 |= interest;
        }
    }
    found.map(|(socket, interest)| {
        let armed = if interest.is_empty() {
            Readiness::ERROR
        } else {
            interest
        };
        (socket, armed)
    })
}

/// The watches, for one use (a host failure that poisoned the lock left
/// them as they were: still wakeable).
fn lock(watches: &Watches) -> MutexGuard<'_, HashMap<(u64, Readiness), Watch>> {
    watches.lock().unwrap_or_else(|p| p.into_inner())
}

/// The tasks waiting on the provider's socket `socket` (for the interest
/// in its key).
pub(super) struct Watch {
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
        if !matches!(self.set, Set::Refused) {
            self.dirty.insert(id);
        }
        let made_room = lock(&self.watches)
            .entry((id, interest))
            .or_insert(Watch {
                socket,
                wakers: WakerList::default(),
            })
            .wakers
            .add(&waker);
        if let Some(made_room) = made_room {
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

    /// Forget the watches on socket `id` (closed; its entry in the
    /// provider's set goes with the socket).
    pub(super) fn forget(&mut self, id: u64) {
        {
            let mut watches = lock(&self.watches);
            for interest in INTERESTS.map(Readiness::from_bits) {
                watches.remove(&(id, interest));
            }
        }
        self.armed.remove(&id);
        self.dirty.remove(&id);
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

    /// Wait at most `timeout` for a watched socket to be ready, and wake
    /// the tasks waiting on the ready ones: through the provider's poll
    /// set when it keeps one, otherwise by polling every watched socket.
    async fn check(&mut self, timeout: u64) {
        if matches!(self.set, Set::Unmade) {
            self.set = self.make_set().await;
            if matches!(self.set, Set::Refused) {
                self.dirty.clear();
            }
        }
        if let Set::Made(set) = self.set
            && !self.check_set(set, timeout).await
        {
            // The set failed: its entries are lost with it, so every
            // waiting task looks again (through `poll` from now on).
            self.set = Set::Refused;
            self.armed.clear();
            self.dirty.clear();
            if let Err(trap) = set.resource_drop_async(&mut self.store).await {
                let _ = self.settle::<()>(Err(trap));
            }
            wake_all(&self.watches);
            return;
        }
        if matches!(self.set, Set::Refused) {
            self.check_all(timeout).await;
        }
    }

    /// The provider's poll set, or why not.
    async fn make_set(&mut self) -> Set {
        let made = self
            .exports
            .wasock_sockets_poll()
            .poll_set()
            .call_create(&mut self.store)
            .await;
        match self.answer(made) {
            Ok(set) => Set::Made(set),
            Err(_) => Set::Refused,
        }
    }

    /// One turn through the provider's set: arm what changed (each socket
    /// for every interest its tasks wait on), wait at most `timeout`, wake
    /// the tasks whose sockets came back ready. `false` if a wait failed.
    async fn check_set(&mut self, set: ResourceAny, timeout: u64) -> bool {
        // Only the sockets whose watches changed since the last turn: the
        // work of a turn grows with them, not with every watched socket.
        let mut changes = Vec::new();
        {
            let watches = lock(&self.watches);
            for id in std::mem::take(&mut self.dirty) {
                let Some((socket, interest)) = watched(&watches, id) else {
                    continue;
                };
                if self.armed.get(&id) != Some(&interest) {
                    self.armed.insert(id, interest);
                    changes.push(PollChange {
                        socket,
                        interest: readiness_from_net(interest),
                        key: id,
                    });
                }
            }
        }
        // In waits of at most the host's entry limit of changes; only the
        // last may wait.
        let most = self.store.data().wasock.limits().max_poll_entries.max(1);
        let mut batches: Vec<&[PollChange]> = changes.chunks(most).collect();
        if batches.is_empty() {
            batches.push(&[]);
        }
        let last = batches.len() - 1;
        for (i, batch) in batches.into_iter().enumerate() {
            let wait = if i == last { timeout } else { 0 };
            let called = self
                .exports
                .wasock_sockets_poll()
                .poll_set()
                .call_wait(&mut self.store, set, batch, Some(wait), MAX_EVENTS)
                .await;
            let Ok(events) = self.answer(called) else {
                return false;
            };
            let mut woken = Vec::new();
            {
                let mut watches = lock(&self.watches);
                for event in events {
                    let (id, ready) = (event.key, readiness_to_net(event.ready));
                    // One-shot: the set holds the socket no more.
                    self.armed.remove(&id);
                    for interest in INTERESTS.map(Readiness::from_bits) {
                        if ready.intersects(interest.wakes_on())
                            && let Some(w) = watches.remove(&(id, interest))
                        {
                            woken.push(w);
                        }
                    }
                    // Tasks still waiting on it, for something else.
                    if watched(&watches, id).is_some() {
                        self.dirty.insert(id);
                    }
                }
            }
            woken.into_iter().for_each(Watch::wake);
        }
        true
    }

    /// Look at every watched socket (waiting at most `timeout`) and wake
    /// the tasks whose sockets are ready. The sockets go to the component
    /// in polls of at most its host's entry limit; only the first may wait.
    async fn check_all(&mut self, timeout: u64) {
        let watched: Vec<((u64, Readiness), ResourceAny)> = lock(&self.watches)
            .iter()
            .map(|(&key, w)| (key, w.socket))
            .collect();
        let most = self.store.data().wasock.limits().max_poll_entries.max(1);
        let mut wait = Some(timeout);
        for batch in watched.chunks(most) {
            let entries: Vec<PollEntry> = batch
                .iter()
                .map(|&((_, interest), socket)| PollEntry {
                    socket,
                    interest: readiness_from_net(interest),
                })
                .collect();
            let found = match self.poll(&entries, wait.take().or(Some(0))).await {
                Ok(found) if found.len() == batch.len() => found,
                // The component refused the look, answered for other
                // sockets than asked, or is gone: wake every task, whose
                // next call meets what is wrong.
                _ => vec![all(); batch.len()],
            };
            let woken: Vec<Watch> = {
                let mut watches = lock(&self.watches);
                batch
                    .iter()
                    .zip(found)
                    .filter(|((key, _), ready)| ready.intersects(key.1.wakes_on()))
                    .filter_map(|((key, _), _)| watches.remove(key))
                    .collect()
            };
            woken.into_iter().for_each(Watch::wake);
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
    watches: Watches,
) {
    let mut instance = Instance {
        store,
        exports,
        watches,
        set: Set::Unmade,
        armed: HashMap::new(),
        dirty: HashSet::new(),
        broken: false,
    };
    // Whether the component has ever looked below to answer: then its
    // sockets may become ready without a call (even when one turn's look
    // was answered from what it holds, without looking below), and the
    // thread waits in its `poll`; otherwise only a call can change them.
    let mut looks_below = false;
    loop {
        while let Ok(job) = jobs.try_recv() {
            job(&mut instance).await;
        }
        if !lock(&instance.watches).is_empty() && !instance.broken {
            let before = instance.polls_below();
            instance.check(0).await;
            looks_below |= instance.polls_below() != before;
        }
        if !jobs.is_empty() {
            continue;
        }
        if instance.broken {
            // Wake every waiting task once: their calls fail now.
            wake_all(&instance.watches);
        }
        let idle = lock(&instance.watches).is_empty();
        if idle || !looks_below || instance.broken {
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

/// Wake every waiting task (outside the lock).
fn wake_all(watches: &Watches) {
    let all: Vec<Watch> = lock(watches).drain().map(|(_, w)| w).collect();
    all.into_iter().for_each(Watch::wake);
}

/// Where calls go: the provider's thread, what interrupts its waits, and
/// the watches it keeps.
#[derive(Clone)]
pub(super) struct Calls {
    jobs: UnboundedSender<Job>,
    interrupt: Arc<Notify>,
    watches: Watches,
}

impl Calls {
    pub(super) fn new(
        jobs: UnboundedSender<Job>,
        interrupt: Arc<Notify>,
        watches: Watches,
    ) -> Calls {
        Calls {
            jobs,
            interrupt,
            watches,
        }
    }

    /// Whether a task waits on socket `id` for `interest` (see
    /// [`Calls::wait_on`]).
    pub(super) fn is_watched(&self, id: u64, interest: Readiness) -> bool {
        // With the thread gone no watch will be woken: the call goes to
        // the thread and fails with `network-down`.
        !self.jobs.is_closed() && lock(&self.watches).contains_key(&(id, interest))
    }

    /// Add `waker` to a watch already kept on socket `id` for `interest`,
    /// if there is one: `true` then, and the task waits without a look of
    /// its own (the socket was not ready at the thread's last look, and
    /// the thread wakes the watch when it is). A guest that polls all its
    /// sockets at every wait (std, mio) so costs no call per idle socket.
    pub(super) fn wait_on(&self, id: u64, interest: Readiness, waker: &Waker) -> bool {
        if self.jobs.is_closed() {
            return false;
        }
        let made_room = {
            let mut watches = lock(&self.watches);
            match watches.get_mut(&(id, interest)) {
                Some(watch) => watch.wakers.add(waker),
                None => return false,
            }
        };
        if let Some(made_room) = made_room {
            made_room.wake();
        }
        true
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
