//! `fuzz_wasi SEED STEPS [misuse]`: a bounded random sequence of standard
//! `wasi:sockets@0.2` calls (the raw bindings of the `wasip2` crate) with
//! random arguments, on a bounded set of held resources: TCP and UDP
//! sockets of both families, their `wasi:io` streams and datagram streams,
//! pollables, networks and name lookups. Every call must return; waits are
//! `wasi:io/poll.poll` calls that always include a clock pollable of at
//! most 5 ms, so nothing blocks for long. The program checks what the
//! interfaces promise in so many words (below) and prints
//! `ok fuzzed STEPS calls (...)`; a broken promise prints `FAIL ...` with
//! the last calls made and exits 1. Error codes outside a function's
//! "Typical errors" are not failures (the WIT says any function may return
//! any code) but are reported as `note: ...` lines before the `ok` line.
//!
//! Resources are dropped in random orders too, but never a parent before
//! its children (a socket before its streams or pollables, a stream before
//! its pollables): that traps by design. Addresses are loopback, the
//! unspecified and IPv4-mapped addresses and a multicast group of each
//! family, with random ports and the ports of the program's own sockets; the
//! host's policy allows loopback only.
//!
//! What is checked (each a statement of the WIT or of `wasi:io`):
//! - `receive`, `send` and `check-send` never return `would-block`;
//!   `receive` returns at most `max-results` datagrams, none with
//!   `max-results` 0, and on a stream made with a remote address only
//!   datagrams from it; `send` of no datagrams returns `ok(0)` and never
//!   more than it was given; `read` and `skip` return at most `len`.
//! - `send` and `write` stay within what `check-send` and `check-write`
//!   permitted (else the program, not the host, would be at fault); once
//!   a stream has failed or closed, every later operation on it fails.
//! - The bytes a TCP stream delivers are the bytes written into the other
//!   end, in order, when both ends are this program's (paired by their
//!   addresses at `accept`).
//! - A socket's family never changes; an accepted socket has its
//!   listener's and a local address.
//! - State rules: no `local-address` before any bind, no `remote-address`
//!   or `shutdown` or `accept` on a socket never connected or listening, no
//!   second successful bind, no `finish-*` success without its `start-*`,
//!   no `not-in-progress` from a `finish-*` whose `start-*` succeeded,
//!   `is-listening` true after `finish-listen` and false before any
//!   `start-listen`; UDP `stream` needs a bound socket, `remote-address`
//!   is the one streamed to; a direction shut down stays shut.
//! - Setters given 0 fail (`invalid-argument`).
//! - After an output stream's pollable is ready, `check-write` permits a
//!   byte or fails; likewise `check-send` after an outgoing datagram
//!   stream's.
//! - Name lookups never return IPv4-mapped addresses, and return an IP
//!   literal as is.
//!
//! For debugging, `FUZZ_WASI_TRACE` (set in the guest's environment)
//! prints every call as it is made, and `FUZZ_WASI_COVERAGE` how often each
//! function succeeded and failed.
//!
//! With `misuse`, the program runs STEPS random calls as above, then makes
//! ONE deliberate misuse chosen by SEED (`SEED % 18` picks it, `SEED / 18`
//! the family): writing or sending past the permit, dropping a parent
//! before its children, using a dropped handle, a handle of another type or
//! one never given out. It prints `misuse NAME: about to trap (...)` first
//! and `misuse NAME: survived (...)` if the call returned, which must not
//! happen.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;

use wasip2::clocks::monotonic_clock::subscribe_duration;
use wasip2::io::poll::{Pollable, poll};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::{ResolveAddressStream, resolve_addresses};
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    Network,
};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;
use wasip2::sockets::udp::{
    IncomingDatagramStream, OutgoingDatagram, OutgoingDatagramStream, UdpSocket,
};
use wasip2::sockets::udp_create_socket::create_udp_socket;

/// The longest a single wait may take, in nanoseconds.
const SHORT: u64 = 5_000_000;
/// Most resources held at once.
const MAX_SLOTS: usize = 40;
/// Most sockets created (accepted ones may go a little past it).
const MAX_SOCKETS: usize = 10;
/// Most distinct notes kept.
const MAX_NOTES: usize = 64;
/// How many calls a failure report shows.
const TRACE: usize = 40;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }
    fn family(&mut self) -> IpAddressFamily {
        if self.bool() {
            IpAddressFamily::Ipv4
        } else {
            IpAddressFamily::Ipv6
        }
    }
}

// --- addresses ---

fn is_v6(f: IpAddressFamily) -> bool {
    matches!(f, IpAddressFamily::Ipv6)
}

fn other(f: IpAddressFamily) -> IpAddressFamily {
    if is_v6(f) {
        IpAddressFamily::Ipv4
    } else {
        IpAddressFamily::Ipv6
    }
}

fn loopback(f: IpAddressFamily) -> IpAddr {
    if is_v6(f) {
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }
}

fn wasi_addr(a: SocketAddr, flow_info: u32, scope_id: u32) -> IpSocketAddress {
    match a {
        SocketAddr::V4(a) => {
            let [w, x, y, z] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (w, x, y, z),
            })
        }
        SocketAddr::V6(a) => {
            let s = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info,
                address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                scope_id,
            })
        }
    }
}

fn std_ip(a: IpAddress) -> IpAddr {
    match a {
        IpAddress::Ipv4((w, x, y, z)) => IpAddr::V4(Ipv4Addr::new(w, x, y, z)),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
        }
    }
}

fn std_addr(a: IpSocketAddress) -> SocketAddr {
    match a {
        IpSocketAddress::Ipv4(a) => {
            let (w, x, y, z) = a.address;
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(w, x, y, z)), a.port)
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::new(
                IpAddr::V6(Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7)),
                a.port,
            )
        }
    }
}

/// The same host and port (flow information and scope aside).
fn same(a: SocketAddr, b: SocketAddr) -> bool {
    a.ip() == b.ip() && a.port() == b.port()
}

fn is_v4_mapped(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

// --- what TCP streams carry ---

/// The byte written at offset `i` of every TCP output stream of this
/// program (but for zeroes and spliced bytes, see [`Log`]).
fn pattern_byte(i: u64) -> u8 {
    // splitmix64's finaliser: no two nearby runs of 16 bytes are alike.
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as u8
}

fn pattern(offset: u64, n: usize) -> Vec<u8> {
    (0..n as u64).map(|k| pattern_byte(offset + k)).collect()
}

/// What one direction of a TCP connection carried: the pattern at each
/// offset, but zeroes where `write-zeroes` wrote, and unknown bytes from
/// the first splice on.
#[derive(Default)]
struct Log {
    zeros: Vec<(u64, u64)>,
    tainted_from: Option<u64>,
}

impl Log {
    /// The bytes at `offset..offset + n`, as far as they are known (a
    /// prefix).
    fn expected(&self, offset: u64, n: usize) -> Vec<u8> {
        let mut end = offset + n as u64;
        if let Some(t) = self.tainted_from {
            end = end.min(t.max(offset));
        }
        let mut v = pattern(offset, (end - offset) as usize);
        let first = self.zeros.partition_point(|&(_, e)| e <= offset);
        for &(s, e) in &self.zeros[first..] {
            if s >= end {
                break;
            }
            let from = (s.max(offset) - offset) as usize;
            let to = (e.min(end) - offset) as usize;
            v[from..to].fill(0);
        }
        v
    }
}

/// Where in a writer's stream the bytes read at `at` were written: a
/// 16-byte run of the pattern names its offset.
fn whence(got: &[u8], at: u64) -> String {
    let run = &got[..got.len().min(16)];
    if run.len() < 16 {
        return "too few bytes to tell where they were written".into();
    }
    if run.iter().all(|&b| b == 0) {
        return "they are zeroes".into();
    }
    let from = at.saturating_sub(1 << 20);
    let window = pattern(from, (2 << 20) + 16);
    match window.windows(16).position(|w| w == run) {
        Some(p) => {
            let w = from + p as u64;
            match w.cmp(&at) {
                std::cmp::Ordering::Greater => format!(
                    "they were written at offset {w}: the {} bytes written before them never arrived",
                    w - at
                ),
                std::cmp::Ordering::Less => format!(
                    "they were written at offset {w}: {} bytes arrived again",
                    at - w
                ),
                std::cmp::Ordering::Equal => "they were written there".into(),
            }
        }
        None => "they are no bytes written within 1 MiB of there".into(),
    }
}

// --- held resources ---

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Bind,
    Listen,
    Connect,
}

struct Tcp {
    s: TcpSocket,
    fam: IpAddressFamily,
    /// A `start-bind`, `start-connect` or `start-listen` was called.
    touched: bool,
    /// A `start-bind` or `start-connect` succeeded, or it was accepted.
    bound: bool,
    /// The operation started and not finished.
    pending: Option<Op>,
    /// `start-connect` was called: the socket may be `closed`.
    connect_tried: bool,
    /// `finish-connect` succeeded, or it was accepted.
    connected: bool,
    listen_started: bool,
    /// `finish-listen` succeeded.
    listening: bool,
    rx_shut: bool,
    tx_shut: bool,
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
    /// What this socket's output stream wrote.
    tx: Rc<RefCell<Log>>,
    /// What the other end (also held here) wrote, once paired.
    rx: Option<Rc<RefCell<Log>>>,
}

impl Tcp {
    fn new(s: TcpSocket, fam: IpAddressFamily) -> Tcp {
        Tcp {
            s,
            fam,
            touched: false,
            bound: false,
            pending: None,
            connect_tried: false,
            connected: false,
            listen_started: false,
            listening: false,
            rx_shut: false,
            tx_shut: false,
            local: None,
            peer: None,
            tx: Rc::default(),
            rx: None,
        }
    }

    /// Whether the socket may be in the `closed` state, where any call may
    /// fail with `invalid-state`.
    fn maybe_closed(&self) -> bool {
        self.connect_tried && !self.connected
    }

    /// Never asked to connect and not accepted: not connected.
    fn never_connected(&self) -> bool {
        !self.connect_tried && !self.connected
    }
}

#[derive(Clone, Copy)]
enum Peer {
    None,
    Some(SocketAddr),
    Unknown,
}

struct Udp {
    s: UdpSocket,
    fam: IpAddressFamily,
    touched: bool,
    bound: bool,
    binding: bool,
    /// How many pairs of streams `stream` returned; the last is live.
    generation: u32,
    peer: Peer,
}

struct In {
    s: InputStream,
    offset: u64,
    closed: bool,
}

struct Out {
    s: OutputStream,
    /// What `check-write` permitted, less what was written since.
    permit: Option<u64>,
    written: u64,
    closed: bool,
}

struct Inc {
    s: IncomingDatagramStream,
    generation: u32,
    remote: Option<SocketAddr>,
}

struct Outg {
    s: OutgoingDatagramStream,
    generation: u32,
    remote: Option<SocketAddr>,
    permit: Option<u64>,
}

struct Lookup {
    s: ResolveAddressStream,
    literal: Option<IpAddr>,
    seen: u32,
    done: bool,
}

enum Res {
    Net(Network),
    Tcp(Box<Tcp>),
    Udp(Udp),
    In(In),
    Out(Out),
    Inc(Inc),
    Outg(Outg),
    Lookup(Lookup),
    Poll(Pollable),
}

impl Res {
    fn kind(&self) -> &'static str {
        match self {
            Res::Net(_) => "network",
            Res::Tcp(_) => "tcp",
            Res::Udp(_) => "udp",
            Res::In(_) => "input",
            Res::Out(_) => "output",
            Res::Inc(_) => "incoming",
            Res::Outg(_) => "outgoing",
            Res::Lookup(_) => "lookup",
            Res::Poll(_) => "pollable",
        }
    }

    fn is_socket(&self) -> bool {
        matches!(self, Res::Tcp(_) | Res::Udp(_))
    }

    fn subscribe(&self) -> Option<Pollable> {
        Some(match self {
            Res::Tcp(t) => t.s.subscribe(),
            Res::Udp(u) => u.s.subscribe(),
            Res::In(x) => x.s.subscribe(),
            Res::Out(x) => x.s.subscribe(),
            Res::Inc(x) => x.s.subscribe(),
            Res::Outg(x) => x.s.subscribe(),
            Res::Lookup(x) => x.s.subscribe(),
            Res::Net(_) | Res::Poll(_) => return None,
        })
    }
}

struct Slot {
    id: u32,
    /// The resource this one must be dropped before.
    parent: Option<u32>,
    res: Res,
}

// Typical errors of each function, as its WIT documentation lists them.
use ErrorCode as E;
const ALWAYS: &[ErrorCode] = &[
    E::Unknown,
    E::AccessDenied,
    E::NotSupported,
    E::OutOfMemory,
    E::ConcurrencyConflict,
];
const CREATE_ERRS: &[ErrorCode] = &[E::NotSupported, E::NewSocketLimit];
const BIND_ERRS: &[ErrorCode] = &[
    E::InvalidArgument,
    E::InvalidState,
    E::AddressInUse,
    E::AddressNotBindable,
    E::NotInProgress,
    E::WouldBlock,
];
const CONNECT_ERRS: &[ErrorCode] = &[
    E::InvalidArgument,
    E::InvalidState,
    E::Timeout,
    E::ConnectionRefused,
    E::ConnectionReset,
    E::ConnectionAborted,
    E::RemoteUnreachable,
    E::AddressInUse,
    E::NotInProgress,
    E::WouldBlock,
];
const LISTEN_ERRS: &[ErrorCode] = &[
    E::InvalidState,
    E::AddressInUse,
    E::NotInProgress,
    E::WouldBlock,
];
const ACCEPT_ERRS: &[ErrorCode] = &[
    E::InvalidState,
    E::WouldBlock,
    E::ConnectionAborted,
    E::NewSocketLimit,
];
const STATE_ERRS: &[ErrorCode] = &[E::InvalidState];
const BACKLOG_ERRS: &[ErrorCode] = &[E::NotSupported, E::InvalidArgument, E::InvalidState];
const SET_ERRS: &[ErrorCode] = &[E::InvalidArgument];
const NO_ERRS: &[ErrorCode] = &[];
const STREAM_ERRS: &[ErrorCode] = &[
    E::InvalidArgument,
    E::InvalidState,
    E::AddressInUse,
    E::RemoteUnreachable,
    E::ConnectionRefused,
];
const RECEIVE_ERRS: &[ErrorCode] = &[E::RemoteUnreachable, E::ConnectionRefused];
const SEND_ERRS: &[ErrorCode] = &[
    E::InvalidArgument,
    E::RemoteUnreachable,
    E::ConnectionRefused,
    E::DatagramTooLarge,
];
const RESOLVE_ERRS: &[ErrorCode] = &[E::InvalidArgument];
const NEXT_ERRS: &[ErrorCode] = &[
    E::NameUnresolvable,
    E::TemporaryResolverFailure,
    E::PermanentResolverFailure,
    E::WouldBlock,
];

/// Names to look up: the pinned test name, `localhost`, IP literals and
/// garbage.
fn lookup_name(r: &mut Rng) -> String {
    const NAMES: &[&str] = &[
        "x.test",
        "localhost",
        "127.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "[::1]",
        "",
        "a..b",
        "no-such.invalid",
        "2130706433",
        "256.0.0.1",
        "-x.test",
        "bücher.test",
        "x.test.",
        "X.TEST",
        "a\0b",
        " ",
        "127.0.0.1:80",
    ];
    match r.below(NAMES.len() as u64 + 2) as usize {
        i if i < NAMES.len() => NAMES[i].to_string(),
        i if i == NAMES.len() => "a".repeat(64 + r.below(300) as usize),
        _ => (0..r.below(12))
            .map(|_| (b' ' + r.below(95) as u8) as char)
            .collect(),
    }
}

struct Fuzz {
    r: Rng,
    seed: u64,
    step: u64,
    held: Vec<Slot>,
    next_id: u32,
    ports: Vec<u16>,
    listen_ports: Vec<u16>,
    oks: u64,
    errs: u64,
    notes: BTreeSet<String>,
    trace: VecDeque<String>,
    /// Per function: calls that succeeded and failed.
    coverage: BTreeMap<String, (u64, u64)>,
    /// TCP bytes read and found to be what the other end wrote.
    verified: u64,
    /// Print every call as it is made (`FUZZ_WASI_TRACE` set).
    live_trace: bool,
}

fn code_name<T>(r: &Result<T, ErrorCode>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.name().into(),
    }
}

fn stream_name<T>(r: &Result<T, StreamError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(StreamError::Closed) => "closed",
        Err(StreamError::LastOperationFailed(_)) => "last-operation-failed",
    }
}

impl Fuzz {
    fn new(seed: u64) -> Fuzz {
        Fuzz {
            r: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
            seed,
            step: 0,
            held: Vec::new(),
            next_id: 0,
            ports: Vec::new(),
            listen_ports: Vec::new(),
            oks: 0,
            errs: 0,
            notes: BTreeSet::new(),
            trace: VecDeque::new(),
            coverage: BTreeMap::new(),
            verified: 0,
            live_trace: std::env::var_os("FUZZ_WASI_TRACE").is_some(),
        }
    }

    // --- bookkeeping ---

    fn fail(&self, msg: impl AsRef<str>) -> ! {
        println!(
            "FAIL seed {} step {}: {}\nlast calls:",
            self.seed,
            self.step,
            msg.as_ref()
        );
        for t in &self.trace {
            println!("  {t}");
        }
        std::process::exit(1);
    }

    fn log(&mut self, what: String) {
        if self.trace.len() == TRACE {
            self.trace.pop_front();
        }
        let line = format!("[{}] {what}", self.step);
        if self.live_trace {
            println!("trace: {line}");
        }
        self.trace.push_back(line);
    }

    fn tally(&mut self, ok: bool, what: String) {
        if ok {
            self.oks += 1;
        } else {
            self.errs += 1;
        }
        // `tcp#3 start-bind ...` counts as `tcp start-bind`.
        let mut words = what.split_whitespace();
        let first = words.next().unwrap_or("");
        let key = match first.split_once('#') {
            Some((kind, _)) => format!("{kind} {}", words.next().unwrap_or("")),
            None => first.to_string(),
        };
        let c = self.coverage.entry(key).or_default();
        if ok {
            c.0 += 1;
        } else {
            c.1 += 1;
        }
        self.log(what);
    }

    fn tally_code<T>(&mut self, what: impl AsRef<str>, r: &Result<T, ErrorCode>) {
        let s = format!("{} -> {}", what.as_ref(), code_name(r));
        self.tally(r.is_ok(), s);
    }

    fn tally_stream<T>(&mut self, what: impl AsRef<str>, r: &Result<T, StreamError>) {
        let s = format!("{} -> {}", what.as_ref(), stream_name(r));
        self.tally(r.is_ok(), s);
    }

    fn note(&mut self, what: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.insert(what);
        }
    }

    /// Note `e` if it is not among `op`'s typical errors.
    fn note_code(&mut self, op: &str, typical: &[ErrorCode], e: ErrorCode, tcp: bool) {
        if ALWAYS.contains(&e) || typical.contains(&e) || (tcp && e == E::InvalidState) {
            return;
        }
        self.note(format!(
            "{op} returned {} (not among its typical errors)",
            e.name()
        ));
    }

    /// A stream error's kind; the `error` resource is looked at and dropped.
    fn stream_error(&mut self, e: StreamError) -> bool {
        match e {
            StreamError::Closed => true,
            StreamError::LastOperationFailed(err) => {
                if self.r.below(4) == 0 {
                    let text = err.to_debug_string();
                    self.log(format!("  error: {text}"));
                }
                false
            }
        }
    }

    fn push(&mut self, parent: Option<u32>, res: Res) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        self.held.push(Slot { id, parent, res });
        self.held.len() - 1
    }

    fn idx(&self, id: u32) -> usize {
        self.held
            .iter()
            .position(|s| s.id == id)
            .expect("a parent outlives its children")
    }

    fn parent_idx(&self, i: usize) -> usize {
        self.idx(self.held[i].parent.expect("a stream has a parent"))
    }

    fn has_children(&self, id: u32) -> bool {
        self.held.iter().any(|s| s.parent == Some(id))
    }

    fn pick(&mut self, f: impl Fn(&Res) -> bool) -> Option<usize> {
        let c: Vec<usize> = (0..self.held.len())
            .filter(|&i| f(&self.held[i].res))
            .collect();
        if c.is_empty() {
            return None;
        }
        Some(c[self.r.below(c.len() as u64) as usize])
    }

    fn count(&self, f: impl Fn(&Res) -> bool) -> usize {
        self.held.iter().filter(|s| f(&s.res)).count()
    }

    fn id(&self, i: usize) -> u32 {
        self.held[i].id
    }

    fn tcp(&self, i: usize) -> &Tcp {
        match &self.held[i].res {
            Res::Tcp(x) => x,
            _ => unreachable!("not a tcp socket"),
        }
    }
    fn tcp_mut(&mut self, i: usize) -> &mut Tcp {
        match &mut self.held[i].res {
            Res::Tcp(x) => x,
            _ => unreachable!("not a tcp socket"),
        }
    }
    fn udp(&self, i: usize) -> &Udp {
        match &self.held[i].res {
            Res::Udp(x) => x,
            _ => unreachable!("not a udp socket"),
        }
    }
    fn udp_mut(&mut self, i: usize) -> &mut Udp {
        match &mut self.held[i].res {
            Res::Udp(x) => x,
            _ => unreachable!("not a udp socket"),
        }
    }
    fn inp(&self, i: usize) -> &In {
        match &self.held[i].res {
            Res::In(x) => x,
            _ => unreachable!("not an input stream"),
        }
    }
    fn inp_mut(&mut self, i: usize) -> &mut In {
        match &mut self.held[i].res {
            Res::In(x) => x,
            _ => unreachable!("not an input stream"),
        }
    }
    fn out(&self, i: usize) -> &Out {
        match &self.held[i].res {
            Res::Out(x) => x,
            _ => unreachable!("not an output stream"),
        }
    }
    fn out_mut(&mut self, i: usize) -> &mut Out {
        match &mut self.held[i].res {
            Res::Out(x) => x,
            _ => unreachable!("not an output stream"),
        }
    }
    fn inc(&self, i: usize) -> &Inc {
        match &self.held[i].res {
            Res::Inc(x) => x,
            _ => unreachable!("not an incoming datagram stream"),
        }
    }
    fn outg(&self, i: usize) -> &Outg {
        match &self.held[i].res {
            Res::Outg(x) => x,
            _ => unreachable!("not an outgoing datagram stream"),
        }
    }
    fn outg_mut(&mut self, i: usize) -> &mut Outg {
        match &mut self.held[i].res {
            Res::Outg(x) => x,
            _ => unreachable!("not an outgoing datagram stream"),
        }
    }
    fn lookup(&self, i: usize) -> &Lookup {
        match &self.held[i].res {
            Res::Lookup(x) => x,
            _ => unreachable!("not a lookup"),
        }
    }
    fn lookup_mut(&mut self, i: usize) -> &mut Lookup {
        match &mut self.held[i].res {
            Res::Lookup(x) => x,
            _ => unreachable!("not a lookup"),
        }
    }
    fn net(&self, i: usize) -> &Network {
        match &self.held[i].res {
            Res::Net(x) => x,
            _ => unreachable!("not a network"),
        }
    }

    /// A held network, made if none is.
    fn any_net(&mut self) -> usize {
        match self.pick(|r| matches!(r, Res::Net(_))) {
            Some(i) => i,
            None => {
                self.log("instance-network".into());
                self.push(None, Res::Net(instance_network()))
            }
        }
    }

    fn remember_port(&mut self, port: u16, listening: bool) {
        let list = if listening {
            &mut self.listen_ports
        } else {
            &mut self.ports
        };
        if list.len() < 16 {
            list.push(port);
        } else {
            let k = (self.r.next() % 16) as usize;
            list[k] = port;
        }
    }

    // --- random arguments ---

    fn port(&mut self) -> u16 {
        let pick = |r: &mut Rng, l: &[u16]| {
            l.get(r.below(l.len() as u64) as usize)
                .copied()
                .unwrap_or(0)
        };
        match self.r.below(6) {
            0 => 0,
            1 => self.r.next() as u16,
            2 | 3 => pick(&mut self.r, &self.listen_ports),
            _ => pick(&mut self.r, &self.ports),
        }
    }

    /// An address, mostly of `fam`: loopback, unspecified, IPv4-mapped or
    /// multicast, with a random or known port.
    fn addr(&mut self, fam: IpAddressFamily) -> IpSocketAddress {
        let fam = if self.r.below(6) == 0 {
            other(fam)
        } else {
            fam
        };
        let ip: IpAddr = match (is_v6(fam), self.r.below(6)) {
            (false, 0..=2) => Ipv4Addr::LOCALHOST.into(),
            (false, 3) => Ipv4Addr::UNSPECIFIED.into(),
            (false, 4) => Ipv4Addr::new(224, 0, 0, 1).into(),
            (false, _) => Ipv4Addr::BROADCAST.into(),
            (true, 0..=2) => Ipv6Addr::LOCALHOST.into(),
            (true, 3) => Ipv6Addr::UNSPECIFIED.into(),
            (true, 4) => Ipv4Addr::LOCALHOST.to_ipv6_mapped().into(),
            (true, _) => Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).into(),
        };
        let port = self.port();
        let (flow, scope) = match self.r.below(8) {
            0 => (self.r.next() as u32 & 0xf_ffff, 0),
            1 => (0, self.r.below(3) as u32),
            _ => (0, 0),
        };
        wasi_addr(SocketAddr::new(ip, port), flow, scope)
    }

    /// The loopback address of `fam` with a port of this program's
    /// listeners (or sockets), for productive connects.
    fn own_addr(&mut self, fam: IpAddressFamily, listening: bool) -> IpSocketAddress {
        let list = if listening {
            &self.listen_ports
        } else {
            &self.ports
        };
        let port = list
            .get(self.r.below(list.len() as u64) as usize)
            .copied()
            .unwrap_or(1);
        wasi_addr(SocketAddr::new(loopback(fam), port), 0, 0)
    }

    fn len(&mut self) -> u64 {
        match self.r.below(6) {
            0 => 0,
            1 => 1 + self.r.below(16),
            2 | 3 => self.r.below(70_000),
            4 => u64::MAX,
            _ => self.r.next(),
        }
    }

    fn duration(&mut self) -> u64 {
        match self.r.below(4) {
            0 => 0,
            1 => self.r.next(),
            _ => self.r.below(100_000_000_000),
        }
    }

    fn buffer_size(&mut self) -> u64 {
        match self.r.below(5) {
            0 => 0,
            1 => self.r.next(),
            2 => u64::MAX,
            _ => 1 + self.r.below(1 << 22),
        }
    }

    fn small(&mut self) -> u8 {
        if self.r.below(4) == 0 {
            0
        } else {
            self.r.next() as u8
        }
    }

    /// Wait at most `ns` (at most [`SHORT`]) for `i`'s resource to be
    /// ready.
    fn wait_on(&mut self, i: usize, ns: u64) {
        let Some(p) = self.held[i].res.subscribe() else {
            return;
        };
        let clock = subscribe_duration(ns.min(SHORT));
        let ready = poll(&[&p, &clock]);
        if ready.is_empty() || ready.iter().any(|&k| k > 1) {
            self.fail(format!("poll of 2 returned {ready:?}"));
        }
    }

    // --- the steps ---

    fn step(&mut self) {
        if self.held.len() >= MAX_SLOTS {
            return if self.r.bool() {
                self.drop_any()
            } else {
                self.drop_tree()
            };
        }
        match self.r.below(66) {
            0..=2 => self.create_tcp(),
            3..=4 => self.create_udp(),
            5 => {
                if self.count(|r| matches!(r, Res::Net(_))) < 3 {
                    self.log("instance-network".into());
                    self.push(None, Res::Net(instance_network()));
                }
            }
            6..=7 => self.resolve(),
            8..=9 => self.pick_next_address(false),
            10 => self.tcp_random(|f, i| {
                let fam = f.tcp(i).fam;
                let a = f.addr(fam);
                f.tcp_start_bind(i, a);
            }),
            11 => self.tcp_random(|f, i| f.tcp_finish(i, Op::Bind)),
            12 => self.tcp_random(|f, i| {
                let fam = f.tcp(i).fam;
                let a = if f.r.bool() {
                    f.addr(fam)
                } else {
                    f.own_addr(fam, true)
                };
                f.tcp_start_connect(i, a);
            }),
            13 => self.tcp_random(|f, i| f.tcp_finish(i, Op::Connect)),
            14 => self.tcp_random(|f, i| f.tcp_start_listen(i)),
            15 => self.tcp_random(|f, i| f.tcp_finish(i, Op::Listen)),
            16 => self.tcp_random(|f, i| f.tcp_accept(i)),
            17 => self.tcp_random(|f, i| f.tcp_query(i)),
            18..=19 => self.tcp_random(|f, i| f.tcp_option(i)),
            20 => self.tcp_random(|f, i| f.tcp_shutdown(i)),
            21 => self.make_listener(),
            22..=23 => self.make_connection(),
            24 => self.accept_waiting(),
            25 => self.udp_random(|f, i| {
                let fam = f.udp(i).fam;
                let a = f.addr(fam);
                f.udp_start_bind(i, a);
            }),
            26 => self.udp_random(|f, i| f.udp_finish_bind(i)),
            27 => self.udp_random(|f, i| {
                let fam = f.udp(i).fam;
                let remote = match f.r.below(3) {
                    0 => None,
                    1 => Some(f.addr(fam)),
                    _ => Some(f.own_addr(fam, false)),
                };
                f.udp_stream(i, remote);
            }),
            28 => self.udp_random(|f, i| f.udp_query(i)),
            29 => self.udp_random(|f, i| f.udp_option(i)),
            30 => self.make_udp(),
            31..=32 => self.receive(),
            33..=34 => self.pick_check_send(),
            35..=36 => self.send(),
            37..=38 => self.read(false),
            39 => self.read(true),
            40..=41 => self.pick_check_write(),
            42..=44 => self.write(false),
            45 => self.write(true),
            46 => self.flush(),
            47 => self.splice(),
            48 => self.subscribe_held(),
            49 => {
                if self.count(|r| matches!(r, Res::Poll(_))) < 8 {
                    let d = self.r.below(SHORT);
                    self.log(format!("subscribe-duration {d}"));
                    self.push(None, Res::Poll(subscribe_duration(d)));
                }
            }
            50..=52 => self.poll_some(),
            53 => self.ready_one(),
            54..=56 => self.drop_any(),
            57..=58 => self.drop_tree(),
            // Productive: a permit, then writes within it.
            59..=61 => {
                self.pick_check_write();
                self.write(false);
                if self.r.bool() {
                    self.write(false);
                }
            }
            _ => {
                self.pick_check_send();
                self.send();
            }
        }
    }

    fn check_families(&self) {
        for s in &self.held {
            let (got, want) = match &s.res {
                Res::Tcp(t) => (t.s.address_family(), t.fam),
                Res::Udp(u) => (u.s.address_family(), u.fam),
                _ => continue,
            };
            if got != want {
                self.fail(format!("socket #{} changed its address family", s.id));
            }
        }
    }

    fn tcp_random<R>(&mut self, f: impl FnOnce(&mut Fuzz, usize) -> R) {
        if let Some(i) = self.pick(|r| matches!(r, Res::Tcp(_))) {
            f(self, i);
        }
    }

    fn udp_random<R>(&mut self, f: impl FnOnce(&mut Fuzz, usize) -> R) {
        if let Some(i) = self.pick(|r| matches!(r, Res::Udp(_))) {
            f(self, i);
        }
    }

    fn sockets(&self) -> usize {
        self.count(Res::is_socket)
    }

    fn create_tcp(&mut self) {
        if self.sockets() >= MAX_SOCKETS {
            return self.drop_tree();
        }
        let fam = self.r.family();
        let r = create_tcp_socket(fam);
        self.tally_code(format!("create-tcp-socket {fam:?}"), &r);
        match r {
            Ok(s) => {
                self.push(None, Res::Tcp(Box::new(Tcp::new(s, fam))));
            }
            Err(e) => self.note_code("create-tcp-socket", CREATE_ERRS, e, false),
        }
    }

    fn create_udp(&mut self) {
        if self.sockets() >= MAX_SOCKETS {
            return self.drop_tree();
        }
        let fam = self.r.family();
        let r = create_udp_socket(fam);
        self.tally_code(format!("create-udp-socket {fam:?}"), &r);
        match r {
            Ok(s) => {
                self.push(
                    None,
                    Res::Udp(Udp {
                        s,
                        fam,
                        touched: false,
                        bound: false,
                        binding: false,
                        generation: 0,
                        peer: Peer::None,
                    }),
                );
            }
            Err(e) => self.note_code("create-udp-socket", CREATE_ERRS, e, false),
        }
    }

    // --- TCP ---

    fn tcp_start_bind(&mut self, i: usize, addr: IpSocketAddress) -> bool {
        let n = self.any_net();
        let r = self.tcp(i).s.start_bind(self.net(n), addr);
        let id = self.id(i);
        self.tally_code(format!("tcp#{id} start-bind {}", std_addr(addr)), &r);
        if self.tcp(i).bound && r.is_ok() {
            self.fail("start-bind succeeded on a socket already bound");
        }
        let t = self.tcp_mut(i);
        t.touched = true;
        match r {
            Ok(()) => {
                t.bound = true;
                t.pending = Some(Op::Bind);
                true
            }
            Err(e) => {
                self.note_code("tcp start-bind", BIND_ERRS, e, true);
                false
            }
        }
    }

    fn tcp_start_connect(&mut self, i: usize, addr: IpSocketAddress) -> bool {
        let n = self.any_net();
        let r = self.tcp(i).s.start_connect(self.net(n), addr);
        let id = self.id(i);
        self.tally_code(format!("tcp#{id} start-connect {}", std_addr(addr)), &r);
        let t = self.tcp_mut(i);
        t.touched = true;
        t.connect_tried = true;
        match r {
            Ok(()) => {
                t.bound = true;
                t.pending = Some(Op::Connect);
                true
            }
            Err(e) => {
                self.note_code("tcp start-connect", CONNECT_ERRS, e, true);
                false
            }
        }
    }

    fn tcp_start_listen(&mut self, i: usize) -> bool {
        let r = self.tcp(i).s.start_listen();
        let id = self.id(i);
        self.tally_code(format!("tcp#{id} start-listen"), &r);
        let t = self.tcp(i);
        if r.is_ok() && !t.touched {
            self.fail("start-listen succeeded on a socket never bound");
        }
        if r.is_ok() && t.listening {
            self.fail("start-listen succeeded on a socket already listening");
        }
        let t = self.tcp_mut(i);
        t.touched = true;
        match r {
            Ok(()) => {
                t.pending = Some(Op::Listen);
                t.listen_started = true;
                true
            }
            Err(e) => {
                self.note_code("tcp start-listen", LISTEN_ERRS, e, true);
                false
            }
        }
    }

    /// `finish-bind`, `finish-listen` or `finish-connect`.
    fn tcp_finish(&mut self, i: usize, op: Op) -> bool {
        let r = {
            let s = &self.tcp(i).s;
            match op {
                Op::Bind => s.finish_bind().map(|()| None),
                Op::Listen => s.finish_listen().map(|()| None),
                Op::Connect => s.finish_connect().map(Some),
            }
        };
        let id = self.id(i);
        self.tally_code(format!("tcp#{id} finish-{op:?}"), &r);
        let t = self.tcp(i);
        let in_progress = t.pending == Some(op);
        let maybe_closed = t.maybe_closed();
        match &r {
            Ok(_) if !in_progress => self.fail(format!(
                "finish-{op:?} succeeded though no {op:?} was started"
            )),
            Err(E::NotInProgress) if in_progress && !maybe_closed => self.fail(format!(
                "finish-{op:?} said not-in-progress though start-{op:?} succeeded"
            )),
            Err(e) if !in_progress && !maybe_closed && *e != E::NotInProgress => {
                self.note(format!(
                    "finish-{op:?} with no {op:?} started returned {} rather than not-in-progress",
                    e.name()
                ))
            }
            _ => {}
        }
        let what = match op {
            Op::Bind => "tcp finish-bind",
            Op::Listen => "tcp finish-listen",
            Op::Connect => "tcp finish-connect",
        };
        match r {
            Ok(streams) => {
                self.tcp_mut(i).pending = None;
                match op {
                    Op::Bind => {}
                    Op::Listen => {
                        self.tcp_mut(i).listening = true;
                        if !self.tcp(i).s.is_listening() {
                            self.fail("is-listening is false after finish-listen succeeded");
                        }
                        if let Ok(a) = self.tcp(i).s.local_address() {
                            let a = std_addr(a);
                            self.tcp_mut(i).local = Some(a);
                            self.remember_port(a.port(), true);
                        }
                    }
                    Op::Connect => {
                        let t = self.tcp_mut(i);
                        t.connected = true;
                        t.local = t.s.local_address().ok().map(std_addr);
                        t.peer = t.s.remote_address().ok().map(std_addr);
                        let (local, peer) = (t.local, t.peer);
                        self.log(format!("  connected from {local:?} to {peer:?}"));
                        let (input, output) = streams.expect("finish-connect gives streams");
                        self.push_streams(i, input, output);
                    }
                }
                true
            }
            Err(E::WouldBlock) => false,
            Err(e) => {
                if in_progress {
                    let t = self.tcp_mut(i);
                    t.pending = None;
                    if op == Op::Bind {
                        t.bound = false;
                    }
                }
                let typical = match op {
                    Op::Bind => BIND_ERRS,
                    Op::Listen => LISTEN_ERRS,
                    Op::Connect => CONNECT_ERRS,
                };
                self.note_code(what, typical, e, true);
                false
            }
        }
    }

    fn push_streams(&mut self, i: usize, input: InputStream, output: OutputStream) {
        let id = self.id(i);
        self.push(
            Some(id),
            Res::In(In {
                s: input,
                offset: 0,
                closed: false,
            }),
        );
        self.push(
            Some(id),
            Res::Out(Out {
                s: output,
                permit: None,
                written: 0,
                closed: false,
            }),
        );
    }

    fn tcp_accept(&mut self, i: usize) -> bool {
        if self.sockets() >= MAX_SOCKETS + 4 {
            return false;
        }
        let r = self.tcp(i).s.accept();
        let id = self.id(i);
        self.tally_code(format!("tcp#{id} accept"), &r);
        let (listening, fam) = (self.tcp(i).listening, self.tcp(i).fam);
        match r {
            Ok((s, input, output)) => {
                if !listening {
                    self.fail("accept succeeded on a socket not listening");
                }
                if s.address_family() != fam {
                    self.fail("an accepted socket is not of its listener's family");
                }
                let local = match s.local_address() {
                    Ok(a) => std_addr(a),
                    Err(e) => self.fail(format!(
                        "an accepted socket has no local address: {}",
                        e.name()
                    )),
                };
                let peer = s.remote_address().ok().map(std_addr);
                let mut t = Tcp::new(s, fam);
                t.touched = true;
                t.bound = true;
                t.connected = true;
                t.local = Some(local);
                t.peer = peer;
                // Both ends held here: what one writes, the other reads.
                if let Some(peer) = peer {
                    let other = self.held.iter_mut().find_map(|slot| match &mut slot.res {
                        Res::Tcp(c)
                            if c.rx.is_none()
                                && c.local.is_some_and(|a| same(a, peer))
                                && c.peer.is_some_and(|a| same(a, local)) =>
                        {
                            Some(c)
                        }
                        _ => None,
                    });
                    if let Some(c) = other {
                        c.rx = Some(t.tx.clone());
                        t.rx = Some(c.tx.clone());
                        self.log(format!("  paired with the socket at {peer}"));
                    }
                }
                let k = self.push(None, Res::Tcp(Box::new(t)));
                let new = self.id(k);
                self.log(format!("  accepted tcp#{new} from {peer:?}"));
                self.push_streams(k, input, output);
                true
            }
            Err(e) => {
                if !listening && e != E::InvalidState {
                    self.note(format!(
                        "accept on a socket not listening returned {}",
                        e.name()
                    ));
                }
                self.note_code("tcp accept", ACCEPT_ERRS, e, true);
                false
            }
        }
    }

    fn tcp_query(&mut self, i: usize) {
        let id = self.id(i);
        match self.r.below(4) {
            0 => {
                let r = self.tcp(i).s.local_address();
                self.tally_code(format!("tcp#{id} local-address"), &r);
                match r {
                    Ok(a) => {
                        if !self.tcp(i).touched {
                            self.fail("local-address succeeded on a socket never bound");
                        }
                        self.remember_port(std_addr(a).port(), false);
                    }
                    Err(e) => self.note_code("tcp local-address", STATE_ERRS, e, true),
                }
            }
            1 => {
                let r = self.tcp(i).s.remote_address();
                self.tally_code(format!("tcp#{id} remote-address"), &r);
                match r {
                    Ok(_) if self.tcp(i).never_connected() => {
                        self.fail("remote-address succeeded on a socket never connected")
                    }
                    Ok(_) => {}
                    Err(e) => self.note_code("tcp remote-address", STATE_ERRS, e, true),
                }
            }
            2 => {
                let l = self.tcp(i).s.is_listening();
                self.log(format!("tcp#{id} is-listening -> {l}"));
                let t = self.tcp(i);
                if t.listening && !l {
                    self.fail("is-listening is false after finish-listen succeeded");
                }
                if !t.listen_started && l {
                    self.fail("is-listening is true though start-listen never succeeded");
                }
            }
            _ => {
                let f = self.tcp(i).s.address_family();
                self.log(format!("tcp#{id} address-family -> {f:?}"));
            }
        }
    }

    fn tcp_option(&mut self, i: usize) {
        let id = self.id(i);
        let which = self.r.below(17);
        // A setter given 0 must fail.
        let (name, zero, r): (&str, bool, Result<String, ErrorCode>) = {
            let v_dur = self.duration();
            let v_count = if self.r.below(4) == 0 {
                0
            } else {
                self.r.next() as u32
            };
            let v_small = self.small();
            let v_buf = self.buffer_size();
            let v_bool = self.r.bool();
            let v_backlog = match self.r.below(4) {
                0 => 0,
                1 => self.r.next(),
                _ => 1 + self.r.below(1024),
            };
            let s = &self.tcp(i).s;
            let show = |r: Result<(), ErrorCode>| r.map(|()| String::new());
            match which {
                0 => (
                    "keep-alive-enabled",
                    false,
                    s.keep_alive_enabled().map(|v| v.to_string()),
                ),
                1 => {
                    let r = s.set_keep_alive_enabled(v_bool);
                    if r.is_ok()
                        && let Ok(got) = s.keep_alive_enabled()
                        && got != v_bool
                    {
                        self.fail(format!(
                            "keep-alive-enabled is {got} right after it was set to {v_bool}"
                        ));
                    }
                    ("set-keep-alive-enabled", false, show(r))
                }
                2 => (
                    "keep-alive-idle-time",
                    false,
                    s.keep_alive_idle_time().map(|v| v.to_string()),
                ),
                3 => (
                    "set-keep-alive-idle-time",
                    v_dur == 0,
                    show(s.set_keep_alive_idle_time(v_dur)),
                ),
                4 => (
                    "keep-alive-interval",
                    false,
                    s.keep_alive_interval().map(|v| v.to_string()),
                ),
                5 => (
                    "set-keep-alive-interval",
                    v_dur == 0,
                    show(s.set_keep_alive_interval(v_dur)),
                ),
                6 => (
                    "keep-alive-count",
                    false,
                    s.keep_alive_count().map(|v| v.to_string()),
                ),
                7 => (
                    "set-keep-alive-count",
                    v_count == 0,
                    show(s.set_keep_alive_count(v_count)),
                ),
                8 => ("hop-limit", false, s.hop_limit().map(|v| v.to_string())),
                9 => (
                    "set-hop-limit",
                    v_small == 0,
                    show(s.set_hop_limit(v_small)),
                ),
                10 => (
                    "receive-buffer-size",
                    false,
                    s.receive_buffer_size().map(|v| v.to_string()),
                ),
                11 => (
                    "set-receive-buffer-size",
                    v_buf == 0,
                    show(s.set_receive_buffer_size(v_buf)),
                ),
                12 => (
                    "send-buffer-size",
                    false,
                    s.send_buffer_size().map(|v| v.to_string()),
                ),
                13 => (
                    "set-send-buffer-size",
                    v_buf == 0,
                    show(s.set_send_buffer_size(v_buf)),
                ),
                14 | 15 => (
                    "set-listen-backlog-size",
                    v_backlog == 0,
                    show(s.set_listen_backlog_size(v_backlog)),
                ),
                _ => ("is-listening", false, Ok(s.is_listening().to_string())),
            }
        };
        self.tally_code(format!("tcp#{id} {name}"), &r);
        match r {
            Ok(_) if zero => self.fail(format!("{name}(0) succeeded")),
            Ok(_) => {}
            Err(e) => {
                if zero && e != E::InvalidArgument && !self.tcp(i).maybe_closed() {
                    self.note(format!(
                        "tcp {name}(0) returned {} rather than invalid-argument",
                        e.name()
                    ));
                }
                let typical = match name {
                    "set-listen-backlog-size" => BACKLOG_ERRS,
                    n if n.starts_with("set-") => SET_ERRS,
                    _ => NO_ERRS,
                };
                self.note_code(&format!("tcp {name}"), typical, e, true);
            }
        }
    }

    fn tcp_shutdown(&mut self, i: usize) {
        let how = [
            ShutdownType::Receive,
            ShutdownType::Send,
            ShutdownType::Both,
        ][self.r.below(3) as usize];
        let r = self.tcp(i).s.shutdown(how);
        let id = self.id(i);
        self.tally_code(format!("tcp#{id} shutdown {how:?}"), &r);
        match r {
            Ok(()) => {
                if self.tcp(i).never_connected() {
                    self.fail("shutdown succeeded on a socket never connected");
                }
                let t = self.tcp_mut(i);
                t.rx_shut |= !matches!(how, ShutdownType::Send);
                t.tx_shut |= !matches!(how, ShutdownType::Receive);
            }
            Err(e) => self.note_code("tcp shutdown", STATE_ERRS, e, true),
        }
    }

    /// Bind and listen a fresh socket, start to finish (each call checked
    /// as on its own).
    fn make_listener(&mut self) {
        let Some(i) = self.pick(|r| matches!(r, Res::Tcp(t) if !t.touched)) else {
            return self.create_tcp();
        };
        let fam = self.tcp(i).fam;
        let port = if self.r.below(4) == 0 { self.port() } else { 0 };
        let a = wasi_addr(SocketAddr::new(loopback(fam), port), 0, 0);
        if self.r.below(4) == 0 {
            let backlog = 1 + self.r.below(8);
            let r = self.tcp(i).s.set_listen_backlog_size(backlog);
            let id = self.id(i);
            self.tally_code(format!("tcp#{id} set-listen-backlog-size {backlog}"), &r);
        }
        self.maybe_small_buffers(i);
        let _ = self.tcp_start_bind(i, a)
            && self.tcp_finish(i, Op::Bind)
            && self.tcp_start_listen(i)
            && self.tcp_finish(i, Op::Listen);
    }

    /// Connect a fresh socket to one of this program's listeners, and
    /// often accept the connection too.
    fn make_connection(&mut self) {
        let Some(i) = self.pick(|r| matches!(r, Res::Tcp(t) if !t.touched)) else {
            return self.create_tcp();
        };
        let fam = self.tcp(i).fam;
        let listener = self
            .pick(|r| matches!(r, Res::Tcp(t) if t.listening && t.fam == fam && t.local.is_some()));
        let a = match listener.and_then(|l| self.tcp(l).local) {
            Some(a) => wasi_addr(a, 0, 0),
            None => self.own_addr(fam, true),
        };
        self.maybe_small_buffers(i);
        if !self.tcp_start_connect(i, a) {
            return;
        }
        for _ in 0..2 {
            self.wait_on(i, SHORT);
            if self.tcp_finish(i, Op::Connect) || self.tcp(i).pending.is_none() {
                break;
            }
        }
        if let Some(l) = listener
            && self.r.below(4) != 0
        {
            self.wait_on(l, SHORT);
            self.tcp_accept(l);
        }
    }

    /// Sometimes give a socket small buffers (accepted sockets inherit
    /// their listener's), so that its streams fill up and writes find the
    /// socket full.
    fn maybe_small_buffers(&mut self, i: usize) {
        if self.r.below(3) != 0 {
            return;
        }
        let id = self.id(i);
        let (snd, rcv) = (1 + self.r.below(16_384), 1 + self.r.below(16_384));
        let r = self.tcp(i).s.set_send_buffer_size(snd);
        self.tally_code(format!("tcp#{id} set-send-buffer-size {snd}"), &r);
        let r = self.tcp(i).s.set_receive_buffer_size(rcv);
        self.tally_code(format!("tcp#{id} set-receive-buffer-size {rcv}"), &r);
    }

    fn accept_waiting(&mut self) {
        let Some(i) = self.pick(|r| matches!(r, Res::Tcp(t) if t.listening)) else {
            return self.make_listener();
        };
        let ns = self.r.below(SHORT + 1);
        self.wait_on(i, ns);
        self.tcp_accept(i);
    }

    // --- TCP streams ---

    fn read(&mut self, skip: bool) {
        let Some(i) = self.pick(|r| matches!(r, Res::In(_))) else {
            return;
        };
        let len = self.len();
        let p = self.parent_idx(i);
        let (rx_shut, rx) = (self.tcp(p).rx_shut, self.tcp(p).rx.clone());
        let (was_closed, offset) = (self.inp(i).closed, self.inp(i).offset);
        let s = &self.inp(i).s;
        let r = if skip {
            s.skip(len).map(|n| (n, None))
        } else {
            s.read(len).map(|v| (v.len() as u64, Some(v)))
        };
        let id = self.id(i);
        let op = if skip { "skip" } else { "read" };
        self.tally_stream(format!("input#{id} {op} {len}"), &r);
        match r {
            Ok((n, bytes)) => {
                if was_closed {
                    self.fail(format!("{op} succeeded on a closed input stream"));
                }
                if rx_shut {
                    self.fail(format!("{op} succeeded after shutdown(receive)"));
                }
                if n > len {
                    self.fail(format!("{op}({len}) returned {n} bytes"));
                }
                if let (Some(bytes), Some(rx)) = (bytes, rx) {
                    let want = rx.borrow().expected(offset, bytes.len());
                    if let Some(k) = (0..want.len()).find(|&k| bytes[k] != want[k]) {
                        let at = offset + k as u64;
                        self.fail(format!(
                            "TCP stream byte {at} read as {:#04x}, written as {:#04x} ({} bytes read at offset {offset}); {} (read from there: {:02x?})",
                            bytes[k],
                            want[k],
                            bytes.len(),
                            whence(&bytes[k..], at),
                            &bytes[k..bytes.len().min(k + 16)]
                        ));
                    }
                    self.verified += want.len() as u64;
                }
                self.inp_mut(i).offset += n;
            }
            Err(e) => {
                let closed = self.stream_error(e);
                if was_closed && !closed {
                    self.fail(format!("{op} on a closed input stream failed otherwise"));
                }
                self.inp_mut(i).closed = true;
            }
        }
    }

    /// `check-write`; right after the stream's pollable was ready it must
    /// permit a byte or fail.
    fn check_write(&mut self, i: usize, after_ready: bool) {
        let p = self.parent_idx(i);
        let tx_shut = self.tcp(p).tx_shut;
        let was_closed = self.out(i).closed;
        let r = self.out(i).s.check_write();
        let id = self.id(i);
        self.tally_stream(format!("output#{id} check-write"), &r);
        match r {
            Ok(n) => {
                if was_closed {
                    self.fail("check-write succeeded on a closed output stream");
                }
                if tx_shut {
                    self.fail("check-write succeeded after shutdown(send)");
                }
                if after_ready && n == 0 {
                    self.fail(
                        "check-write permits 0 bytes right after the stream's pollable was ready",
                    );
                }
                self.out_mut(i).permit = Some(n);
            }
            Err(e) => self.output_failed(i, e, was_closed, "check-write"),
        }
    }

    fn output_failed(&mut self, i: usize, e: StreamError, was_closed: bool, op: &str) {
        let closed = self.stream_error(e);
        if was_closed && !closed {
            self.fail(format!("{op} on a closed output stream failed otherwise"));
        }
        let o = self.out_mut(i);
        o.closed = true;
        o.permit = None;
    }

    fn pick_check_write(&mut self) {
        if let Some(i) = self.pick(|r| matches!(r, Res::Out(_))) {
            self.check_write(i, false);
        }
    }

    /// `write` (or `write-zeroes`) within what `check-write` permitted.
    fn write(&mut self, zeroes: bool) {
        let Some(i) = self.pick(|r| matches!(r, Res::Out(o) if o.permit.is_some())) else {
            return;
        };
        let permit = self.out(i).permit.unwrap_or(0);
        let n = match self.r.below(4) {
            0 => self.r.below(permit.min(64) + 1),
            1 => self.r.below(permit.min(4096) + 1),
            2 => self.r.below(permit.min(70_000) + 1),
            _ => permit.min(70_000),
        };
        let p = self.parent_idx(i);
        let (tx_shut, tx) = (self.tcp(p).tx_shut, self.tcp(p).tx.clone());
        let (was_closed, written) = (self.out(i).closed, self.out(i).written);
        let r = if zeroes {
            self.out(i).s.write_zeroes(n)
        } else {
            self.out(i).s.write(&pattern(written, n as usize))
        };
        let id = self.id(i);
        let op = if zeroes { "write-zeroes" } else { "write" };
        self.tally_stream(format!("output#{id} {op} {n} (of {permit})"), &r);
        match r {
            Ok(()) => {
                if was_closed {
                    self.fail(format!("{op} succeeded on a closed output stream"));
                }
                if tx_shut {
                    self.fail(format!("{op} succeeded after shutdown(send)"));
                }
                if zeroes && n > 0 {
                    tx.borrow_mut().zeros.push((written, written + n));
                }
                let o = self.out_mut(i);
                o.written += n;
                o.permit = Some(permit - n);
            }
            Err(e) => self.output_failed(i, e, was_closed, op),
        }
    }

    fn flush(&mut self) {
        let Some(i) = self.pick(|r| matches!(r, Res::Out(_))) else {
            return;
        };
        let was_closed = self.out(i).closed;
        let r = self.out(i).s.flush();
        let id = self.id(i);
        self.tally_stream(format!("output#{id} flush"), &r);
        match r {
            Ok(()) => {
                if was_closed {
                    self.fail("flush succeeded on a closed output stream");
                }
                // No writes until check-write says so again.
                self.out_mut(i).permit = None;
            }
            Err(e) => self.output_failed(i, e, was_closed, "flush"),
        }
    }

    fn splice(&mut self) {
        let Some(o) = self.pick(|r| matches!(r, Res::Out(_))) else {
            return;
        };
        let Some(i) = self.pick(|r| matches!(r, Res::In(_))) else {
            return;
        };
        let len = self.len();
        let (src_closed, written) = (self.inp(i).closed, self.out(o).written);
        let r = self.out(o).s.splice(&self.inp(i).s, len);
        let (oid, iid) = (self.id(o), self.id(i));
        self.tally_stream(format!("output#{oid} splice input#{iid} {len}"), &r);
        self.out_mut(o).permit = None;
        match r {
            Ok(n) => {
                if n > len {
                    self.fail(format!("splice({len}) moved {n} bytes"));
                }
                if n > 0 && src_closed {
                    self.fail("splice read from a closed input stream");
                }
                if n > 0 {
                    let p = self.parent_idx(o);
                    let tx = self.tcp(p).tx.clone();
                    let mut log = tx.borrow_mut();
                    log.tainted_from.get_or_insert(written);
                }
                self.inp_mut(i).offset += n;
                self.out_mut(o).written += n;
            }
            // Which end failed is not said.
            Err(e) => {
                self.stream_error(e);
            }
        }
    }

    // --- UDP ---

    fn udp_start_bind(&mut self, i: usize, addr: IpSocketAddress) -> bool {
        let n = self.any_net();
        let r = self.udp(i).s.start_bind(self.net(n), addr);
        let id = self.id(i);
        self.tally_code(format!("udp#{id} start-bind {}", std_addr(addr)), &r);
        if self.udp(i).bound && r.is_ok() {
            self.fail("udp start-bind succeeded on a socket already bound");
        }
        let u = self.udp_mut(i);
        u.touched = true;
        match r {
            Ok(()) => {
                u.bound = true;
                u.binding = true;
                true
            }
            Err(e) => {
                self.note_code("udp start-bind", BIND_ERRS, e, false);
                false
            }
        }
    }

    fn udp_finish_bind(&mut self, i: usize) -> bool {
        let r = self.udp(i).s.finish_bind();
        let id = self.id(i);
        self.tally_code(format!("udp#{id} finish-bind"), &r);
        let binding = self.udp(i).binding;
        match r {
            Ok(()) => {
                if !binding {
                    self.fail("udp finish-bind succeeded though no bind was started");
                }
                self.udp_mut(i).binding = false;
                if let Ok(a) = self.udp(i).s.local_address() {
                    self.remember_port(std_addr(a).port(), false);
                }
                true
            }
            Err(E::NotInProgress) if binding => {
                self.fail("udp finish-bind said not-in-progress though start-bind succeeded")
            }
            Err(e) => {
                if !binding && e != E::NotInProgress {
                    self.note(format!(
                        "udp finish-bind with no bind started returned {} rather than not-in-progress",
                        e.name()
                    ));
                }
                if binding && e != E::WouldBlock {
                    let u = self.udp_mut(i);
                    u.binding = false;
                    u.bound = false;
                }
                self.note_code("udp finish-bind", BIND_ERRS, e, false);
                false
            }
        }
    }

    fn udp_stream(&mut self, i: usize, remote: Option<IpSocketAddress>) -> bool {
        if self.held.len() + 2 > MAX_SLOTS {
            return false;
        }
        let r = self.udp(i).s.stream(remote);
        let id = self.id(i);
        self.tally_code(format!("udp#{id} stream {:?}", remote.map(std_addr)), &r);
        match r {
            Ok((inc, outg)) => {
                if !self.udp(i).bound {
                    self.fail("udp stream succeeded on a socket never bound");
                }
                let remote = remote.map(std_addr);
                let u = self.udp_mut(i);
                u.generation += 1;
                u.peer = remote.map_or(Peer::None, Peer::Some);
                let generation = u.generation;
                self.push(
                    Some(id),
                    Res::Inc(Inc {
                        s: inc,
                        generation,
                        remote,
                    }),
                );
                self.push(
                    Some(id),
                    Res::Outg(Outg {
                        s: outg,
                        generation,
                        remote,
                        permit: None,
                    }),
                );
                true
            }
            Err(e) => {
                if !self.udp(i).bound && remote.is_none() && e != E::InvalidState {
                    self.note(format!(
                        "udp stream(none) on an unbound socket returned {} rather than invalid-state",
                        e.name()
                    ));
                }
                self.udp_mut(i).peer = Peer::Unknown;
                self.note_code("udp stream", STREAM_ERRS, e, false);
                false
            }
        }
    }

    fn udp_query(&mut self, i: usize) {
        let id = self.id(i);
        if self.r.bool() {
            let r = self.udp(i).s.local_address();
            self.tally_code(format!("udp#{id} local-address"), &r);
            match r {
                Ok(a) => {
                    if !self.udp(i).touched {
                        self.fail("udp local-address succeeded on a socket never bound");
                    }
                    self.remember_port(std_addr(a).port(), false);
                }
                Err(e) => self.note_code("udp local-address", STATE_ERRS, e, false),
            }
        } else {
            let r = self.udp(i).s.remote_address();
            self.tally_code(format!("udp#{id} remote-address"), &r);
            match (r, self.udp(i).peer) {
                (Ok(a), Peer::None) => self.fail(format!(
                    "udp remote-address is {} though the socket streams to no one",
                    std_addr(a)
                )),
                (Ok(a), Peer::Some(b)) if !same(std_addr(a), b) => self.fail(format!(
                    "udp remote-address is {} though the socket streams to {b}",
                    std_addr(a)
                )),
                (Err(e), _) => self.note_code("udp remote-address", STATE_ERRS, e, false),
                _ => {}
            }
        }
    }

    fn udp_option(&mut self, i: usize) {
        let id = self.id(i);
        let which = self.r.below(6);
        let v_small = self.small();
        let v_buf = self.buffer_size();
        let (name, zero, r): (&str, bool, Result<String, ErrorCode>) = {
            let s = &self.udp(i).s;
            let show = |r: Result<(), ErrorCode>| r.map(|()| String::new());
            match which {
                0 => (
                    "unicast-hop-limit",
                    false,
                    s.unicast_hop_limit().map(|v| v.to_string()),
                ),
                1 => (
                    "set-unicast-hop-limit",
                    v_small == 0,
                    show(s.set_unicast_hop_limit(v_small)),
                ),
                2 => (
                    "receive-buffer-size",
                    false,
                    s.receive_buffer_size().map(|v| v.to_string()),
                ),
                3 => (
                    "set-receive-buffer-size",
                    v_buf == 0,
                    show(s.set_receive_buffer_size(v_buf)),
                ),
                4 => (
                    "send-buffer-size",
                    false,
                    s.send_buffer_size().map(|v| v.to_string()),
                ),
                _ => (
                    "set-send-buffer-size",
                    v_buf == 0,
                    show(s.set_send_buffer_size(v_buf)),
                ),
            }
        };
        self.tally_code(format!("udp#{id} {name}"), &r);
        match r {
            Ok(_) if zero => self.fail(format!("udp {name}(0) succeeded")),
            Ok(_) => {}
            Err(e) => {
                if zero && e != E::InvalidArgument {
                    self.note(format!(
                        "udp {name}(0) returned {} rather than invalid-argument",
                        e.name()
                    ));
                }
                let typical = if name.starts_with("set-") {
                    SET_ERRS
                } else {
                    NO_ERRS
                };
                self.note_code(&format!("udp {name}"), typical, e, false);
            }
        }
    }

    /// Bind a fresh UDP socket to loopback and make its streams.
    fn make_udp(&mut self) {
        let Some(i) = self.pick(|r| matches!(r, Res::Udp(u) if !u.touched)) else {
            return self.create_udp();
        };
        let fam = self.udp(i).fam;
        let a = wasi_addr(SocketAddr::new(loopback(fam), 0), 0, 0);
        if self.udp_start_bind(i, a) && self.udp_finish_bind(i) {
            let remote = if self.r.bool() {
                None
            } else {
                Some(self.own_addr(fam, false))
            };
            self.udp_stream(i, remote);
        }
    }

    fn live_inc(&self, i: usize) -> bool {
        self.inc(i).generation == self.udp(self.parent_idx(i)).generation
    }

    fn live_outg(&self, i: usize) -> bool {
        self.outg(i).generation == self.udp(self.parent_idx(i)).generation
    }

    fn receive(&mut self) {
        let Some(i) = self.pick(|r| matches!(r, Res::Inc(_))) else {
            return;
        };
        let max = match self.r.below(5) {
            0 => 0,
            1 | 2 => 1 + self.r.below(4),
            3 => self.r.below(100),
            _ => self.r.next(),
        };
        let live = self.live_inc(i);
        let remote = self.inc(i).remote;
        let r = self.inc(i).s.receive(max);
        let id = self.id(i);
        self.tally_code(format!("incoming#{id} receive {max} (live {live})"), &r);
        match r {
            Ok(v) => {
                if v.len() as u64 > max {
                    self.fail(format!("receive({max}) returned {} datagrams", v.len()));
                }
                if live && let Some(remote) = remote {
                    for d in &v {
                        let from = std_addr(d.remote_address);
                        if !same(from, remote) {
                            self.fail(format!(
                                "a stream to {remote} received a datagram from {from}"
                            ));
                        }
                    }
                }
            }
            Err(E::WouldBlock) => self.fail("receive returned would-block"),
            Err(e) => {
                if live && max == 0 {
                    self.fail(format!("receive(0) failed: {}", e.name()));
                }
                if live {
                    self.note_code("udp receive", RECEIVE_ERRS, e, false);
                }
            }
        }
    }

    /// `check-send`; right after the stream's pollable was ready it must
    /// permit a datagram or fail.
    fn check_send(&mut self, i: usize, after_ready: bool) {
        let live = self.live_outg(i);
        let r = self.outg(i).s.check_send();
        let id = self.id(i);
        self.tally_code(format!("outgoing#{id} check-send (live {live})"), &r);
        match r {
            Ok(n) => {
                if after_ready && n == 0 {
                    self.fail("check-send permits 0 datagrams right after the stream's pollable was ready");
                }
                self.outg_mut(i).permit = Some(n);
            }
            Err(E::WouldBlock) => self.fail("check-send returned would-block"),
            Err(e) => {
                self.outg_mut(i).permit = None;
                if live {
                    self.note_code("udp check-send", NO_ERRS, e, false);
                }
            }
        }
    }

    fn pick_check_send(&mut self) {
        if let Some(i) = self.pick(|r| matches!(r, Res::Outg(_))) {
            self.check_send(i, false);
        }
    }

    /// `send`, within what `check-send` permitted.
    fn send(&mut self) {
        let Some(i) = self.pick(|r| matches!(r, Res::Outg(o) if o.permit.is_some())) else {
            return;
        };
        let permit = self.outg(i).permit.unwrap_or(0);
        let k = if self.r.below(8) == 0 {
            permit.min(16)
        } else {
            self.r.below(permit.min(4) + 1)
        };
        let p = self.parent_idx(i);
        let fam = self.udp(p).fam;
        let remote = self.outg(i).remote;
        let mut datagrams = Vec::new();
        for _ in 0..k {
            let size = match self.r.below(8) {
                0 => 0,
                1..=3 => self.r.below(64),
                4..=6 => self.r.below(1500),
                _ => 65_000 + self.r.below(1_000),
            };
            let to = match (remote, self.r.below(10)) {
                (Some(_), 0..=5) | (None, 0) => None,
                (Some(a), 6..=8) => Some(wasi_addr(a, 0, 0)),
                (_, 1..=5) => Some(self.own_addr(fam, false)),
                _ => Some(self.addr(fam)),
            };
            datagrams.push(OutgoingDatagram {
                data: vec![0xd5; size as usize],
                remote_address: to,
            });
        }
        let live = self.live_outg(i);
        let r = self.outg(i).s.send(&datagrams);
        let id = self.id(i);
        self.tally_code(
            format!("outgoing#{id} send {k} (of {permit}, live {live})"),
            &r,
        );
        self.outg_mut(i).permit = None;
        match r {
            Ok(n) => {
                if n > k {
                    self.fail(format!("send of {k} datagrams says it sent {n}"));
                }
                if live && k == 0 && n != 0 {
                    self.fail("send of no datagrams did not return ok(0)");
                }
            }
            Err(E::WouldBlock) => self.fail("send returned would-block"),
            Err(e) => {
                if live && k == 0 {
                    self.fail(format!("send of no datagrams failed: {}", e.name()));
                }
                if live {
                    self.note_code("udp send", SEND_ERRS, e, false);
                }
            }
        }
    }

    // --- name lookups ---

    fn resolve(&mut self) {
        let name = lookup_name(&mut self.r);
        let n = self.any_net();
        let r = resolve_addresses(self.net(n), &name);
        self.tally_code(format!("resolve-addresses {name:?}"), &r);
        match r {
            Ok(s) => {
                let literal = name.parse::<IpAddr>().ok().filter(|ip| !is_v4_mapped(*ip));
                let l = Lookup {
                    s,
                    literal,
                    seen: 0,
                    done: false,
                };
                if self.count(|r| matches!(r, Res::Lookup(_))) < 4 {
                    self.push(None, Res::Lookup(l));
                } else {
                    // Dropped at once, maybe while still under way.
                    drop(l);
                }
            }
            Err(e) => self.note_code("resolve-addresses", RESOLVE_ERRS, e, false),
        }
    }

    fn next_address(&mut self, i: usize, after_ready: bool) {
        let r = self.lookup(i).s.resolve_next_address();
        let id = self.id(i);
        self.tally_code(format!("lookup#{id} resolve-next-address"), &r);
        match r {
            Ok(Some(ip)) => {
                let ip = std_ip(ip);
                if is_v4_mapped(ip) {
                    self.fail(format!("a lookup returned the IPv4-mapped address {ip}"));
                }
                let l = self.lookup(i);
                if let Some(lit) = l.literal
                    && l.seen == 0
                    && ip != lit
                {
                    self.fail(format!("a lookup of the literal {lit} returned {ip}"));
                }
                if l.done {
                    self.note("resolve-next-address returned an address after none".into());
                }
                self.lookup_mut(i).seen += 1;
            }
            Ok(None) => self.lookup_mut(i).done = true,
            Err(E::WouldBlock) if after_ready => self.note(
                "resolve-next-address returned would-block after its pollable was ready".into(),
            ),
            Err(e) => self.note_code("resolve-next-address", NEXT_ERRS, e, false),
        }
    }

    fn pick_next_address(&mut self, after_ready: bool) {
        if let Some(i) = self.pick(|r| matches!(r, Res::Lookup(_))) {
            self.next_address(i, after_ready);
        }
    }

    // --- pollables ---

    fn subscribe_held(&mut self) {
        if self.count(|r| matches!(r, Res::Poll(_))) >= 8 {
            return;
        }
        let Some(i) = self.pick(|r| r.subscribe_able()) else {
            return;
        };
        let p = self.held[i].res.subscribe().expect("subscribable");
        let id = self.id(i);
        self.log(format!("{}#{id} subscribe", self.held[i].res.kind()));
        self.push(Some(id), Res::Poll(p));
    }

    /// What to check about the parent of a pollable found ready.
    fn after_ready(&mut self, parent: Option<u32>) {
        let Some(id) = parent else { return };
        let i = self.idx(id);
        match &self.held[i].res {
            Res::Out(_) => self.check_write(i, true),
            Res::Outg(_) => self.check_send(i, true),
            Res::Lookup(_) => self.next_address(i, true),
            _ => {}
        }
    }

    /// `poll` on some held pollables, some made for the call, and a clock.
    fn poll_some(&mut self) {
        let held: Vec<usize> = (0..self.held.len())
            .filter(|&i| matches!(self.held[i].res, Res::Poll(_)))
            .collect();
        let mut chosen: Vec<usize> = Vec::new();
        for _ in 0..self.r.below(5) {
            if !held.is_empty() {
                chosen.push(held[self.r.below(held.len() as u64) as usize]);
            }
        }
        let mut temps: Vec<(Pollable, u32)> = Vec::new();
        for _ in 0..self.r.below(3) {
            if let Some(i) = self.pick(|r| r.subscribe_able()) {
                let p = self.held[i].res.subscribe().expect("subscribable");
                temps.push((p, self.held[i].id));
            }
        }
        let clock = subscribe_duration(self.r.below(SHORT + 1));
        // Each entry's pollable and the resource it watches.
        let mut parents: Vec<Option<u32>> = Vec::new();
        let ready = {
            let mut list: Vec<&Pollable> = Vec::new();
            for &i in &chosen {
                let Res::Poll(p) = &self.held[i].res else {
                    unreachable!()
                };
                list.push(p);
                parents.push(self.held[i].parent);
            }
            for (p, id) in &temps {
                list.push(p);
                parents.push(Some(*id));
            }
            let at = self.r.below(list.len() as u64 + 1) as usize;
            list.insert(at, &clock);
            parents.insert(at, None);
            poll(&list)
        };
        self.log(format!("poll {} -> {ready:?}", parents.len()));
        if ready.is_empty() {
            self.fail("poll returned no ready pollable");
        }
        if let Some(k) = ready.iter().find(|&&k| k as usize >= parents.len()) {
            self.fail(format!("poll of {} returned index {k}", parents.len()));
        }
        let mut seen = BTreeSet::new();
        for k in ready {
            let parent = parents[k as usize];
            if seen.insert(parent) {
                self.after_ready(parent);
            }
        }
        drop(clock);
        drop(temps);
    }

    fn ready_one(&mut self) {
        let Some(i) = self.pick(|r| matches!(r, Res::Poll(_))) else {
            return;
        };
        let Res::Poll(p) = &self.held[i].res else {
            unreachable!()
        };
        let ready = p.ready();
        let (id, parent) = (self.held[i].id, self.held[i].parent);
        self.log(format!("pollable#{id} ready -> {ready}"));
        if ready {
            self.after_ready(parent);
        }
    }

    // --- drops ---

    /// Drop a random resource that has no children.
    fn drop_any(&mut self) {
        let c: Vec<usize> = (0..self.held.len())
            .filter(|&i| !self.has_children(self.held[i].id))
            .collect();
        if c.is_empty() {
            return;
        }
        let i = c[self.r.below(c.len() as u64) as usize];
        self.drop_at(i);
    }

    fn drop_at(&mut self, i: usize) {
        let slot = self.held.remove(i);
        self.log(format!("drop {}#{}", slot.res.kind(), slot.id));
        drop(slot);
    }

    /// Drop a random socket with everything it owns, in a random order
    /// that drops children first.
    fn drop_tree(&mut self) {
        let Some(root) = self.pick(Res::is_socket) else {
            return;
        };
        let root = self.held[root].id;
        loop {
            let in_tree = |f: &Fuzz, s: &Slot| {
                let mut p = Some(s.id);
                while let Some(id) = p {
                    if id == root {
                        return true;
                    }
                    p = f.held.iter().find(|x| x.id == id).and_then(|x| x.parent);
                }
                false
            };
            let c: Vec<usize> = (0..self.held.len())
                .filter(|&i| in_tree(self, &self.held[i]) && !self.has_children(self.held[i].id))
                .collect();
            let i = c[self.r.below(c.len() as u64) as usize];
            let done = self.held[i].id == root;
            self.drop_at(i);
            if done {
                return;
            }
        }
    }

    /// Drop everything, children first.
    fn teardown(&mut self) {
        while let Some(slot) = self.held.pop() {
            drop(slot);
        }
    }
}

impl Res {
    fn subscribe_able(&self) -> bool {
        !matches!(self, Res::Net(_) | Res::Poll(_))
    }
}

// --- misuse ---

const MISUSES: [&str; 18] = [
    "write-over-permit",
    "write-unchecked",
    "write-permit-reused",
    "send-over-permit",
    "send-unchecked",
    "send-permit-reused",
    "drop-tcp-socket-with-input-stream",
    "drop-tcp-socket-with-pollable",
    "drop-udp-socket-with-streams",
    "drop-input-stream-with-pollable",
    "drop-lookup-with-pollable",
    "use-dropped-tcp-socket",
    "use-dropped-input-stream",
    "use-dropped-network",
    "udp-socket-as-tcp-socket",
    "input-stream-as-output-stream",
    "tcp-socket-as-network",
    "never-issued-handle",
];

/// A connection of two sockets of this program, children before parents
/// (the order fields are dropped in).
struct Pair {
    cin: InputStream,
    cout: OutputStream,
    client: TcpSocket,
    sin: InputStream,
    sout: OutputStream,
    server: TcpSocket,
    listener: TcpSocket,
}

fn setup_failed(kind: &str, what: impl Debug) -> ! {
    println!("misuse {kind}: setup failed: {what:?}");
    std::process::exit(3);
}

fn survived(kind: &str, what: impl Debug) -> ! {
    println!("misuse {kind}: survived ({what:?})");
    std::process::exit(1);
}

/// Retry `f` while it would block, waiting on `sock`'s pollable (at most
/// about 5 s in all).
fn finishing<T>(
    sub: impl Fn() -> Pollable,
    mut f: impl FnMut() -> Result<T, ErrorCode>,
) -> Result<T, ErrorCode> {
    for _ in 0..250 {
        match f() {
            Err(E::WouldBlock) => {
                let p = sub();
                let clock = subscribe_duration(20_000_000);
                poll(&[&p, &clock]);
            }
            r => return r,
        }
    }
    Err(E::Timeout)
}

fn pair(kind: &str, net: &Network, fam: IpAddressFamily) -> Pair {
    let setup = |what: &str, r: Result<(), ErrorCode>| {
        if let Err(e) = r {
            setup_failed(kind, format!("{what}: {}", e.name()));
        }
    };
    let lo = |port| wasi_addr(SocketAddr::new(loopback(fam), port), 0, 0);
    let listener = create_tcp_socket(fam).unwrap_or_else(|e| setup_failed(kind, e));
    setup("bind", listener.start_bind(net, lo(0)));
    setup(
        "finish-bind",
        finishing(|| listener.subscribe(), || listener.finish_bind()),
    );
    setup("listen", listener.start_listen());
    setup(
        "finish-listen",
        finishing(|| listener.subscribe(), || listener.finish_listen()),
    );
    let port = match listener.local_address() {
        Ok(a) => std_addr(a).port(),
        Err(e) => setup_failed(kind, e),
    };
    let client = create_tcp_socket(fam).unwrap_or_else(|e| setup_failed(kind, e));
    setup("connect", client.start_connect(net, lo(port)));
    let (cin, cout) = finishing(|| client.subscribe(), || client.finish_connect())
        .unwrap_or_else(|e| setup_failed(kind, e));
    let (server, sin, sout) = finishing(|| listener.subscribe(), || listener.accept())
        .unwrap_or_else(|e| setup_failed(kind, e));
    Pair {
        cin,
        cout,
        client,
        sin,
        sout,
        server,
        listener,
    }
}

/// A UDP socket bound to loopback, its address and its streams (not
/// connected).
fn udp_pair(
    kind: &str,
    net: &Network,
    fam: IpAddressFamily,
) -> (
    IncomingDatagramStream,
    OutgoingDatagramStream,
    UdpSocket,
    IpSocketAddress,
) {
    let u = create_udp_socket(fam).unwrap_or_else(|e| setup_failed(kind, e));
    let a = wasi_addr(SocketAddr::new(loopback(fam), 0), 0, 0);
    if let Err(e) = u.start_bind(net, a).and_then(|()| u.finish_bind()) {
        setup_failed(kind, e);
    }
    let local = u.local_address().unwrap_or_else(|e| setup_failed(kind, e));
    let (inc, outg) = u.stream(None).unwrap_or_else(|e| setup_failed(kind, e));
    (inc, outg, u, local)
}

fn datagrams(n: u64, to: IpSocketAddress) -> Vec<OutgoingDatagram> {
    (0..n)
        .map(|_| OutgoingDatagram {
            data: b"misuse".to_vec(),
            remote_address: Some(to),
        })
        .collect()
}

/// Make the misuse `kind` on `fam`: the call after the `about to trap`
/// line must trap.
fn misuse(kind: &str, fam: IpAddressFamily) -> ! {
    // Stdout's stream exists before any handle is dropped below, so that
    // no new handle takes a dropped one's place.
    println!("misuse {kind}: setting up ({fam:?})");
    let about = |what: &str| println!("misuse {kind}: about to trap ({what})");
    let net = instance_network();
    match kind {
        "write-over-permit" => {
            let p = pair(kind, &net, fam);
            let n = p
                .cout
                .check_write()
                .unwrap_or_else(|e| setup_failed(kind, e));
            about(&format!(
                "writing {} bytes after check-write permitted {n}",
                n + 1
            ));
            let r = p.cout.write(&vec![0x55; n as usize + 1]);
            survived(kind, (r, p.client.is_listening()))
        }
        "write-unchecked" => {
            let p = pair(kind, &net, fam);
            about("writing a byte without check-write");
            let r = p.cout.write(b"x");
            survived(kind, (r, p.client.is_listening()))
        }
        "write-permit-reused" => {
            let p = pair(kind, &net, fam);
            let n = p
                .cout
                .check_write()
                .unwrap_or_else(|e| setup_failed(kind, e));
            if let Err(e) = p.cout.write(&vec![0x55; n as usize]) {
                setup_failed(kind, e);
            }
            about(&format!("writing a byte after writing all {n} permitted"));
            let r = p.cout.write(b"x");
            survived(kind, (r, p.client.is_listening()))
        }
        "send-over-permit" => {
            let (_inc, outg, _u, me) = udp_pair(kind, &net, fam);
            let n = outg.check_send().unwrap_or_else(|e| setup_failed(kind, e));
            about(&format!(
                "sending {} datagrams after check-send permitted {n}",
                n + 1
            ));
            let r = outg.send(&datagrams(n + 1, me));
            survived(kind, r)
        }
        "send-unchecked" => {
            let (_inc, outg, _u, me) = udp_pair(kind, &net, fam);
            about("sending a datagram without check-send");
            let r = outg.send(&datagrams(1, me));
            survived(kind, r)
        }
        "send-permit-reused" => {
            let (_inc, outg, _u, me) = udp_pair(kind, &net, fam);
            let n = outg.check_send().unwrap_or_else(|e| setup_failed(kind, e));
            if n == 0 {
                setup_failed(kind, "check-send permitted nothing");
            }
            if let Err(e) = outg.send(&datagrams(1, me)) {
                setup_failed(kind, e);
            }
            about("sending again on the permit a send used");
            let r = outg.send(&datagrams(1, me));
            survived(kind, r)
        }
        "drop-tcp-socket-with-input-stream" => {
            let Pair {
                cin,
                cout,
                client,
                sin,
                sout,
                server,
                listener,
            } = pair(kind, &net, fam);
            drop(cout);
            about("dropping a tcp-socket while its input-stream lives");
            drop(client);
            survived(kind, (cin, sin, sout, server, listener))
        }
        "drop-tcp-socket-with-pollable" => {
            let s = create_tcp_socket(fam).unwrap_or_else(|e| setup_failed(kind, e));
            let p = s.subscribe();
            about("dropping a tcp-socket while its pollable lives");
            drop(s);
            survived(kind, p)
        }
        "drop-udp-socket-with-streams" => {
            let (inc, outg, u, _) = udp_pair(kind, &net, fam);
            about("dropping a udp-socket while its datagram streams live");
            drop(u);
            survived(kind, (inc, outg))
        }
        "drop-input-stream-with-pollable" => {
            let Pair {
                cin,
                cout,
                client,
                sin,
                sout,
                server,
                listener,
            } = pair(kind, &net, fam);
            let sub = cin.subscribe();
            about("dropping an input-stream while its pollable lives");
            drop(cin);
            survived(kind, (sub, cout, client, sin, sout, server, listener))
        }
        "drop-lookup-with-pollable" => {
            let stream = ["127.0.0.1", "x.test", "::1", "localhost"]
                .iter()
                .find_map(|name| resolve_addresses(&net, name).ok())
                .unwrap_or_else(|| setup_failed(kind, "no name resolved"));
            let p = stream.subscribe();
            about("dropping a resolve-address-stream while its pollable lives");
            drop(stream);
            survived(kind, p)
        }
        "use-dropped-tcp-socket" => {
            let s = create_tcp_socket(fam).unwrap_or_else(|e| setup_failed(kind, e));
            let handle = s.handle();
            about("using a tcp-socket handle after dropping it");
            drop(s);
            // SAFETY (of the guest's own memory): none is involved; the
            // handle is stale on purpose (nothing was created since the
            // drop, so no new resource has taken its number), which the
            // component model must catch.
            let stale = unsafe { TcpSocket::from_handle(handle) };
            let r = stale.local_address();
            survived(kind, r.map(std_addr))
        }
        "use-dropped-input-stream" => {
            let Pair {
                cin,
                cout,
                client,
                sin,
                sout,
                server,
                listener,
            } = pair(kind, &net, fam);
            let handle = cin.handle();
            about("reading an input-stream handle after dropping it");
            drop(cin);
            // SAFETY (of the guest's own memory): none is involved; the
            // handle is stale on purpose (nothing was created since the
            // drop), which the component model must catch.
            let stale = unsafe { InputStream::from_handle(handle) };
            let r = stale.read(1);
            survived(kind, (r, cout, client, sin, sout, server, listener))
        }
        "use-dropped-network" => {
            let s = create_tcp_socket(fam).unwrap_or_else(|e| setup_failed(kind, e));
            let other_net = instance_network();
            let handle = other_net.handle();
            about("binding with a network handle after dropping it");
            drop(other_net);
            // SAFETY (of the guest's own memory): none is involved; the
            // handle is stale on purpose.
            let stale = unsafe { Network::from_handle(handle) };
            let a = wasi_addr(SocketAddr::new(loopback(fam), 0), 0, 0);
            let r = s.start_bind(&stale, a);
            survived(kind, r)
        }
        "udp-socket-as-tcp-socket" => {
            let u = create_udp_socket(fam).unwrap_or_else(|e| setup_failed(kind, e));
            about("using a udp-socket handle as a tcp-socket");
            // SAFETY (of the guest's own memory): none is involved; the
            // handle names a resource of another type on purpose.
            let forged = unsafe { TcpSocket::from_handle(u.handle()) };
            let r = forged.local_address();
            survived(kind, r.map(std_addr))
        }
        "input-stream-as-output-stream" => {
            let p = pair(kind, &net, fam);
            about("using an input-stream handle as an output-stream");
            // SAFETY (of the guest's own memory): none is involved; the
            // handle names a resource of another type on purpose.
            let forged = unsafe { OutputStream::from_handle(p.cin.handle()) };
            let r = forged.check_write();
            survived(kind, r)
        }
        "tcp-socket-as-network" => {
            let s = create_tcp_socket(fam).unwrap_or_else(|e| setup_failed(kind, e));
            about("binding with a tcp-socket handle as the network");
            // SAFETY (of the guest's own memory): none is involved; the
            // handle names a resource of another type on purpose.
            let forged = unsafe { Network::from_handle(s.handle()) };
            let a = wasi_addr(SocketAddr::new(loopback(fam), 0), 0, 0);
            let r = s.start_bind(&forged, a);
            survived(kind, r)
        }
        "never-issued-handle" => {
            about("using a tcp-socket handle never given out");
            // SAFETY (of the guest's own memory): none is involved; the
            // handle was never issued, which the component model must catch.
            let forged = unsafe { TcpSocket::from_handle(0x7fff_fff0) };
            let r = forged.local_address();
            survived(kind, r.map(std_addr))
        }
        _ => unreachable!("unknown misuse {kind}"),
    }
}

fn main() {
    let seed: u64 = wasock_guests::arg(1).parse().expect("SEED");
    let steps: u64 = wasock_guests::arg(2).parse().expect("STEPS");
    let mode = wasock_guests::opt_arg(3);
    let mut f = Fuzz::new(seed);
    for step in 0..steps {
        f.step = step;
        f.step();
        f.check_families();
    }
    match mode.as_deref() {
        None => {}
        Some("misuse") => {
            let n = MISUSES.len() as u64;
            let kind = MISUSES[(seed % n) as usize];
            let fam = if (seed / n).is_multiple_of(2) {
                IpAddressFamily::Ipv4
            } else {
                IpAddressFamily::Ipv6
            };
            // The fuzzer's resources stay alive through the misuse.
            misuse(kind, fam);
        }
        Some(other) => {
            eprintln!("unknown mode {other:?}");
            std::process::exit(2);
        }
    }
    f.teardown();
    for n in &f.notes {
        println!("note: {n}");
    }
    if std::env::var_os("FUZZ_WASI_COVERAGE").is_some() {
        for (call, (ok, err)) in &f.coverage {
            println!("coverage: {call}: {ok} ok, {err} failed");
        }
    }
    println!(
        "ok fuzzed {steps} calls ({} succeeded, {} failed with a code; {} TCP bytes checked)",
        f.oks, f.errs, f.verified
    );
}
