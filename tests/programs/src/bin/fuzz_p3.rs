//! `fuzz_p3 SEED STEPS`: a bounded random sequence of `wasi:sockets@0.3`
//! calls (through the `wasip3` crate), the WASI 0.3 counterpart of
//! `fuzz_wasi`. It holds a few of each: TCP and UDP sockets of both
//! families, listeners' streams, receive streams, send streams' writers and
//! the futures of `send` and `receive`. Each step makes one random call with
//! random arguments; addresses are loopback, unspecified, IPv4-mapped,
//! multicast and a documentation address, with port 0, a random one or an
//! own socket's. Every async call (connect, UDP send and receive, lookup,
//! stream reads and writes, futures) races a clock of at most 5 ms, and a
//! quarter are polled once and dropped: calls are cancelled at random points.
//!
//! What is checked (each a statement of the WIT):
//! - Setters given 0 fail with `invalid-argument`; buffer sizes, keep-alive
//!   times and counts and the backlog accept every other value.
//! - `get-local-address` before any bind, connect or listen (or UDP send)
//!   is `invalid-state`, as is UDP `receive`; so are `get-remote-address`
//!   and `disconnect` before any connect.
//! - A bound socket's `bind` fails (`invalid-state`); a successful bind has
//!   the port asked for. No connect succeeds on a listening or connected
//!   socket or after a finished attempt, nor `listen` a second time.
//! - A socket's family never changes; an accepted socket has its
//!   listener's. `get-is-listening` is true after `listen` succeeded, false
//!   before any.
//! - A second `send` or `receive` (after one made while connected), and
//!   either on a socket never connected, resolve to `err(invalid-state)`; a
//!   second receive's stream carries nothing.
//! - Calls documented to fail for an argument never succeed with it
//!   (connect to an unspecified, multicast or IPv4-mapped address, port 0
//!   or the other family; a datagram over 64 KiB; a UDP send without an
//!   address when not connected, or to another than the one connected to).
//! - A connected UDP socket receives only from its peer, and its remote
//!   address is that peer.
//! - Name lookups never return nothing or IPv4-mapped addresses, and return
//!   an IP literal as is.
//!
//! Codes outside a function's "Typical errors" are no failure (any function
//! may return any code) but are reported as `note: ...` lines before the
//! `ok fuzzed STEPS calls (...)` line. A broken promise prints `FAIL ...`
//! with the last calls made and exits 1. `FUZZ_P3_TRACE` in the guest's
//! environment prints every call as it is made.
#![cfg_attr(target_arch = "wasm32", no_main)]

#[cfg(target_arch = "wasm32")]
mod fuzz {
    use std::collections::{BTreeSet, VecDeque};
    use std::fmt::Debug;
    use std::future::{Future, IntoFuture};
    use std::net::{IpAddr, SocketAddr};
    use std::pin::{Pin, pin};
    use std::task::Poll;

    use wasip3::clocks::monotonic_clock::wait_for;
    use wasip3::sockets::ip_name_lookup::resolve_addresses;
    use wasip3::sockets::types::{ErrorCode, IpSocketAddress, TcpSocket, UdpSocket};
    use wasip3::wit_bindgen::{FutureRead, StreamReader, StreamResult, StreamWriter};
    use wasip3::wit_stream;
    use wasock_guests::p3::{code, family, from_wasi, std_ip, to_wasi};

    struct Fuzz;
    wasip3::cli::command::export!(Fuzz);

    /// How long a call may take, in nanoseconds: at most 5 ms.
    const WAITS: [u64; 4] = [0, 200_000, 1_000_000, 5_000_000];
    /// Most resources of each kind held at once.
    const CAP: usize = 8;
    /// How many calls a failure report shows.
    const TRACE: usize = 30;
    const IPS: &str = "127.0.0.1 ::1 0.0.0.0 :: ::ffff:127.0.0.1 224.0.0.1 ff02::1 198.51.100.99";
    const NAMES: &str =
        "localhost|127.0.0.1|::1|192.0.2.7|2001:db8::5||bad name!|no-such-host.invalid";
    /// Codes any call may return.
    const ALWAYS: &str = "other access-denied not-supported out-of-memory";
    /// Each call's "Typical errors", by the start of its log line (`tcp#3
    /// bind ...` is `tcp bind`); the first match counts. TCP calls may
    /// also say `invalid-state` (when `closed`).
    const TYPICAL: &str = "
tcp bind: invalid-argument address-in-use address-not-bindable
udp bind: invalid-argument invalid-state address-in-use address-not-bindable
tcp connect: invalid-argument timeout connection-refused connection-reset connection-aborted remote-unreachable address-in-use
tcp listen: address-in-use
tcp send: connection-broken connection-reset remote-unreachable
tcp receive: connection-reset remote-unreachable
tcp set-listen-backlog-size: invalid-argument not-supported
tcp set-: invalid-argument
udp set-: invalid-argument
udp connect: invalid-argument address-in-use
udp disconnect: invalid-state
udp send: invalid-argument remote-unreachable connection-refused datagram-too-large address-in-use
udp receive: invalid-state remote-unreachable connection-refused
udp local: invalid-state
udp remote: invalid-state
dns lookup: invalid-argument name-unresolvable temporary-resolver-failure permanent-resolver-failure";

    /// xorshift64*.
    #[derive(Default)]
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
        fn chance(&mut self, n: u64) -> bool {
            self.below(n) == 0
        }
    }

    /// The same host and port (flow information and scope aside).
    fn same(a: SocketAddr, b: SocketAddr) -> bool {
        a.ip() == b.ip() && a.port() == b.port()
    }

    fn mapped(ip: IpAddr) -> bool {
        matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
    }

    /// A remote address UDP `connect` and `send` must refuse.
    fn bad_udp_remote(v6: bool, a: SocketAddr) -> bool {
        a.is_ipv6() != v6 || a.ip().is_unspecified() || a.port() == 0
    }

    /// A remote address TCP `connect` must refuse.
    fn bad_tcp_remote(v6: bool, a: SocketAddr) -> bool {
        bad_udp_remote(v6, a) || a.ip().is_multicast() || mapped(a.ip())
    }

    #[derive(Clone, Copy)]
    enum Wait {
        /// Poll once, then drop (cancel) the call.
        Once,
        /// Race the call against a clock of this many nanoseconds.
        For(u64),
    }

    /// `fut`'s output if it is ready in time (as `w` says); else `fut` is
    /// dropped, which cancels the call.
    async fn run<F: Future>(w: Wait, fut: F) -> Option<F::Output> {
        let mut fut = pin!(fut);
        let ns = match w {
            Wait::Once => None,
            Wait::For(ns) => Some(ns),
        };
        let mut timer = pin!(wait_for(ns.unwrap_or(0)));
        std::future::poll_fn(|cx| {
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(v));
            }
            if ns.is_none() || timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await
    }

    struct Tcp {
        id: u64,
        s: TcpSocket,
        v6: bool,
        /// Surely bound: bind, connect or listen succeeded, or accepted.
        bound: bool,
        /// A connect was tried (the socket may be `closed`), or accepted.
        connect_tried: bool,
        /// A connect finished (either way), or accepted.
        connect_done: bool,
        connected: bool,
        listen_tried: bool,
        listening: bool,
        /// A `send` was made while connected (and so took the one there is).
        sent: bool,
        received: bool,
    }

    impl Tcp {
        fn new(id: u64, s: TcpSocket, v6: bool, accepted: bool) -> Tcp {
            let a = accepted;
            Tcp {
                id,
                s,
                v6,
                bound: a,
                connect_tried: a,
                connect_done: a,
                connected: a,
                listen_tried: false,
                listening: false,
                sent: false,
                received: false,
            }
        }
    }

    /// What a UDP socket is connected to, as far as is known.
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Peer {
        None,
        Some(SocketAddr),
        Unknown,
    }

    struct Udp {
        id: u64,
        s: UdpSocket,
        v6: bool,
        /// A bind succeeded, or a connect or send was tried.
        touched: bool,
        /// Surely bound: bind, connect or send succeeded.
        bound: bool,
        peer: Peer,
    }

    /// Each with `what` it is in the log: `tcp#3 listener`.
    struct Listener {
        what: String,
        rx: StreamReader<TcpSocket>,
        v6: bool,
        addr: Option<SocketAddr>,
        ended: bool,
    }

    struct Incoming {
        what: String,
        rx: StreamReader<u8>,
        ended: bool,
        /// The stream of a repeated `receive`: closed, carrying nothing.
        empty: bool,
    }

    struct Outgoing {
        what: String,
        tx: StreamWriter<u8>,
        ended: bool,
    }

    /// The future of a TCP `send` or `receive`.
    struct Pending {
        f: Pin<Box<FutureRead<Result<(), ErrorCode>>>>,
        what: String,
        /// It must resolve to `err(invalid-state)`.
        expect_state: bool,
    }

    type Check = Result<(), String>;

    /// A random index into `$s.$v`, or return when it is empty; any one,
    /// or, three times in four, one of those `$want` says fit for the call.
    macro_rules! pick {
        ($s:ident . $v:ident) => {
            pick!($s.$v, |_| true)
        };
        ($s:ident . $v:ident, $want:expr) => {{
            let fits: Vec<usize> = (0..$s.$v.len()).filter(|&i| $want(&$s.$v[i])).collect();
            let j = $s.r.next() as usize;
            match (fits.is_empty() || $s.r.chance(4), $s.$v.len()) {
                (_, 0) => return Ok(()),
                (true, n) => j % n,
                (false, _) => fits[j % fits.len()],
            }
        }};
    }

    #[derive(Default)]
    struct State {
        r: Rng,
        step: u64,
        /// The last socket number given out.
        ids: u64,
        tcp: Vec<Tcp>,
        udp: Vec<Udp>,
        listeners: Vec<Listener>,
        incoming: Vec<Incoming>,
        outgoing: Vec<Outgoing>,
        futs: Vec<Pending>,
        /// Local addresses of this program's sockets seen lately.
        addrs: VecDeque<SocketAddr>,
        oks: u64,
        errs: u64,
        unfinished: u64,
        accepted: u64,
        bytes: u64,
        notes: BTreeSet<String>,
        trace: VecDeque<String>,
        /// Print every call as it is made (`FUZZ_P3_TRACE` set).
        live: bool,
    }

    fn remember(v: &mut VecDeque<SocketAddr>, a: SocketAddr) {
        if v.len() == 16 {
            v.pop_front();
        }
        v.push_back(a);
    }

    /// Make room for one more in `v`: drop a random one when it is full.
    fn room<T>(r: &mut Rng, v: &mut Vec<T>) {
        if v.len() >= CAP {
            v.swap_remove(r.below(v.len() as u64) as usize);
        }
    }

    impl State {
        fn log(&mut self, line: String) {
            if self.trace.len() == TRACE {
                self.trace.pop_front();
            }
            let line = format!("[{}] {line}", self.step);
            if self.live {
                println!("trace: {line}");
            }
            self.trace.push_back(line);
        }

        fn note(&mut self, n: String) {
            if self.notes.len() < 64 {
                self.notes.insert(n);
            }
        }

        /// Tally and log a call's outcome (`None`: not finished in time)
        /// and return it: `ok`, `unfinished` or the code's name. A code
        /// outside the call's typical errors is noted.
        fn seen<T, E: Debug>(&mut self, what: String, r: Option<&Result<T, E>>) -> String {
            let c = match r {
                None => "unfinished".to_string(),
                Some(Ok(_)) => "ok".to_string(),
                Some(Err(e)) => code(e),
            };
            let mut w = what.split(' ');
            let kind = w.next().unwrap_or("").split('#').next().unwrap_or("");
            let key = format!("{kind} {}", w.next().unwrap_or(""));
            let typical = (TYPICAL.lines().filter_map(|l| l.split_once(": ")))
                .find(|t| key.starts_with(t.0))
                .map_or("", |t| t.1);
            match c.as_str() {
                "unfinished" => self.unfinished += 1,
                "ok" => self.oks += 1,
                // TCP calls may say `invalid-state` when `closed`.
                c if kind == "tcp" && c == "invalid-state" => self.errs += 1,
                c => {
                    self.errs += 1;
                    if !typical.split(' ').chain(ALWAYS.split(' ')).any(|t| t == c) {
                        self.note(format!("{key} failed with {c}, not a typical error"));
                    }
                }
            }
            let shown = match r {
                Some(Err(e)) if c == "other" => format!("{e:?}"),
                _ => c.clone(),
            };
            self.log(format!("{what} -> {shown}"));
            c
        }

        fn wait(&mut self) -> Wait {
            if self.r.chance(4) {
                Wait::Once
            } else {
                Wait::For(WAITS[self.r.below(4) as usize])
            }
        }

        fn next_id(&mut self) -> u64 {
            self.ids += 1;
            self.ids
        }

        fn pick(&mut self, n: usize) -> Option<usize> {
            (n > 0).then(|| self.r.below(n as u64) as usize)
        }

        /// An address to bind or send to: half the time the loopback
        /// address of family `v6`; port 0, a random one or an own one.
        fn addr(&mut self, v6: bool) -> SocketAddr {
            let ips: Vec<&str> = IPS.split(' ').collect();
            let ip = ips[if self.r.chance(2) {
                v6 as usize
            } else {
                self.r.below(8) as usize
            }];
            let port = match (self.r.below(3), self.pick(self.addrs.len())) {
                (0, _) => 0,
                (1, Some(i)) => self.addrs[i].port(),
                _ => self.r.next() as u16,
            };
            SocketAddr::new(ip.parse().unwrap(), port)
        }

        /// An own listener's address (mostly of family `v6`), an own
        /// socket's, or [`Self::addr`].
        fn remote(&mut self, v6: bool) -> SocketAddr {
            let (k, any, j) = (self.r.below(4), self.r.chance(4), self.r.next() as usize);
            let fits: Vec<SocketAddr> = (self.listeners.iter().filter_map(|l| l.addr))
                .filter(|a| any || a.is_ipv6() == v6)
                .collect();
            match k {
                0 | 1 if !fits.is_empty() => fits[j % fits.len()],
                2 if !self.addrs.is_empty() => self.addrs[j % self.addrs.len()],
                _ => self.addr(v6),
            }
        }

        /// One random call.
        async fn step(&mut self) -> Check {
            match self.r.below(28) {
                0..=2 => self.create(),
                3 | 4 => self.tcp_bind(),
                5 => self.tcp_listen(),
                6 | 7 => self.tcp_connect().await,
                8 | 9 => self.accept().await,
                10 => self.tcp_stream(false).await,
                11 => self.tcp_stream(true).await,
                12 | 13 => self.read().await,
                14 | 15 => self.write().await,
                16 => match self.pick(self.futs.len()) {
                    Some(i) => self.poll_future(i).await,
                    None => Ok(()),
                },
                17 => self.tcp_options(),
                18 => self.udp_bind(),
                19 => self.udp_connect(),
                20 => self.udp_disconnect(),
                21 => self.udp_send().await,
                22 => self.udp_receive().await,
                23 => self.udp_options(),
                24 => self.resolve().await,
                _ => {
                    self.drop_one();
                    Ok(())
                }
            }
        }

        fn create(&mut self) -> Check {
            let v6 = self.r.chance(2);
            let (tcp, udp) = match self.r.chance(3) {
                false => (Some(TcpSocket::create(family(v6))), None),
                true => (None, Some(UdpSocket::create(family(v6)))),
            };
            if let Some(r) = tcp {
                self.seen(format!("tcp create v6={v6}"), Some(&r));
                room(&mut self.r, &mut self.tcp);
                let id = self.next_id();
                self.tcp.extend(r.ok().map(|s| Tcp::new(id, s, v6, false)));
            }
            if let Some(r) = udp {
                self.seen(format!("udp create v6={v6}"), Some(&r));
                room(&mut self.r, &mut self.udp);
                let (id, touched, bound, peer) = (self.next_id(), false, false, Peer::None);
                let new = |s| Udp {
                    id,
                    s,
                    v6,
                    touched,
                    bound,
                    peer,
                };
                self.udp.extend(r.ok().map(new));
            }
            Ok(())
        }

        /// Drop a random resource of a random kind.
        fn drop_one(&mut self) {
            let k = self.r.below(6) as usize;
            let lens = [
                self.tcp.len(),
                self.udp.len(),
                self.listeners.len(),
                self.incoming.len(),
                self.outgoing.len(),
                self.futs.len(),
            ];
            let Some(i) = self.pick(lens[k]) else {
                return;
            };
            let what = match k {
                0 => format!("tcp#{}", self.tcp.swap_remove(i).id),
                1 => format!("udp#{}", self.udp.swap_remove(i).id),
                2 => self.listeners.swap_remove(i).what,
                3 => self.incoming.swap_remove(i).what,
                4 => self.outgoing.swap_remove(i).what,
                _ => format!("{} future", self.futs.swap_remove(i).what),
            };
            self.log(format!("drop {what}"));
        }

        /// After `bind` to `a` said `c`: no second successful bind, none
        /// with a documented bad argument; the port asked for.
        fn after_bind(
            &mut self,
            a: SocketAddr,
            c: &str,
            was: bool,
            bad: bool,
            local: Local,
        ) -> Check {
            if c == "ok" && (was || bad) {
                return Err(format!("bind to {a} succeeded (bound before: {was})"));
            }
            if was && !matches!(c, "invalid-state" | "invalid-argument" | "access-denied") {
                self.note(format!("bind of a bound socket failed with {c}"));
            }
            if c == "ok" {
                let local = local.map(from_wasi);
                match local {
                    Ok(l) if l.port() != 0 && (a.port() == 0 || a.port() == l.port()) => {
                        remember(&mut self.addrs, l)
                    }
                    _ => return Err(format!("bound to {a}, local address {local:?}")),
                }
            }
            Ok(())
        }

        fn tcp_bind(&mut self) -> Check {
            let i = pick!(self.tcp, |t: &Tcp| !t.bound);
            let id = self.tcp[i].id;
            let a = self.addr(self.tcp[i].v6);
            let r = self.tcp[i].s.bind(to_wasi(a));
            let c = self.seen(format!("tcp#{id} bind {a}"), Some(&r));
            let t = &mut self.tcp[i];
            let bad = a.is_ipv6() != t.v6 || a.ip().is_multicast() || mapped(a.ip());
            let was = t.bound;
            t.bound |= c == "ok";
            let local = t.s.get_local_address();
            self.after_bind(a, &c, was, bad, local)
        }

        fn udp_bind(&mut self) -> Check {
            let i = pick!(self.udp, |u: &Udp| !u.bound);
            let id = self.udp[i].id;
            let a = self.addr(self.udp[i].v6);
            let r = self.udp[i].s.bind(to_wasi(a));
            let c = self.seen(format!("udp#{id} bind {a}"), Some(&r));
            let u = &mut self.udp[i];
            let bad = a.is_ipv6() != u.v6;
            let was = u.bound;
            u.bound |= c == "ok";
            u.touched |= c == "ok";
            let local = u.s.get_local_address();
            self.after_bind(a, &c, was, bad, local)
        }

        fn tcp_listen(&mut self) -> Check {
            let i = pick!(self.tcp, |t: &Tcp| t.bound && !t.listen_tried);
            let id = self.tcp[i].id;
            let r = self.tcp[i].s.listen();
            let c = self.seen(format!("tcp#{id} listen"), Some(&r));
            let t = &mut self.tcp[i];
            let (was_listening, v6) = (t.listening, t.v6);
            t.listen_tried = true;
            if was_listening && c != "invalid-state" {
                return Err(format!("a second listen: {c}"));
            }
            let Ok(rx) = r else {
                return Ok(());
            };
            if t.connected {
                return Err("listen on a connected socket succeeded".into());
            }
            t.listening = true;
            t.bound = true;
            if !t.s.get_is_listening() {
                return Err("not listening after a successful listen".into());
            }
            let addr = t.s.get_local_address().ok().map(from_wasi);
            room(&mut self.r, &mut self.listeners);
            let what = format!("tcp#{id} listener");
            self.listeners.push(Listener {
                what,
                rx,
                v6,
                addr,
                ended: false,
            });
            Ok(())
        }

        async fn tcp_connect(&mut self) -> Check {
            let i = pick!(self.tcp, |t: &Tcp| !t.connect_tried && !t.listening);
            let id = self.tcp[i].id;
            let a = self.remote(self.tcp[i].v6);
            let w = self.wait();
            let r = run(w, self.tcp[i].s.connect(to_wasi(a))).await;
            let c = self.seen(format!("tcp#{id} connect {a}"), r.as_ref());
            let t = &mut self.tcp[i];
            let before = (t.listening, t.connected, t.connect_done);
            t.connect_tried = true;
            match c.as_str() {
                "unfinished" => {}
                "ok" => {
                    t.connect_done = true;
                    t.connected = true;
                    t.bound = true;
                    if bad_tcp_remote(t.v6, a) || before != (false, false, false) {
                        return Err(format!(
                            "connect to {a} succeeded (v6={}; listening, connected, connected before: {before:?})",
                            t.v6
                        ));
                    }
                    let remote = t.s.get_remote_address().map(from_wasi);
                    if !matches!(remote, Ok(r) if same(r, a)) {
                        return Err(format!("connected to {a}, remote address {remote:?}"));
                    }
                    if let Ok(l) = t.s.get_local_address() {
                        remember(&mut self.addrs, from_wasi(l));
                    }
                }
                // Refusals of the arguments or the state are no attempt.
                c => {
                    t.connect_done |=
                        !matches!(c, "invalid-argument" | "invalid-state" | "access-denied")
                }
            }
            Ok(())
        }

        /// Read connections from a listener's stream.
        async fn accept(&mut self) -> Check {
            let i = pick!(self.listeners, |x: &Listener| !x.ended);
            if self.listeners[i].ended {
                return Ok(());
            }
            let n = 1 + self.r.below(3) as usize;
            let w = self.wait();
            let r = run(w, self.listeners[i].rx.read(Vec::with_capacity(n))).await;
            let v6 = self.listeners[i].v6;
            let Some((res, socks)) = r else {
                // As for byte streams: read no more after a cancel.
                self.listeners[i].ended = true;
                self.unfinished += 1;
                self.log(format!("{} read {n} -> unfinished", self.listeners[i].what));
                return Ok(());
            };
            self.log(format!("{} read {n} -> {res:?}", self.listeners[i].what));
            if !matches!(res, StreamResult::Complete(_)) {
                self.note(format!("a listener's stream ended: {res:?}"));
                self.listeners[i].ended = true;
            }
            for s in socks {
                self.accepted += 1;
                if s.get_address_family() != family(v6) {
                    return Err(format!("accepted a socket of the other family (v6={v6})"));
                }
                room(&mut self.r, &mut self.tcp);
                let id = self.next_id();
                self.tcp.push(Tcp::new(id, s, v6, true));
            }
            Ok(())
        }

        /// TCP `send` (with a new stream) or `receive`; the stream's other
        /// end and the future are kept.
        async fn tcp_stream(&mut self, send: bool) -> Check {
            let i = pick!(self.tcp, |t: &Tcp| t.connected);
            let id = self.tcp[i].id;
            let t = &mut self.tcp[i];
            // A call counts once made on a connected socket (calls that
            // fail for the state do not use the one `send` or `receive`).
            let flag = if send { &mut t.sent } else { &mut t.received };
            let again = *flag;
            *flag |= t.connected;
            let expect_state = again || !t.connect_tried;
            let f = if send {
                let (tx, rx) = wit_stream::new::<u8>();
                let f = t.s.send(rx);
                room(&mut self.r, &mut self.outgoing);
                let what = format!("tcp#{id} send writer");
                self.outgoing.push(Outgoing {
                    what,
                    tx,
                    ended: false,
                });
                f
            } else {
                let (rx, f) = t.s.receive();
                room(&mut self.r, &mut self.incoming);
                let (ended, empty) = (false, again);
                let what = format!("tcp#{id} receive stream");
                self.incoming.push(Incoming {
                    what,
                    rx,
                    ended,
                    empty,
                });
                f
            };
            let what = format!("tcp#{id} {}", if send { "send" } else { "receive" });
            self.log(format!("{what} (again: {again})"));
            room(&mut self.r, &mut self.futs);
            let f = Box::pin(f.into_future());
            self.futs.push(Pending {
                f,
                what,
                expect_state,
            });
            if self.r.chance(2) {
                self.poll_future(self.futs.len() - 1).await?;
            }
            Ok(())
        }

        async fn poll_future(&mut self, i: usize) -> Check {
            let w = self.wait();
            let r = run(w, self.futs[i].f.as_mut()).await;
            let c = self.seen(format!("{} future", self.futs[i].what), r.as_ref());
            if r.is_none() {
                return Ok(());
            }
            // A future read to its end must not be polled again.
            let p = self.futs.swap_remove(i);
            if p.expect_state && c != "invalid-state" {
                return Err(format!("{}'s future said {c}, not invalid-state", p.what));
            }
            Ok(())
        }

        /// Read a random number of bytes from a receive stream.
        async fn read(&mut self) -> Check {
            let i = pick!(self.incoming, |x: &Incoming| !x.ended);
            let n = [0, 1, 100, 4096, 65536][self.r.below(5) as usize];
            let w = self.wait();
            let inc = &mut self.incoming[i];
            if inc.ended {
                return Ok(());
            }
            let r = run(w, inc.rx.read(Vec::with_capacity(n))).await;
            let (res, k) = match r {
                None => ("unfinished".to_string(), 0),
                Some((StreamResult::Complete(k), _)) => (format!("{k} bytes"), k),
                Some((other, _)) => (format!("{other:?}"), 0),
            };
            // A read cancelled unfinished may have seen the end: the
            // stream's library does not say, and reading past the end
            // traps, so a cancelled stream is read no more.
            inc.ended = !res.ends_with("bytes");
            if inc.empty && k > 0 {
                return Err(format!("a second receive's stream carried {k} bytes"));
            }
            self.bytes += k as u64;
            self.log(format!("{} read {n} -> {res}", self.incoming[i].what));
            Ok(())
        }

        /// Write random bytes into a send stream.
        async fn write(&mut self) -> Check {
            let i = pick!(self.outgoing, |x: &Outgoing| !x.ended);
            let n = [0, 1, 1000, 16384, 65536][self.r.below(5) as usize];
            let data = vec![self.r.next() as u8; n];
            let w = self.wait();
            let out = &mut self.outgoing[i];
            if out.ended {
                return Ok(());
            }
            let r = run(w, out.tx.write(data)).await;
            let res = match r {
                // As for reads: a write cancelled unfinished may have seen
                // the reader go, and writing after that traps.
                None => {
                    out.ended = true;
                    "unfinished".to_string()
                }
                Some((StreamResult::Complete(k), _)) => {
                    self.bytes += k as u64;
                    format!("{k} bytes")
                }
                Some((other, _)) => {
                    out.ended = true;
                    format!("{other:?}")
                }
            };
            self.log(format!("{} write {n} -> {res}", self.outgoing[i].what));
            Ok(())
        }

        /// Every getter, and one setter with a random value.
        fn tcp_options(&mut self) -> Check {
            let i = pick!(self.tcp);
            let id = self.tcp[i].id;
            let (v, which) = (self.value(), self.r.below(8));
            let t = &self.tcp[i];
            if t.s.get_address_family() != family(t.v6) {
                return Err(format!("tcp#{id}'s family changed (v6={})", t.v6));
            }
            let listening = t.s.get_is_listening();
            if (t.listening && !listening) || (!t.listen_tried && listening) {
                return Err(format!(
                    "is-listening {listening}; listen tried: {}",
                    t.listen_tried
                ));
            }
            let (local, remote) = (t.s.get_local_address(), t.s.get_remote_address());
            let options = format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                t.s.get_keep_alive_enabled().map_err(code),
                t.s.get_keep_alive_idle_time().map_err(code),
                t.s.get_keep_alive_interval().map_err(code),
                t.s.get_keep_alive_count().map_err(code),
                t.s.get_hop_limit().map_err(code),
                t.s.get_receive_buffer_size().map_err(code),
                t.s.get_send_buffer_size().map_err(code),
            );
            let (name, set, zero) = match which {
                0 => (
                    "keep-alive-idle-time",
                    t.s.set_keep_alive_idle_time(v),
                    v == 0,
                ),
                1 => (
                    "keep-alive-interval",
                    t.s.set_keep_alive_interval(v),
                    v == 0,
                ),
                2 => (
                    "keep-alive-count",
                    t.s.set_keep_alive_count(v as u32),
                    v as u32 == 0,
                ),
                3 => ("hop-limit", t.s.set_hop_limit(v as u8), v as u8 == 0),
                4 => (
                    "receive-buffer-size",
                    t.s.set_receive_buffer_size(v),
                    v == 0,
                ),
                5 => ("send-buffer-size", t.s.set_send_buffer_size(v), v == 0),
                6 => (
                    "listen-backlog-size",
                    t.s.set_listen_backlog_size(v),
                    v == 0,
                ),
                _ => (
                    "keep-alive-enabled",
                    t.s.set_keep_alive_enabled(v & 1 == 1),
                    false,
                ),
            };
            // A socket that tried to connect may be `closed`, where any
            // call may say `invalid-state`; the backlog has its own cases.
            let (touched, tried) = (
                t.bound || t.connect_tried || t.listen_tried,
                t.connect_tried,
            );
            let closed = tried || which == 6;
            let l = self.seen(format!("tcp#{id} local"), Some(&local));
            let r = self.seen(format!("tcp#{id} remote"), Some(&remote));
            self.log(format!("tcp#{id} options {options}"));
            let c = self.seen(format!("tcp#{id} set-{name} {v}"), Some(&set));
            // 0 is refused; "all other values are accepted without error"
            // (but the hop limit's and keep-alive's switch, not promised).
            let fine = match zero {
                true => c == "invalid-argument",
                false => c == "ok" || which == 3 || which == 7,
            };
            let fine =
                fine || (closed && c == "invalid-state") || (which == 6 && c == "not-supported");
            if !fine {
                return Err(format!("tcp set-{name} {v}: {c}"));
            }
            if !touched && l != "invalid-state" {
                return Err(format!("local address of a never bound socket: {local:?}"));
            }
            if !tried && r != "invalid-state" {
                return Err(format!(
                    "remote address of a never connected socket: {remote:?}"
                ));
            }
            if let Ok(a) = local {
                remember(&mut self.addrs, from_wasi(a));
            }
            Ok(())
        }

        /// A random value for a setter: 0 a third of the time.
        fn value(&mut self) -> u64 {
            match self.r.below(6) {
                0 | 1 => 0,
                2 => u64::MAX,
                3 => 1 + self.r.below(255),
                _ => 1 + self.r.below(1 << 40),
            }
        }

        fn udp_connect(&mut self) -> Check {
            let i = pick!(self.udp);
            let id = self.udp[i].id;
            let a = self.remote(self.udp[i].v6);
            let r = self.udp[i].s.connect(to_wasi(a));
            let c = self.seen(format!("udp#{id} connect {a}"), Some(&r));
            let u = &mut self.udp[i];
            u.touched = true;
            if c != "ok" {
                u.peer = Peer::Unknown;
                return Ok(());
            }
            if bad_udp_remote(u.v6, a) {
                return Err(format!("connect to {a} succeeded (v6={})", u.v6));
            }
            u.peer = Peer::Some(a);
            u.bound = true;
            let remote = u.s.get_remote_address().map(from_wasi);
            if !matches!(remote, Ok(r) if same(r, a)) {
                return Err(format!("connected to {a}, remote address {remote:?}"));
            }
            Ok(())
        }

        fn udp_disconnect(&mut self) -> Check {
            let i = pick!(self.udp);
            let id = self.udp[i].id;
            let r = self.udp[i].s.disconnect();
            let c = self.seen(format!("udp#{id} disconnect"), Some(&r));
            let u = &mut self.udp[i];
            let was = u.peer;
            u.peer = match (c.as_str(), was) {
                ("ok", _) | (_, Peer::None) => Peer::None,
                _ => Peer::Unknown,
            };
            if was == Peer::None && c != "invalid-state" {
                return Err(format!("disconnect of a socket not connected: {c}"));
            }
            Ok(())
        }

        async fn udp_send(&mut self) -> Check {
            let i = pick!(self.udp);
            let id = self.udp[i].id;
            let len = match self.r.chance(40) {
                true => 70_000,
                false => self.r.below(2001) as usize,
            };
            let data = vec![self.r.next() as u8; len];
            let to = (!self.r.chance(4)).then(|| self.remote(self.udp[i].v6));
            let w = self.wait();
            let u = &self.udp[i];
            // Too large, no address when not connected, a bad address, or
            // another than the one connected to.
            let must_fail = len > 65535
                || match (to, u.peer) {
                    (None, peer) => peer == Peer::None,
                    (Some(a), Peer::Some(p)) => bad_udp_remote(u.v6, a) || !same(a, p),
                    (Some(a), _) => bad_udp_remote(u.v6, a),
                };
            let r = run(w, u.s.send(data, to.map(to_wasi))).await;
            let c = self.seen(format!("udp#{id} send {len} to {to:?}"), r.as_ref());
            let u = &mut self.udp[i];
            u.touched = true;
            if c == "ok" {
                if must_fail {
                    return Err(format!("send succeeded; connected to {:?}", u.peer));
                }
                u.bound = true;
            }
            Ok(())
        }

        async fn udp_receive(&mut self) -> Check {
            let i = pick!(self.udp, |u: &Udp| u.bound);
            let id = self.udp[i].id;
            let (touched, peer) = (self.udp[i].touched, self.udp[i].peer);
            let w = self.wait();
            let r = run(w, self.udp[i].s.receive()).await;
            let c = self.seen(format!("udp#{id} receive"), r.as_ref());
            if !touched && !matches!(c.as_str(), "invalid-state" | "unfinished") {
                return Err(format!("receive on a never bound socket: {c}"));
            }
            if let Some(Ok((data, from))) = r {
                self.bytes += data.len() as u64;
                let from = from_wasi(from);
                if let Peer::Some(p) = peer
                    && !same(p, from)
                {
                    return Err(format!("connected to {p}, received from {from}"));
                }
            }
            Ok(())
        }

        fn udp_options(&mut self) -> Check {
            let i = pick!(self.udp);
            let id = self.udp[i].id;
            let (v, which) = (self.value(), self.r.below(3));
            let u = &self.udp[i];
            if u.s.get_address_family() != family(u.v6) {
                return Err(format!("udp#{id}'s family changed (v6={})", u.v6));
            }
            let (local, remote) = (u.s.get_local_address(), u.s.get_remote_address());
            let (touched, peer) = (u.touched, u.peer);
            let options = format!(
                "{:?} {:?} {:?}",
                u.s.get_unicast_hop_limit().map_err(code),
                u.s.get_receive_buffer_size().map_err(code),
                u.s.get_send_buffer_size().map_err(code),
            );
            let (name, set, zero) = match which {
                0 => (
                    "unicast-hop-limit",
                    u.s.set_unicast_hop_limit(v as u8),
                    v as u8 == 0,
                ),
                1 => (
                    "receive-buffer-size",
                    u.s.set_receive_buffer_size(v),
                    v == 0,
                ),
                _ => ("send-buffer-size", u.s.set_send_buffer_size(v), v == 0),
            };
            let l = self.seen(format!("udp#{id} local"), Some(&local));
            let r = self.seen(format!("udp#{id} remote"), Some(&remote));
            self.log(format!("udp#{id} options {options}"));
            let s = self.seen(format!("udp#{id} set-{name} {v}"), Some(&set));
            if (zero && s != "invalid-argument") || (!zero && which != 0 && s != "ok") {
                return Err(format!("udp set-{name} {v}: {s}"));
            }
            if !touched && l != "invalid-state" {
                return Err(format!("local address of a never bound socket: {local:?}"));
            }
            let remote = remote.map(from_wasi);
            match peer {
                Peer::None if r != "invalid-state" => {
                    return Err(format!("remote address when not connected: {remote:?}"));
                }
                Peer::Some(p) if !matches!(remote, Ok(r) if same(r, p)) => {
                    return Err(format!("connected to {p}, remote address {remote:?}"));
                }
                _ => {}
            }
            if let Ok(a) = local {
                remember(&mut self.addrs, from_wasi(a));
            }
            Ok(())
        }

        async fn resolve(&mut self) -> Check {
            let names: Vec<&str> = NAMES.split('|').collect();
            let name = names[self.r.below(names.len() as u64) as usize];
            let w = self.wait();
            let r = run(w, resolve_addresses(name.to_string())).await;
            self.seen(format!("dns lookup {name:?}"), r.as_ref());
            let literal = name.parse::<IpAddr>().ok();
            match r {
                Some(Ok(ips)) => {
                    let ips: Vec<IpAddr> = ips.into_iter().map(std_ip).collect();
                    if ips.is_empty() || ips.iter().any(|ip| mapped(*ip)) {
                        return Err(format!("{name:?} resolved to {ips:?}"));
                    }
                    if let Some(l) = literal
                        && ips != [l]
                    {
                        return Err(format!("the literal {name:?} resolved to {ips:?}"));
                    }
                    if literal.is_none() && name != "localhost" {
                        self.note(format!("{name:?} resolved to {ips:?}"));
                    }
                }
                Some(Err(e)) if literal.is_some() => {
                    self.note(format!("the literal {name:?} failed to resolve: {e:?}"));
                }
                _ => {}
            }
            Ok(())
        }
    }

    type Local = Result<IpSocketAddress, ErrorCode>;

    impl wasip3::exports::cli::run::Guest for Fuzz {
        async fn run() -> Result<(), ()> {
            let args = wasip3::cli::environment::get_arguments();
            let seed: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
            let steps: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
            let mut s = State {
                r: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
                live: (wasip3::cli::environment::get_environment().iter())
                    .any(|(k, _)| k == "FUZZ_P3_TRACE"),
                ..State::default()
            };
            for step in 0..steps {
                s.step = step;
                if let Err(why) = s.step().await {
                    println!("FAIL seed {seed} step {step}: {why}\nlast calls:");
                    for t in &s.trace {
                        println!("  {t}");
                    }
                    return Err(());
                }
            }
            for n in &s.notes {
                println!("note: {n}");
            }
            println!(
                "ok fuzzed {steps} calls ({} succeeded, {} failed with a code, {} unfinished or cancelled; {} accepted, {} bytes moved)",
                s.oks, s.errs, s.unfinished, s.accepted, s.bytes
            );
            Ok(())
        }
    }
}

/// Built natively, there is nothing to run: this is a `wasm32-wasip2` guest.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
