//! The one admission check: every address an instance uses, and every peer
//! that reaches it, is decided here against its policy, counted, and logged
//! when refused; for wasock sockets, standard wasi:sockets and serve's
//! listener alike. The reply rule's memory (peers a datagram socket sent
//! to) lives here too, bounded by the instance's budget.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use super::budget::{Budget, Share};
use super::ctx::InstanceId;
use super::denials::{DenialLog, Denied, Limit, Line};
use super::names::NameTable;
use super::stats::InstanceStats;
use crate::net::ErrorCode;
use crate::policy::{Decision, Operation, Policy, Subject as Target};

/// Most peers remembered for the reply rule by one holder (a datagram
/// socket, or an instance's wasi:sockets).
const MAX_CONTACTED: usize = 4096;

/// Most peers remembered for the reply rule over all of an instance's
/// holders: the memory is the host's (about 40 bytes a peer), and without
/// it `MAX_CONTACTED` times the socket limit would be 150 MB. Past it, a
/// peer sent to is not remembered, and its replies need a `udp-recv` grant.
pub(crate) const MAX_CONTACTED_PER_INSTANCE: u64 = 16_384;

/// Who is being admitted for, in log lines.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject {
    /// A guest instance.
    Instance(InstanceId),
    /// A server's own listener, before any instance exists.
    Server,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Instance(id) => write!(f, "{id}"),
            Subject::Server => f.write_str("server"),
        }
    }
}

/// An instance's (or a server's) policy with what it decides by: the
/// counters it keeps and the names resolved so far.
pub(crate) struct Gate {
    pub(crate) subject: Subject,
    pub(crate) policy: Arc<Policy>,
    pub(crate) stats: Arc<InstanceStats>,
    /// Names this instance resolved, for grants by name.
    pub(crate) names: Mutex<NameTable>,
    /// Peers remembered for the reply rule, over all holders.
    contacts: Arc<Budget>,
    /// When each denial and limit line was last logged, so that a flood
    /// is not.
    denials: DenialLog,
    /// The embedder's observer of every counted decision.
    observer: Option<DecisionObserver>,
}

/// An embedder's function that sees every decision an instance's
/// operations get (see `WasockCtxBuilder::on_decision`).
pub(crate) type DecisionObserver = Arc<dyn Fn(&Decision) + Send + Sync>;

impl Drop for Gate {
    fn drop(&mut self) {
        self.log_left_out();
    }
}

impl Gate {
    pub(crate) fn new(subject: Subject, policy: Arc<Policy>, stats: Arc<InstanceStats>) -> Gate {
        Gate {
            subject,
            policy,
            stats,
            names: Mutex::default(),
            contacts: Budget::new(MAX_CONTACTED_PER_INSTANCE),
            denials: DenialLog::default(),
            observer: None,
        }
    }

    /// This gate, with `observer` told of every counted decision.
    pub(crate) fn observed_by(mut self, observer: Option<DecisionObserver>) -> Gate {
        self.observer = observer;
        self
    }

    /// Count a decision and show it to the embedder's observer.
    fn count(&self, decision: &Decision) {
        self.stats.record(decision.operation, decision.is_allowed());
        if let Some(observe) = &self.observer {
            observe(decision);
        }
    }

    /// Log a denial (`then` says what followed it), unless one of the same
    /// operation and address (or host name) was logged less than a second
    /// ago (see [`Gate::may_log`]).
    fn log_denial(&self, decision: &Decision, then: &str) {
        let at;
        let (what, shown): (Denied, &dyn fmt::Display) = match &decision.subject {
            Target::Address { addr, .. } if decision.operation.is_peer_filter() => {
                at = Denied::Ip(addr.ip().to_canonical());
                (at, &at)
            }
            Target::Address { addr, .. } => {
                at = Denied::Addr(SocketAddr::new(addr.ip().to_canonical(), addr.port()));
                (at, &at)
            }
            Target::Name(name) | Target::Named { name, .. } => (Denied::name(name), name),
        };
        if self.may_log(decision.operation, what, shown) {
            let decision = decision.shown_by(self.policy.set_by());
            tracing::warn!(target: "wasock::policy", instance = %self.subject, "{decision}{then}");
        }
    }

    /// Log that `spelling`, a numeric IPv4 address in a form other than
    /// dotted-quad, was refused as a name to resolve, rate-limited as
    /// denials are (a refusal of the guest's input, not the policy's; not
    /// counted as a denial).
    pub(crate) fn log_numeric_spelling(&self, spelling: &str) {
        // The guest's text, not a checked name: at most a name's length.
        let shown: String = spelling.chars().take(253).collect();
        if self.may_log(Operation::Resolve, Denied::name(spelling), &shown) {
            tracing::warn!(
                target: "wasock::policy",
                instance = %self.subject,
                name = %shown,
                "refused to resolve a numeric IPv4 spelling as a name; use the address as four numbers from 0 to 255 separated by dots, without a trailing dot"
            );
        }
    }

    /// Whether a line about `op` on `what` (`shown` in words) may be
    /// written now: at most one a second per operation and destination,
    /// peer address or name. The line written after such a pause is preceded by one saying
    /// how many like it were left out.
    fn may_log(&self, op: Operation, what: Denied, shown: &dyn fmt::Display) -> bool {
        let line = Line::Denial(op, what);
        let Some(left_out) = self.denials.note(line, std::time::Instant::now()) else {
            return false;
        };
        if left_out > 0 {
            tracing::warn!(
                target: "wasock::policy",
                instance = %self.subject,
                "suppressed {left_out} similar denials of {op} {shown} since the last line about it \
                 (at most one line a second per operation and destination, peer or name; all are \
                 counted)"
            );
        }
        true
    }

    /// Count a refusal at `limit`, and log `what` unless one was logged less than a
    /// second ago (a guest that meets a limit often retries at once); the
    /// line written after such a pause is preceded by one saying how many
    /// were left out.
    pub(crate) fn warn_at_limit(&self, limit: Limit, what: fmt::Arguments<'_>) {
        self.stats.refused_at_limit();
        let now = std::time::Instant::now();
        let Some(left_out) = self.denials.note(Line::Limit(limit), now) else {
            return;
        };
        if left_out > 0 {
            tracing::warn!(
                target: "wasock::limits",
                instance = %self.subject,
                "suppressed {left_out} more refusals at the same limit since the last line about it (at most one line a second per limit)"
            );
        }
        tracing::warn!(target: "wasock::limits", instance = %self.subject, "{what}");
    }

    /// Say what the rate limit left out since the last lines it let
    /// through: otherwise a guest that ends within a second of a denial
    /// takes the news of the ones after it along.
    fn log_left_out(&self) {
        let (kinds, all) = self.denials.left_out(5);
        if all == 0 {
            return;
        }
        let mut listed: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} ({n})")).collect();
        let shown: u64 = kinds.iter().map(|(_, n)| n).sum();
        if shown < all {
            listed.push(format!("others ({})", all - shown));
        }
        tracing::warn!(
            target: "wasock::policy",
            instance = %self.subject,
            "at the end, {all} more refusals like those logged had not been written: {} (the \
             instance's counters count every denial)",
            listed.join(", ")
        );
    }

    fn names_for(&self, ip: IpAddr) -> Vec<String> {
        self.names
            .lock()
            .map(|t| t.names_for(ip).to_vec())
            .unwrap_or_default()
    }

    /// Remember that `name` resolved to `ips`.
    pub(crate) fn remember(&self, name: &str, ips: &[IpAddr]) {
        if let Ok(mut t) = self.names.lock() {
            t.remember(name, ips);
        }
    }

    fn decide(&self, op: Operation, addr: SocketAddr) -> Decision {
        self.policy
            .check_address(op, addr, &self.names_for(addr.ip()))
    }

    /// Check `op` on `addr`: count it, log a denial, and turn a denial into
    /// `access-denied`.
    pub(crate) fn check(&self, op: Operation, addr: SocketAddr) -> Result<(), ErrorCode> {
        self.record(&self.decide(op, addr))
    }

    /// Count a decision and log it if it is a denial.
    pub(crate) fn record(&self, decision: &Decision) -> Result<(), ErrorCode> {
        let allowed = decision.is_allowed();
        self.count(decision);
        if allowed {
            tracing::debug!(target: "wasock::policy", instance = %self.subject, "{decision}");
            Ok(())
        } else {
            self.log_denial(decision, "");
            Err(ErrorCode::AccessDenied)
        }
    }

    /// Whether the policy admits `peer` for a peer filter, without counting
    /// or logging (for looking ahead, as `poll` does).
    pub(crate) fn peer_allowed(&self, op: Operation, peer: SocketAddr) -> bool {
        self.decide(op, peer).is_allowed()
    }

    /// Check a peer filter (`tcp-accept`, `udp-recv`): like [`Gate::check`]
    /// but a denial is counted and logged as a dropped peer.
    pub(crate) fn admit_peer(&self, op: Operation, peer: SocketAddr) -> bool {
        let decision = self.decide(op, peer);
        self.count(&decision);
        if decision.is_allowed() {
            return true;
        }
        match op {
            Operation::TcpAccept => self.stats.dropped_connection(),
            _ => self.stats.dropped_datagram(),
        }
        self.log_denial(&decision, "; the peer was dropped before the guest saw it");
        false
    }

    /// Whether a datagram from `from` may reach a holder of `contacts`: a
    /// reply from a peer it sent to (like a stateful firewall), or a
    /// `udp-recv` grant. `count` says whether this is the real decision
    /// (counted, and logged if refused) or a look ahead.
    pub(crate) fn admit_datagram(
        &self,
        contacts: &Contacts,
        from: SocketAddr,
        count: bool,
    ) -> bool {
        if contacts.contains(&from) {
            return true;
        }
        if count {
            self.admit_peer(Operation::UdpRecv, from)
        } else {
            self.peer_allowed(Operation::UdpRecv, from)
        }
    }

    /// An empty reply-rule memory, bounded by this gate's budget.
    pub(crate) fn contacts(&self) -> Contacts {
        Contacts {
            budget: self.contacts.clone(),
            known: None,
        }
    }
}

/// Peers a holder sent to, whose replies it receives without a `udp-recv`
/// grant. Bounded per holder and, through its share, per instance; dropping
/// it gives the share back.
pub(crate) struct Contacts {
    /// The instance's budget of remembered peers.
    budget: Arc<Budget>,
    /// The peers, from the first one on: boxed, since most sockets (every
    /// stream) never send a datagram, and each would pay for the room.
    known: Option<Box<Known>>,
}

/// The peers a [`Contacts`] remembers, and its share of the budget.
struct Known {
    peers: foldhash::HashSet<(IpAddr, u16)>,
    share: Share,
}

impl Contacts {
    /// Remember `peer` (address and port), within the bounds.
    pub(crate) fn remember(&mut self, peer: SocketAddr) {
        let budget = &self.budget;
        let known = self.known.get_or_insert_with(|| {
            Box::new(Known {
                peers: foldhash::HashSet::default(),
                share: budget.empty_share(),
            })
        });
        let key = (peer.ip(), peer.port());
        if known.peers.len() < MAX_CONTACTED
            && !known.peers.contains(&key)
            && known.share.resize(known.share.amount() + 1)
        {
            known.peers.insert(key);
        }
    }

    /// Whether `peer` was sent to (flow label and scope aside).
    pub(crate) fn contains(&self, peer: &SocketAddr) -> bool {
        self.known
            .as_ref()
            .is_some_and(|k| k.peers.contains(&(peer.ip(), peer.port())))
    }
}
