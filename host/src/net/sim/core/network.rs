//! The world: hosts, links, partitions, names, virtual time and the event
//! loop.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::config::{HEADER, LinkConfig};
use super::events::{Queue, Timer, TimerKey};
use super::rng::Rng;
use super::socket::Socket;
use super::{ErrorCode, Family, HostId, NetEvent, NetFault, SockId};

/// A host: a name and its addresses (loopback is implicit).
#[derive(Debug)]
pub(crate) struct Host {
    pub name: String,
    pub addrs: Vec<IpAddr>,
    /// Next ephemeral port to try, per protocol (`[udp, tcp]`).
    pub next_port: [u16; 2],
}

/// One direction of a link: its random stream and bandwidth queue.
#[derive(Debug)]
pub(crate) struct LinkState {
    pub rng: Rng,
    pub busy_until: Duration,
}

/// A partition between two sets of hosts during `[start, heal)`: both
/// ways, or (`one_way`) only what `a`'s hosts send to `b`'s.
#[derive(Debug, Clone)]
pub(crate) struct Partition {
    pub a: BTreeSet<HostId>,
    pub b: BTreeSet<HostId>,
    pub start: Duration,
    pub heal: Option<Duration>,
    pub one_way: bool,
}

impl Partition {
    /// Whether it cuts what `from` sends to `to` at time `t`.
    fn cuts(&self, from: HostId, to: HostId, t: Duration) -> bool {
        self.start <= t
            && self.heal.is_none_or(|h| t < h)
            && ((self.a.contains(&from) && self.b.contains(&to))
                || (!self.one_way && self.b.contains(&from) && self.a.contains(&to)))
    }
}

/// What the link does with one packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fate {
    /// Dropped by a partition.
    Cut,
    /// Lost.
    Lost,
    /// Arrives at `at`; a duplicate arrives at `dup`.
    Arrive {
        at: Duration,
        dup: Option<Duration>,
        reordered: bool,
    },
}

/// The simulated network: see the [module documentation](super).
#[derive(Debug)]
pub struct Network {
    pub(crate) seed: u64,
    pub(crate) now: Duration,
    pub(crate) default_link: LinkConfig,
    pub(crate) hosts: Vec<Host>,
    pub(crate) addr_owner: BTreeMap<IpAddr, HostId>,
    pub(crate) links: BTreeMap<(HostId, HostId), LinkConfig>,
    pub(crate) link_state: BTreeMap<(HostId, HostId), LinkState>,
    pub(crate) partitions: Vec<Partition>,
    pub(crate) names: BTreeMap<String, Vec<IpAddr>>,
    pub(crate) queue: Queue,
    pub(crate) events: Vec<NetEvent>,
    pub(crate) changed: BTreeSet<SockId>,
    pub(crate) sockets: BTreeMap<SockId, Socket>,
    pub(crate) next_sock: u64,
    /// Bound sockets by `(host, is_tcp, port)`.
    pub(crate) ports: BTreeMap<(HostId, bool, u16), Vec<SockId>>,
    /// Accepted connections by `(host, local, remote)`.
    pub(crate) conns: BTreeMap<(HostId, SocketAddr, SocketAddr), SockId>,
    pub(crate) verbose: bool,
    /// Events handled so far (deliveries, timers, partitions).
    pub(crate) processed: u64,
    /// Hosts crashed and not restarted: nothing reaches them or leaves
    /// them.
    pub(crate) down: BTreeSet<HostId>,
}

impl Network {
    /// An empty network at time zero. `seed` drives every random fault;
    /// `default_link` applies between hosts without [`Network::set_link`].
    pub fn new(seed: u64, default_link: LinkConfig) -> Network {
        Network {
            seed,
            now: Duration::ZERO,
            default_link,
            hosts: Vec::new(),
            addr_owner: BTreeMap::new(),
            links: BTreeMap::new(),
            link_state: BTreeMap::new(),
            partitions: Vec::new(),
            names: BTreeMap::new(),
            queue: Queue::default(),
            events: Vec::new(),
            changed: BTreeSet::new(),
            sockets: BTreeMap::new(),
            next_sock: 1,
            ports: BTreeMap::new(),
            conns: BTreeMap::new(),
            verbose: true,
            processed: 0,
            down: BTreeSet::new(),
        }
    }

    /// Add a host named `name` owning `addrs` (besides its private
    /// `127.0.0.1` and `::1`). The host has two interfaces: index 1
    /// ([`super::LOOPBACK_INTERFACE`]) with the loopback addresses and
    /// index 2 ([`super::NETWORK_INTERFACE`]) with `addrs`. A duplicate name (case-insensitive), an
    /// address another host owns or listed twice, or a loopback,
    /// unspecified or multicast address is `InvalidArgument`.
    pub fn add_host(&mut self, name: &str, addrs: &[IpAddr]) -> Result<HostId, ErrorCode> {
        if name.is_empty() || self.hosts.iter().any(|h| h.name.eq_ignore_ascii_case(name)) {
            return Err(ErrorCode::InvalidArgument);
        }
        let mut seen = BTreeSet::new();
        for a in addrs {
            if a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || self.addr_owner.contains_key(a)
                || !seen.insert(*a)
            {
                return Err(ErrorCode::InvalidArgument);
            }
        }
        let id = HostId(self.hosts.len());
        for a in addrs {
            self.addr_owner.insert(*a, id);
        }
        self.hosts.push(Host {
            name: name.to_string(),
            addrs: addrs.to_vec(),
            next_port: [super::EPHEMERAL_START; 2],
        });
        Ok(id)
    }

    /// The name of host `h` (empty for an unknown id).
    pub fn host_name(&self, h: HostId) -> &str {
        self.hosts.get(h.0).map_or("", |h| h.name.as_str())
    }

    /// Use `cfg` for the link between `a` and `b`, in both directions.
    pub fn set_link(&mut self, a: HostId, b: HostId, cfg: LinkConfig) {
        self.links.insert((a.min(b), a.max(b)), cfg);
    }

    /// Cut every link between a host of `a` and a host of `b` during
    /// `[start, heal)` (`heal` `None`: forever). Packets sent across the cut
    /// in that interval are dropped; packets already on the wire arrive.
    /// Emits "partition started: A | B" and "partition healed: A | B" (the
    /// two sides' host names) at those times.
    pub fn partition(
        &mut self,
        a: &[HostId],
        b: &[HostId],
        start: Duration,
        heal: Option<Duration>,
    ) {
        self.cut(a, b, start, heal, false);
    }

    /// As [`partition`](Self::partition), one way: what a host of `from`
    /// sends to a host of `to` is dropped, what they send back arrives.
    /// A stream across the cut gets no acknowledgement either way, and
    /// times out as a real one does. The transcript writes the two sides
    /// `A -> B`.
    pub fn partition_one_way(
        &mut self,
        from: &[HostId],
        to: &[HostId],
        start: Duration,
        heal: Option<Duration>,
    ) {
        self.cut(from, to, start, heal, true);
    }

    /// [`partition`](Self::partition), or with `one_way`
    /// [`partition_one_way`](Self::partition_one_way).
    pub(crate) fn cut(
        &mut self,
        a: &[HostId],
        b: &[HostId],
        start: Duration,
        heal: Option<Duration>,
        one_way: bool,
    ) {
        let index = self.partitions.len();
        self.partitions.push(Partition {
            a: a.iter().copied().collect(),
            b: b.iter().copied().collect(),
            start,
            heal,
            one_way,
        });
        self.queue
            .push(start.max(self.now), Timer::PartitionStart(index));
        if let Some(h) = heal {
            self.queue
                .push(h.max(self.now), Timer::PartitionHeal(index));
        }
    }

    /// Make `name` (case-insensitive) resolve to `addrs`, replacing any
    /// earlier entry. Host names resolve to their hosts' addresses, and
    /// `localhost` to the loopback addresses, unless overridden here.
    pub fn add_name(&mut self, name: &str, addrs: &[IpAddr]) {
        self.names.insert(name.to_ascii_lowercase(), addrs.to_vec());
    }

    /// The addresses of `name`, case-insensitively: the name table first,
    /// then `localhost`, which on every host is `[127.0.0.1, ::1]` (each
    /// host's own loopback), then host names. Unknown names (and names
    /// without addresses) are `NameNotFound`.
    pub fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, ErrorCode> {
        let addrs = match self.names.get(&name.to_ascii_lowercase()) {
            Some(a) => a.clone(),
            None if name.eq_ignore_ascii_case("localhost") => vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ],
            None => self
                .hosts
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.addrs.clone())
                .unwrap_or_default(),
        };
        if addrs.is_empty() {
            Err(ErrorCode::NameNotFound)
        } else {
            Ok(addrs)
        }
    }

    /// Emit or suppress per-datagram transcript events (default: on).
    /// Stream transcripts never have per-segment events except
    /// retransmissions.
    pub fn set_verbose(&mut self, on: bool) {
        self.verbose = on;
    }

    /// The current virtual time.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// When the earliest pending event is due, if any.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.queue.next_time()
    }

    /// Process every event due at or before `t`, in time order (ties in the
    /// order they were scheduled), then set the time to `t` (time never goes
    /// back).
    pub fn advance_to(&mut self, t: Duration) {
        while let Some((key, timer)) = self.queue.pop_due(t) {
            self.now = self.now.max(key.0);
            if let Some(s) = timer.owner().and_then(|s| self.sockets.get_mut(&s)) {
                s.timers.remove(&key);
            }
            self.handle(timer);
        }
        self.now = self.now.max(t);
    }

    /// The transcript events since the last call, in order.
    pub fn take_events(&mut self) -> Vec<NetEvent> {
        std::mem::take(&mut self.events)
    }

    /// The sockets whose readiness or state may have changed since the last
    /// call, sorted and without duplicates.
    pub fn take_changed(&mut self) -> Vec<SockId> {
        std::mem::take(&mut self.changed).into_iter().collect()
    }

    /// Process events due now (same-host traffic), so that readiness is
    /// up to date when an operation returns.
    pub(crate) fn run_due(&mut self) {
        let now = self.now;
        self.advance_to(now);
    }

    fn handle(&mut self, t: Timer) {
        self.processed += 1;
        match t {
            Timer::PartitionStart(i) => {
                if let Some(f) = self.partition_fault(i, true) {
                    self.event_net(f);
                }
            }
            Timer::PartitionHeal(i) => {
                if let Some(f) = self.partition_fault(i, false) {
                    self.event_net(f);
                }
            }
            Timer::Udp(d) => self.on_udp(*d),
            Timer::UdpRefused { to, peer } => self.on_udp_refused(to, peer),
            Timer::Syn {
                from,
                from_gen,
                from_host,
                to_host,
                src,
                dst,
            } => self.on_syn(from, from_gen, from_host, to_host, src, dst),
            Timer::SynAck {
                to,
                to_gen,
                host,
                from,
                from_gen,
            } => self.on_synack(to, to_gen, host, from, from_gen),
            Timer::SynRto {
                sock,
                gen_,
                attempt,
            } => self.on_syn_rto(sock, gen_, attempt),
            Timer::ConnectTimeout { sock, gen_ } => self.on_connect_timeout(sock, gen_),
            Timer::Seg(m) => self.on_seg(m),
            Timer::Rto {
                sock,
                gen_,
                seq,
                attempt,
            } => self.on_rto(sock, gen_, seq, attempt),
            Timer::Rst { to, to_gen } => self.on_rst(to, to_gen),
            Timer::OrphanTimeout { sock } => self.remove_socket(sock),
            Timer::KeepAlive { sock, kgen } => self.on_keepalive(sock, kgen),
        }
    }

    // ----- transcript -----

    /// Partition `i` beginning (`started`) or healing, as a fault.
    fn partition_fault(&self, i: usize, started: bool) -> Option<NetFault> {
        let p = self.partitions.get(i)?;
        let names = |side: &BTreeSet<HostId>| {
            side.iter()
                .map(|&h| self.host_name(h).to_string())
                .collect::<Vec<_>>()
        };
        Some(NetFault::Partition {
            started,
            a: names(&p.a),
            b: names(&p.b),
            one_way: p.one_way,
        })
    }

    /// Record a network-wide fault (host `*`).
    fn event_net(&mut self, fault: NetFault) {
        self.events.push(NetEvent {
            at: self.now,
            host: "*".to_string(),
            text: fault.to_string(),
            fault: Some(fault),
        });
    }

    /// Record a fault of host `h`.
    pub(crate) fn event_fault(&mut self, h: HostId, fault: NetFault) {
        self.events.push(NetEvent {
            at: self.now,
            host: self.host_name(h).to_string(),
            text: fault.to_string(),
            fault: Some(fault),
        });
    }

    /// Record an event on host `h`.
    pub(crate) fn event(&mut self, h: HostId, text: String) {
        let host = self.host_name(h).to_string();
        self.events.push(NetEvent {
            at: self.now,
            host,
            text,
            fault: None,
        });
    }

    // ----- links -----

    /// Whether a partition drops what `from` sends to `to` at time `t`,
    /// or `from` is down and sends nothing. (What reaches a host that is
    /// down is lost on arrival, judged then: it may be back by then.)
    pub(crate) fn is_cut(&self, from: HostId, to: HostId, t: Duration) -> bool {
        from != to
            && (self.down.contains(&from) || self.partitions.iter().any(|p| p.cuts(from, to, t)))
    }

    /// The configuration of the link between `x` and `y`.
    pub(crate) fn link_cfg(&self, x: HostId, y: HostId) -> LinkConfig {
        self.links
            .get(&(x.min(y), x.max(y)))
            .copied()
            .unwrap_or(self.default_link)
    }

    /// One-way delay of a fault-free control packet (0 on the same host).
    pub(crate) fn one_way(&self, x: HostId, y: HostId) -> Duration {
        if x == y {
            Duration::ZERO
        } else {
            self.link_cfg(x, y).latency
        }
    }

    /// Send a packet of `bytes` bytes (headers included) from `from` to
    /// `to` now: decide its fate with the link's random stream.
    pub(crate) fn link_send(&mut self, from: HostId, to: HostId, bytes: usize) -> Fate {
        let now = self.now;
        if from == to {
            return Fate::Arrive {
                at: now,
                dup: None,
                reordered: false,
            };
        }
        if self.is_cut(from, to, now) {
            return Fate::Cut;
        }
        let cfg = self.link_cfg(from, to);
        let seed = self.seed;
        let names = (
            self.host_name(from).to_string(),
            self.host_name(to).to_string(),
        );
        let st = self
            .link_state
            .entry((from, to))
            .or_insert_with(|| LinkState {
                rng: Rng::for_link(seed, &names.0, &names.1),
                busy_until: Duration::ZERO,
            });
        let lost = st.rng.chance(cfg.loss);
        let mut depart = now;
        if let Some(bw) = cfg.bandwidth.filter(|b| *b > 0) {
            let start = now.max(st.busy_until);
            let nanos = (bytes as u128).saturating_mul(1_000_000_000) / u128::from(bw);
            let ser = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
            depart = start.saturating_add(ser);
            st.busy_until = depart;
        }
        if lost {
            return Fate::Lost;
        }
        let base = depart.saturating_add(cfg.latency);
        let mut at = base.saturating_add(scale(cfg.jitter, st.rng.unit()));
        let reordered = st.rng.chance(cfg.reorder);
        let extra_max = cfg
            .latency
            .saturating_mul(2)
            .saturating_add(cfg.jitter)
            .saturating_add(Duration::from_millis(1));
        let extra = scale(extra_max, st.rng.unit());
        if reordered {
            at = at.saturating_add(extra);
        }
        let dup_jitter = scale(cfg.jitter, st.rng.unit());
        let dup = st
            .rng
            .chance(cfg.duplicate)
            .then(|| at.saturating_add(dup_jitter));
        Fate::Arrive { at, dup, reordered }
    }

    /// Size in bytes a packet with `payload` bytes occupies on a link.
    pub(crate) fn wire_size(payload: usize) -> usize {
        payload.saturating_add(HEADER)
    }

    // ----- addresses -----

    /// The host that receives packets for `ip` sent from `from`: `from`
    /// itself for loopback, the owner otherwise.
    pub(crate) fn route(&self, from: HostId, ip: IpAddr) -> Option<HostId> {
        if ip.is_loopback() {
            Some(from)
        } else {
            self.addr_owner.get(&ip).copied()
        }
    }

    /// Whether host `h` may bind `ip` (multicast addresses aside: only
    /// datagram sockets may bind those).
    pub(crate) fn is_local(&self, h: HostId, ip: IpAddr) -> bool {
        ip.is_unspecified() || ip.is_loopback() || self.addr_owner.get(&ip) == Some(&h)
    }

    /// The source address host `h` uses towards `dst` when bound to
    /// `bound` (a multicast address bound counts as unspecified).
    pub(crate) fn source_ip(
        &self,
        h: HostId,
        bound: IpAddr,
        dst: IpAddr,
    ) -> Result<IpAddr, ErrorCode> {
        if !bound.is_unspecified() && !bound.is_multicast() {
            return Ok(bound);
        }
        if dst.is_loopback() {
            return Ok(match dst {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        if self.addr_owner.get(&dst) == Some(&h) {
            return Ok(dst);
        }
        let host = self.hosts.get(h.0).ok_or(ErrorCode::NetworkUnreachable)?;
        host.addrs
            .iter()
            .find(|a| a.is_ipv4() == dst.is_ipv4())
            .copied()
            .ok_or(ErrorCode::NetworkUnreachable)
    }

    /// The unspecified address of `family`.
    pub(crate) fn unspecified(family: Family) -> IpAddr {
        match family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }

    /// The bound socket receiving traffic for `dst` on host `h`: an exact
    /// address match first, then a wildcard bind of the same family.
    /// `accept` filters candidates (e.g. listening sockets only).
    pub(crate) fn lookup(
        &self,
        h: HostId,
        tcp: bool,
        dst: SocketAddr,
        accept: impl Fn(&Socket) -> bool,
    ) -> Option<SockId> {
        let ids = self.ports.get(&(h, tcp, dst.port()))?;
        let mut wildcard = None;
        for id in ids {
            let Some(s) = self.sockets.get(id) else {
                continue;
            };
            let Some(local) = s.local else { continue };
            if s.orphan || !accept(s) || local.is_ipv4() != dst.is_ipv4() {
                continue;
            }
            if local.ip() == dst.ip() {
                return Some(*id);
            }
            if local.ip().is_unspecified() && wildcard.is_none() {
                wildcard = Some(*id);
            }
        }
        wildcard
    }

    /// Schedule packet `msg` to arrive at `at` and, when the link
    /// duplicated it, a copy at `dup` (the copy is queued first; the two
    /// are identical, so which runs first on a tie makes no difference).
    pub(crate) fn push_arrival(&mut self, at: Duration, dup: Option<Duration>, msg: Timer) {
        if let Some(d) = dup {
            self.queue.push(d, msg.clone());
        }
        self.queue.push(at, msg);
    }

    /// Schedule a timer owned by socket `s` (cancelled with it); returns
    /// its key for [`Network::unschedule`].
    pub(crate) fn schedule(&mut self, s: SockId, at: Duration, t: Timer) -> TimerKey {
        let key = self.queue.push(at, t);
        if let Some(sock) = self.sockets.get_mut(&s) {
            sock.timers.insert(key);
        }
        key
    }

    /// Cancel one pending timer `key` of socket `s`.
    pub(crate) fn unschedule(&mut self, s: SockId, key: TimerKey) {
        self.queue.cancel(key);
        if let Some(sock) = self.sockets.get_mut(&s) {
            sock.timers.remove(&key);
        }
    }

    /// Cancel every pending timer of socket `s`.
    pub(crate) fn cancel_timers(&mut self, s: SockId) {
        if let Some(sock) = self.sockets.get_mut(&s) {
            for key in std::mem::take(&mut sock.timers) {
                self.queue.cancel(key);
            }
        }
    }

    /// How many events (deliveries, timers, partitions) were handled so far.
    pub fn processed_events(&self) -> u64 {
        self.processed
    }

    /// How many events are scheduled and not yet due.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// Forget socket `s` entirely, cancelling its timers (packets it sent
    /// stay in flight).
    pub(crate) fn remove_socket(&mut self, s: SockId) {
        self.cancel_timers(s);
        let Some(sock) = self.sockets.remove(&s) else {
            return;
        };
        self.changed.remove(&s);
        if let (true, Some(local)) = (sock.in_port_table, sock.local) {
            let key = (sock.host, sock.tcp().is_some(), local.port());
            if let Some(v) = self.ports.get_mut(&key) {
                v.retain(|x| *x != s);
                if v.is_empty() {
                    self.ports.remove(&key);
                }
            }
        }
        if let Some(t) = sock.tcp() {
            if let (Some(local), Some(peer)) = (sock.local, t.peer)
                && self.conns.get(&(sock.host, local, peer)) == Some(&s)
            {
                self.conns.remove(&(sock.host, local, peer));
            }
            if let Some(l) = t.listener
                && let Some(lt) = self.sockets.get_mut(&l).and_then(|x| x.tcp_mut())
            {
                lt.accept_q.retain(|x| *x != s);
            }
        }
    }
}

/// `d * u` for `u` in `[0, 1)`, without panicking.
fn scale(d: Duration, u: f64) -> Duration {
    let nanos = d.as_nanos() as f64 * u;
    Duration::from_nanos(nanos as u64)
}
