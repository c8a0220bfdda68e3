//! The simulated provider: a deterministic in-memory Internet.
//!
//! [`core`] is the network itself, sans I/O: hosts, links with latency,
//! bandwidth and datagram faults, partitions, reliable streams, one seeded
//! random source, and time that moves only when told. This module puts it
//! behind the provider contract: [`SimNet`] shares one network among the
//! hosts on it and wakes the sockets whose state changed, a driver task
//! moves the network's time along with the runtime's, and [`SimProvider`]
//! is one host's view, handed to that host's instances.
//!
//! Time is tokio's: the simulator runs on a current-thread runtime with
//! paused time ([`crate::runtime::Simulation`] sets it up), which jumps to
//! the next timer whenever every task waits, so virtual time passes only
//! when all guests are blocked, and a run repeats exactly.

pub mod core;
mod socket;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::time::Instant;

pub use self::core::{HostId, LinkConfig, NetEvent, NetFault, Network, SockId};
pub use socket::SimSocket;

use super::WakerList;
use super::{BoxFuture, ErrorCode, Family, NetSocket, Provider, Readiness, SocketType};

/// A simulated network shared by the hosts on it.
#[derive(Clone)]
pub struct SimNet {
    shared: Arc<Shared>,
}

struct Shared {
    net: Mutex<Network>,
    /// Wakers of tasks waiting on each socket.
    waiters: Mutex<BTreeMap<SockId, WakerList>>,
    /// The runtime instant that is the network's time zero.
    origin: Instant,
    /// Wakes the driver: something may have been scheduled, or the
    /// network is gone. (Shared with the driver apart from the rest, so
    /// that the driver does not keep the network alive.)
    kick: Arc<Notify>,
    /// Events taken from the network, for the transcript.
    events: Mutex<Vec<NetEvent>>,
}

impl SimNet {
    /// Share `net`, whose time zero is now, and start the task that moves
    /// its time along. Must be called within a tokio runtime (for a
    /// deterministic run, a current-thread one with paused time).
    pub fn start(net: Network) -> SimNet {
        let shared = Arc::new(Shared {
            net: Mutex::new(net),
            waiters: Mutex::default(),
            origin: Instant::now(),
            kick: Arc::new(Notify::new()),
            events: Mutex::default(),
        });
        tokio::spawn(drive(Arc::downgrade(&shared), shared.kick.clone()));
        SimNet { shared }
    }

    /// The network's time now.
    pub fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.shared.origin)
    }

    /// The runtime instant of network time `t`.
    pub fn instant_of(&self, t: Duration) -> Instant {
        self.shared.origin + t
    }

    fn lock(&self) -> MutexGuard<'_, Network> {
        // A panic while holding the lock is a host bug; the state is still
        // the network's, so go on with it.
        self.shared
            .net
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Run `f` on the network at the current time, then wake the sockets
    /// it changed and the driver (whose next deadline may have moved).
    pub fn with<R>(&self, f: impl FnOnce(&mut Network) -> R) -> R {
        let (r, next_before, next_after) = self.apply(f);
        if next_after != next_before {
            self.shared.kick.notify_one();
        }
        r
    }

    /// `f` on the network now; the sockets it changed are woken. Returns
    /// the network's next deadline before and after.
    fn apply<R>(
        &self,
        f: impl FnOnce(&mut Network) -> R,
    ) -> (R, Option<Duration>, Option<Duration>) {
        let (r, before, after, changed, events) = {
            let mut net = self.lock();
            net.advance_to(self.now());
            let before = net.next_deadline();
            let r = f(&mut net);
            let after = net.next_deadline();
            (r, before, after, net.take_changed(), net.take_events())
        };
        self.settle(changed, events);
        (r, before, after)
    }

    fn settle(&self, changed: Vec<SockId>, events: Vec<NetEvent>) {
        if !events.is_empty() {
            lock(&self.shared.events).extend(events);
        }
        if changed.is_empty() {
            return;
        }
        let mut woken = Vec::new();
        {
            let mut waiters = lock(&self.shared.waiters);
            for id in changed {
                if let Some(w) = waiters.remove(&id) {
                    woken.push(w);
                }
            }
        }
        for w in woken {
            w.wake();
        }
    }

    /// Ready with the socket's readiness if it intersects `wanted`;
    /// otherwise wake `cx` when the socket changes.
    pub(crate) fn poll_socket(
        &self,
        id: SockId,
        cx: &mut Context<'_>,
        wanted: Readiness,
    ) -> Poll<Readiness> {
        // Register first, so that no change between the look and the
        // registration is missed (a wake-up for nothing costs one look).
        let made_room = lock(&self.shared.waiters)
            .entry(id)
            .or_default()
            .add(cx.waker());
        if let Some(list) = made_room {
            list.wake();
        }
        let now = self.with(|n| n.readiness(id));
        if now.intersects(wanted) {
            Poll::Ready(now)
        } else {
            Poll::Pending
        }
    }

    /// How many sockets have tasks waiting on them.
    #[cfg(test)]
    fn waiting_sockets(&self) -> usize {
        lock(&self.shared.waiters).len()
    }

    /// The socket `id` is closed: its waiters, if any, are woken (to find
    /// it gone) and forgotten, so that a socket closed while a task waited
    /// on it leaves no entry behind.
    pub(crate) fn forget(&self, id: SockId) {
        let gone = lock(&self.shared.waiters).remove(&id);
        if let Some(w) = gone {
            w.wake();
        }
    }

    /// How many events the network has handled so far.
    pub fn processed_events(&self) -> u64 {
        self.lock().processed_events()
    }

    /// Network events so far, taken (oldest first).
    pub fn take_events(&self) -> Vec<NetEvent> {
        self.with(|_| ());
        std::mem::take(&mut *lock(&self.shared.events))
    }

    /// One host's provider.
    pub fn provider(&self, host: HostId) -> SimProvider {
        SimProvider {
            net: self.clone(),
            host,
        }
    }

    /// A clock on this network's time, whose calendar time starts at
    /// `epoch`.
    pub fn clock(&self, epoch: SystemTime) -> SimClock {
        SimClock {
            origin: self.shared.origin,
            epoch,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Let the driver see that the network is gone.
        self.kick.notify_one();
    }
}

/// Move the network's time along with the runtime's: sleep until its next
/// event (or until kicked), process what is due, wake what changed. Ends
/// with the network: it holds only a weak reference across its waits.
async fn drive(shared: Weak<Shared>, kick: Arc<Notify>) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let net = SimNet { shared: strong };
        let (next, _, _) = net.apply(|n| n.next_deadline());
        let wake_at = next.map(|t| net.instant_of(t));
        drop(net);
        let notified = kick.notified();
        match wake_at {
            Some(at) => {
                tokio::select! {
                    biased;
                    () = tokio::time::sleep_until(at) => {}
                    () = notified => {}
                }
            }
            None => notified.await,
        }
    }
}

/// One host of a [`SimNet`]: its sockets and name lookups.
#[derive(Clone)]
pub struct SimProvider {
    net: SimNet,
    host: HostId,
}

impl Provider for SimProvider {
    fn open(
        &self,
        family: Family,
        socket_type: SocketType,
    ) -> Result<Box<dyn NetSocket>, ErrorCode> {
        let id = self.net.with(|n| n.open(self.host, family, socket_type))?;
        Ok(Box::new(SimSocket {
            net: self.net.clone(),
            id,
            family,
            socket_type,
        }))
    }

    fn resolve(&self, name: &str) -> BoxFuture<Result<Vec<IpAddr>, ErrorCode>> {
        let answer = self.net.with(|n| n.resolve(name));
        Box::pin(async move { answer })
    }
}

/// The simulator's clock: the runtime's (paused) time, and a calendar that
/// starts at a fixed epoch, so that guests' wall clocks repeat too.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    origin: Instant,
    epoch: SystemTime,
}

impl SimClock {
    /// Monotonic now.
    pub fn now(&self) -> Instant {
        Instant::now()
    }

    /// Calendar now.
    pub fn system_time(&self) -> SystemTime {
        self.epoch + Instant::now().saturating_duration_since(self.origin)
    }
}
