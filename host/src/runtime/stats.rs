//! Per-instance counters of policy decisions and dropped peers, readable by
//! the embedder while the instance runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::policy::Operation;

/// Live counters of one instance, shared with the embedder.
#[derive(Debug, Default)]
pub struct InstanceStats {
    allowed: [AtomicU64; 7],
    denied: [AtomicU64; 7],
    dropped_connections: AtomicU64,
    dropped_datagrams: AtomicU64,
    limit_refusals: AtomicU64,
}

fn index(op: Operation) -> usize {
    Operation::ALL
        .iter()
        .position(|o| *o == op)
        .unwrap_or_default()
}

impl InstanceStats {
    pub(crate) fn record(&self, op: Operation, allowed: bool) {
        let slot = if allowed { &self.allowed } else { &self.denied };
        slot[index(op)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dropped_connection(&self) {
        self.dropped_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dropped_datagram(&self) {
        self.dropped_datagrams.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn refused_at_limit(&self) {
        self.limit_refusals.fetch_add(1, Ordering::Relaxed);
    }

    /// A consistent-enough copy of the counters.
    pub fn snapshot(&self) -> PolicyCounters {
        let load = |a: &[AtomicU64; 7]| {
            let mut out = [0; 7];
            for (o, a) in out.iter_mut().zip(a) {
                *o = a.load(Ordering::Relaxed);
            }
            out
        };
        PolicyCounters {
            allowed: load(&self.allowed),
            denied: load(&self.denied),
            dropped_connections: self.dropped_connections.load(Ordering::Relaxed),
            dropped_datagrams: self.dropped_datagrams.load(Ordering::Relaxed),
            limit_refusals: self.limit_refusals.load(Ordering::Relaxed),
        }
    }
}

/// A copy of an instance's policy counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyCounters {
    allowed: [u64; 7],
    denied: [u64; 7],
    /// Connections from peers no `tcp-accept` grant allows, closed before
    /// the guest saw them.
    pub dropped_connections: u64,
    /// Datagrams from peers no `udp-recv` grant allows, discarded before the
    /// guest saw them.
    pub dropped_datagrams: u64,
    /// Calls refused at one of the instance's limits ([`Limits`]: sockets,
    /// poll sets, name lookups, WASI 0.3 calls pending), each counted
    /// although the log writes at most one line a second per limit. A
    /// WASI 0.3 listener that waits at the socket limit counts one per
    /// wait.
    ///
    /// [`Limits`]: crate::runtime::Limits
    pub limit_refusals: u64,
}

impl PolicyCounters {
    /// How many times `op` was allowed.
    pub fn allowed(&self, op: Operation) -> u64 {
        self.allowed[index(op)]
    }

    /// How many times `op` was denied (including dropped peers).
    pub fn denied(&self, op: Operation) -> u64 {
        self.denied[index(op)]
    }

    /// Denials of every operation.
    pub fn total_denied(&self) -> u64 {
        self.denied.iter().sum()
    }

    /// Allowed operations of every kind.
    pub fn total_allowed(&self) -> u64 {
        self.allowed.iter().sum()
    }
}

/// One line for a log: what was allowed and denied, by operation (those
/// that happened only), the peers dropped, and the refusals at limits if
/// there were any.
///
/// ```
/// use wasock_host::runtime::PolicyCounters;
///
/// assert_eq!(
///     PolicyCounters::default().to_string(),
///     "allowed: none; denied: none; peers dropped: 0 connections, 0 datagrams"
/// );
/// ```
impl std::fmt::Display for PolicyCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |counts: &[u64; 7]| {
            let listed: Vec<String> = Operation::ALL
                .iter()
                .zip(counts)
                .filter(|(_, n)| **n > 0)
                .map(|(op, n)| format!("{op} {n}"))
                .collect();
            if listed.is_empty() {
                "none".to_string()
            } else {
                listed.join(", ")
            }
        };
        write!(
            f,
            "allowed: {}; denied: {}; peers dropped: {} connections, {} datagrams",
            list(&self.allowed),
            list(&self.denied),
            self.dropped_connections,
            self.dropped_datagrams
        )?;
        if self.limit_refusals > 0 {
            write!(f, "; refused at limits: {}", self.limit_refusals)?;
        }
        Ok(())
    }
}

/// A handle on an instance's counters that outlives the instance.
pub type StatsHandle = Arc<InstanceStats>;
