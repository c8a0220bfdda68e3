//! The `poll-set` resource: sockets the host keeps between waits, so that a
//! wait costs what the ready sockets cost (as `epoll_wait` does) instead of
//! a look at every socket (as `poll` does).
//!
//! Each entry has a waker of its own. When the provider's readiness for an
//! entry's socket changes, that waker puts the entry on the set's queue;
//! a wait looks only at the queue and at the entries changed by the call.
//! (Providers wake waits for errors too, a datagram socket's asynchronous
//! error report included: see `NetSocket::poll_ready`.)

use std::mem;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use wasmtime::component::{Resource, ResourceTable};

use super::admission::Gate;
use super::bindings::wasock::sockets::poll::{HostPollSet, PollChange, PollEvent};
use super::bindings::wasock::sockets::types as wit;
use super::budget::Share;
use super::clock::spin;
use super::convert::{readiness_from_net, readiness_to_net};
use super::ctx::WasockCtxView;
use super::denials::Limit;
use super::error::{SocketError, SocketResult};
use super::poll::{Pass, look, passes};
use super::socket::GuestSocket;
use crate::net::{ErrorCode, Readiness};

/// Most poll sets one instance may have at once.
pub(crate) const MAX_POLL_SETS: u64 = 16;

/// A `poll-set`: the entries, and the queue their wakers fill.
pub struct PollSet {
    /// `None` only while a wait runs (it takes the state out of the table).
    state: Option<SetState>,
    /// Its place among the instance's [`MAX_POLL_SETS`].
    _slot: Share,
}

/// The sockets of a set, by their place in the resource table.
#[derive(Default)]
struct SetState {
    entries: foldhash::HashMap<u32, Entry>,
    /// Entries to look at in the next pass (changed, or woken).
    queue: Vec<u32>,
    /// An empty vector with room, traded with the woken list and the
    /// queue in each pass, so that passes allocate nothing.
    spare: Vec<u32>,
    woken: Arc<Woken>,
    /// The instance's count of closed sockets when entries of closed
    /// sockets were last forgotten.
    swept_at: u64,
    /// How many entries are armed.
    armed: usize,
}

struct Entry {
    /// The socket this entry is for ([`GuestSocket::serial`]): a socket
    /// that took a closed one's place in the table is not it.
    serial: u64,
    interest: Readiness,
    key: u64,
    /// Waiting to be reported; a reported entry stays, disarmed, so that a
    /// change arming it again reuses its waker.
    armed: bool,
    /// On `queue` already.
    queued: bool,
    waker: Waker,
}

impl Entry {
    /// Put the entry (at table place `rep`) on `queue` for the next pass,
    /// if it is armed and not there yet.
    fn enqueue(&mut self, rep: u32, queue: &mut Vec<u32>) {
        if self.armed && !self.queued {
            self.queued = true;
            queue.push(rep);
        }
    }
}

/// The table places of entries whose wakers fired, and the waiting task.
#[derive(Default)]
struct Woken(Mutex<WokenInner>);

#[derive(Default)]
struct WokenInner {
    reps: Vec<u32>,
    task: Option<Waker>,
}

impl Woken {
    fn lock(&self) -> std::sync::MutexGuard<'_, WokenInner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The waker of one entry.
struct EntryWaker {
    rep: u32,
    woken: Arc<Woken>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let task = {
            let mut w = self.woken.lock();
            w.reps.push(self.rep);
            w.task.take()
        };
        if let Some(task) = task {
            task.wake();
        }
    }
}

impl SetState {
    fn enqueue(&mut self, rep: u32) {
        if let Some(e) = self.entries.get_mut(&rep) {
            e.enqueue(rep, &mut self.queue);
        }
    }

    /// Take `rep`'s entry out of the set.
    fn remove(&mut self, rep: u32) {
        if let Some(e) = self.entries.remove(&rep)
            && e.armed
        {
            self.armed -= 1;
        }
    }

    /// Forget the entries whose sockets are gone.
    fn sweep(&mut self, table: &ResourceTable) {
        self.entries
            .retain(|rep, e| socket_at(table, *rep).is_some_and(|s| s.serial == e.serial));
        self.armed = self.entries.values().filter(|e| e.armed).count();
    }

    /// Apply one change.
    fn change(
        &mut self,
        table: &ResourceTable,
        change: &PollChange,
        max: usize,
    ) -> SocketResult<()> {
        let sock = table.get(&change.socket)?;
        let rep = change.socket.rep();
        if change.interest == wit::Readiness::empty() {
            self.remove(rep);
            return Ok(());
        }
        let interest = readiness_to_net(change.interest);
        if self.entries.len() >= max && !self.entries.contains_key(&rep) {
            // Make room: closed sockets, then reported (disarmed) entries,
            // which the set keeps only to reuse their wakers.
            self.sweep(table);
            self.entries.retain(|_, e| e.armed);
            if self.entries.len() >= max {
                return Err(ErrorCode::InvalidArgument.into());
            }
        }
        // One lookup for an entry the set has (the common case: a socket
        // armed again after each report).
        let woken = &self.woken;
        let e = self.entries.entry(rep).or_insert_with(|| Entry {
            serial: sock.serial,
            interest,
            key: change.key,
            armed: false,
            queued: false,
            waker: Waker::from(Arc::new(EntryWaker {
                rep,
                woken: woken.clone(),
            })),
        });
        e.serial = sock.serial;
        e.interest = interest;
        e.key = change.key;
        if !e.armed {
            e.armed = true;
            self.armed += 1;
        }
        e.enqueue(rep, &mut self.queue);
        Ok(())
    }

    /// Look at the queued entries, reporting at
    /// most `max` ready ones. Registers `cx` for the next wake-up first.
    fn pass(
        &mut self,
        table: &mut ResourceTable,
        gate: &Gate,
        cx: &mut Context<'_>,
        max: usize,
    ) -> Pass<Vec<PollEvent>> {
        let mut woken = {
            let mut w = self.woken.lock();
            w.task = Some(cx.waker().clone());
            mem::replace(&mut w.reps, mem::take(&mut self.spare))
        };
        for &rep in &woken {
            self.enqueue(rep);
        }
        woken.clear();
        let mut looking = mem::replace(&mut self.queue, woken);
        let mut events = Vec::new();
        let mut again = false;
        let mut looked = 0;
        for &rep in &looking {
            if events.len() >= max {
                break;
            }
            looked += 1;
            let Some(e) = self.entries.get_mut(&rep) else {
                continue;
            };
            e.queued = false;
            if !e.armed {
                continue;
            }
            let sock = match socket_at_mut(table, rep) {
                Some(sock) if sock.serial == e.serial => sock,
                _ => {
                    // Closed: it leaves the set by itself.
                    self.remove(rep);
                    continue;
                }
            };
            let now = match sock.net.prepare_wait(e.interest) {
                // A socket that cannot be waited on is reported with an
                // error; the guest's next call on it says which.
                Err(_) => Readiness::ERROR,
                Ok(()) => {
                    let mut ecx = Context::from_waker(&e.waker);
                    match look(sock, gate, &mut ecx, e.interest) {
                        Poll::Ready(now) if now.is_empty() => {
                            again = true;
                            e.queued = true;
                            self.queue.push(rep);
                            continue;
                        }
                        Poll::Ready(now) => now,
                        Poll::Pending => continue,
                    }
                }
            };
            e.armed = false;
            self.armed -= 1;
            events.push(PollEvent {
                key: e.key,
                ready: readiness_from_net(now),
            });
        }
        // What the event limit left unlooked-at waits for the next call.
        for &rep in &looking[looked..] {
            if let Some(e) = self.entries.get_mut(&rep)
                && e.queued
            {
                self.queue.push(rep);
            }
        }
        looking.clear();
        self.spare = looking;
        if !events.is_empty() {
            Pass::Found(events)
        } else if again {
            Pass::Again
        } else {
            Pass::Idle
        }
    }
}

/// The socket at table place `rep`, if a socket is there.
fn socket_at(table: &ResourceTable, rep: u32) -> Option<&GuestSocket> {
    table.get(&Resource::<GuestSocket>::new_borrow(rep)).ok()
}

fn socket_at_mut(table: &mut ResourceTable, rep: u32) -> Option<&mut GuestSocket> {
    table
        .get_mut(&Resource::<GuestSocket>::new_borrow(rep))
        .ok()
}

impl HostPollSet for WasockCtxView<'_> {
    fn create(&mut self) -> SocketResult<Resource<PollSet>> {
        let Some(slot) = self.ctx.poll_sets.reserve(1) else {
            self.ctx.gate.warn_at_limit(
                Limit::PollSets,
                format_args!("{MAX_POLL_SETS} poll sets are alive; drop the ones not used"),
            );
            return Err(ErrorCode::NoBufferSpace.into());
        };
        Ok(self.table.push(PollSet {
            state: Some(SetState::default()),
            _slot: slot,
        })?)
    }

    async fn wait(
        &mut self,
        this: Resource<PollSet>,
        changes: Vec<PollChange>,
        timeout: Option<u64>,
        max_events: u32,
    ) -> SocketResult<Vec<PollEvent>> {
        let Some(mut state) = self.table.get_mut(&this)?.state.take() else {
            return Err(SocketError::trap(wasmtime::format_err!(
                "poll-set.wait called while a wait on the same set runs"
            )));
        };
        let r = wait(self, &mut state, changes, timeout, max_events).await;
        self.table.get_mut(&this)?.state = Some(state);
        r
    }

    fn len(&mut self, this: Resource<PollSet>) -> wasmtime::Result<u32> {
        let table = &mut *self.table;
        let Some(mut state) = table.get_mut(&this)?.state.take() else {
            wasmtime::bail!("poll-set.len called while a wait on the same set runs");
        };
        state.sweep(table);
        let n = state.armed;
        table.get_mut(&this)?.state = Some(state);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn drop(&mut self, rep: Resource<PollSet>) -> wasmtime::Result<()> {
        drop(self.table.delete(rep)?);
        Ok(())
    }
}

async fn wait(
    view: &mut WasockCtxView<'_>,
    state: &mut SetState,
    changes: Vec<PollChange>,
    timeout: Option<u64>,
    max_events: u32,
) -> SocketResult<Vec<PollEvent>> {
    if max_events == 0 || changes.len() > view.ctx.limits.max_poll_entries {
        return Err(ErrorCode::InvalidArgument.into());
    }
    view.ctx.note_poll();
    let max = usize::try_from(max_events).unwrap_or(usize::MAX);
    for change in &changes {
        state.change(view.table, change, view.ctx.limits.max_poll_entries)?;
    }
    if timeout.is_none() {
        // A set left with closed sockets only could never return.
        if state.swept_at != view.ctx.sockets_closed {
            state.sweep(view.table);
            state.swept_at = view.ctx.sockets_closed;
        }
        if state.armed == 0 {
            return Err(ErrorCode::InvalidArgument.into());
        }
    }
    let clock = view.ctx.clock.clone();
    let (table, gate, early) = (&mut *view.table, &view.ctx.gate, view.ctx.ends_early());
    if timeout == Some(0) {
        // Let the runtime take in the events that came while the guest ran
        // first: a check is what a busy program makes between its tasks,
        // and it must see them.
        tokio::task::yield_now().await;
        let out = match state.pass(table, gate, &mut Context::from_waker(Waker::noop()), max) {
            Pass::Found(events) => events,
            Pass::Again | Pass::Idle => Vec::new(),
        };
        spin(&*clock).await;
        return Ok(out);
    }
    let deadline = timeout.and_then(|ns| clock.now().checked_add(Duration::from_nanos(ns)));
    let found = passes(&*clock, early, deadline, |cx| {
        state.pass(table, gate, cx, max)
    })
    .await;
    Ok(found.unwrap_or_default())
}
