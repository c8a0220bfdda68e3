//! The network: every socket of the component in one table, the binding
//! rules, closing, and what both socket types share (addresses, options,
//! pending errors, waiting).

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use wasock::provider::{AddressFamily, ErrorCode, SocketAddress, SocketType};

use crate::addr::{self, Binding, EPHEMERAL};
use crate::datagram::Dgram;
use crate::options::Options;
use crate::stream::Stream;

/// A socket's place in the table.
pub type Id = usize;

/// The most sockets the network holds at once, counting connections that
/// wait in a listener's backlog: past it, `open` fails with
/// `new-socket-limit` and connects are refused.
pub const MAX_SOCKETS: usize = 4096;

/// The most bytes all receive queues together hold (a second bound after
/// each queue's own `receive-buffer-size`): past it, sends fail with
/// `no-buffer-space`.
pub const MAX_BUFFERED: u64 = 256 << 20;

thread_local! {
    /// The component's one network (a component is single-threaded).
    static NET: RefCell<Net> = RefCell::new(Net::default());
    /// Whether memnet has said that a blocking call can never complete.
    static TOLD: Cell<bool> = const { Cell::new(false) };
}

/// Run `f` on the network.
pub fn with<R>(f: impl FnOnce(&mut Net) -> R) -> R {
    NET.with(|n| f(&mut n.borrow_mut()))
}

/// Close `id`, unless the network itself is already gone (a handle
/// dropped while the component shuts down).
pub fn close(id: Id) {
    let _ = NET.try_with(|n| {
        if let Ok(mut n) = n.try_borrow_mut() {
            n.close(id);
        }
    });
}

/// What each socket type keeps.
#[derive(Debug)]
pub enum Kind {
    /// A stream socket.
    Stream(Stream),
    /// A datagram socket.
    Datagram(Dgram),
}

/// One socket.
#[derive(Debug)]
pub struct Sock {
    /// The family given to `open`.
    pub family: AddressFamily,
    /// Non-blocking mode.
    pub nonblocking: bool,
    /// The options.
    pub opts: Options,
    /// The local address, once bound.
    pub bound: Option<Binding>,
    /// Bound by the system (connect, send-to) rather than by `bind`.
    pub implicit: bool,
    /// The pending error (`SO_ERROR`).
    pub error: Option<ErrorCode>,
    /// When it was bound, to prefer the latest of sockets sharing a port.
    pub seq: u64,
    /// The type's own state.
    pub kind: Kind,
}

impl Sock {
    /// A new socket of `ty`.
    pub fn new(family: AddressFamily, ty: SocketType) -> Sock {
        Sock {
            family,
            nonblocking: false,
            opts: Options::new(ty),
            bound: None,
            implicit: false,
            error: None,
            seq: 0,
            kind: match ty {
                SocketType::Stream => Kind::Stream(Stream::Idle),
                SocketType::Datagram => Kind::Datagram(Dgram::default()),
            },
        }
    }

    /// The socket type.
    pub fn ty(&self) -> SocketType {
        match self.kind {
            Kind::Stream(_) => SocketType::Stream,
            Kind::Datagram(_) => SocketType::Datagram,
        }
    }

    /// The local address as the application sees it.
    pub fn local(&self) -> Option<SocketAddr> {
        self.bound.map(|b| addr::present(self.family, b.endpoint()))
    }

    /// The local address for messages ("an unbound socket" when unbound).
    pub fn local_text(&self) -> String {
        self.local()
            .map_or_else(|| "an unbound socket".into(), |a| a.to_string())
    }

    /// Whether the socket is a listening stream socket.
    pub fn listening(&self) -> bool {
        matches!(self.kind, Kind::Stream(Stream::Listening(_)))
    }

    /// The wildcard binding of this socket's family with `port`.
    pub fn wildcard(&self, port: u16) -> Binding {
        let ip = match self.family {
            AddressFamily::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            AddressFamily::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        Binding {
            ip,
            port,
            dual: self.family == AddressFamily::Ipv6 && !self.opts.ipv6_only,
        }
    }
}

/// The table of sockets, and what the network as a whole keeps.
#[derive(Debug, Default)]
pub struct Net {
    /// Sockets by id; `None` is a free slot.
    slots: Vec<Option<Sock>>,
    /// Free slots, reused first.
    free: Vec<Id>,
    /// Sockets in the table.
    live: usize,
    /// Bytes in all receive queues.
    pub buffered: u64,
    /// Where the search for the next ephemeral port starts.
    next_port: u16,
    /// The bind counter.
    seq: u64,
}

impl Net {
    /// Put a socket in the table: `new-socket-limit` when it is full.
    pub fn insert(&mut self, sock: Sock) -> Result<Id, ErrorCode> {
        if self.live >= MAX_SOCKETS {
            return Err(ErrorCode::NewSocketLimit);
        }
        self.live += 1;
        if let Some(id) = self.free.pop() {
            self.slots[id] = Some(sock);
            Ok(id)
        } else {
            self.slots.push(Some(sock));
            Ok(self.slots.len() - 1)
        }
    }

    /// Whether the table has room for one more socket.
    pub fn has_room(&self) -> bool {
        self.live < MAX_SOCKETS
    }

    /// A socket. Every id the provider holds is live: a dead one is a
    /// provider bug, and traps.
    pub fn get(&self, id: Id) -> &Sock {
        match self.slots.get(id) {
            Some(Some(s)) => s,
            _ => panic!("memnet: socket {id} is not in the table"),
        }
    }

    /// A socket, to change.
    pub fn get_mut(&mut self, id: Id) -> &mut Sock {
        match self.slots.get_mut(id) {
            Some(Some(s)) => s,
            _ => panic!("memnet: socket {id} is not in the table"),
        }
    }

    /// Every live socket and its id.
    pub fn iter(&self) -> impl Iterator<Item = (Id, &Sock)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(id, s)| s.as_ref().map(|s| (id, s)))
    }

    /// Take a socket out of the table.
    pub fn remove(&mut self, id: Id) -> Sock {
        match self.slots.get_mut(id).and_then(Option::take) {
            Some(s) => {
                self.live -= 1;
                self.free.push(id);
                s
            }
            None => panic!("memnet: socket {id} is not in the table"),
        }
    }

    /// Close a socket: its handle was dropped. A stream socket's peer sees
    /// the end of the stream or a reset; a listener's waiting connections
    /// are reset.
    pub fn close(&mut self, id: Id) {
        let sock = self.remove(id);
        match sock.kind {
            Kind::Stream(stream) => self.close_stream(stream, sock.opts.linger == Some(0)),
            Kind::Datagram(d) => self.release(d.queued),
        }
    }

    /// Give back `n` buffered bytes.
    pub fn release(&mut self, n: u64) {
        self.buffered = self.buffered.saturating_sub(n);
    }

    /// Whether `want` (of a socket of type `ty`, with its `reuse`, about
    /// to listen or not) clashes with a binding of another socket, by
    /// Linux's rules: overlapping addresses on one port clash unless both
    /// sockets set `reuse-address` and, for streams, neither listens.
    fn clashes(
        &self,
        me: Id,
        ty: SocketType,
        want: &Binding,
        reuse: bool,
        listening: bool,
    ) -> bool {
        self.iter().any(|(id, s)| {
            let Some(b) = s.bound else { return false };
            if id == me || s.ty() != ty || b.port != want.port || !b.overlaps(want) {
                return false;
            }
            let shared = reuse && s.opts.reuse_address;
            let ok = match ty {
                SocketType::Datagram => shared,
                SocketType::Stream => shared && !listening && !s.listening(),
            };
            !ok
        })
    }

    /// Bind `id` to `want`; port 0 picks an ephemeral port.
    pub fn bind_to(&mut self, id: Id, mut want: Binding) -> Result<(), ErrorCode> {
        let s = self.get(id);
        let (ty, reuse) = (s.ty(), s.opts.reuse_address);
        if want.port == 0 {
            want.port = self
                .ephemeral(id, ty, &want)
                .ok_or(ErrorCode::AddressInUse)?;
        } else if self.clashes(id, ty, &want, reuse, false) {
            return Err(ErrorCode::AddressInUse);
        }
        self.seq += 1;
        let seq = self.seq;
        let s = self.get_mut(id);
        s.bound = Some(want);
        s.seq = seq;
        Ok(())
    }

    /// A free ephemeral port for `want`, taken in turn.
    fn ephemeral(&mut self, id: Id, ty: SocketType, want: &Binding) -> Option<u16> {
        let span = u32::from(EPHEMERAL.end() - EPHEMERAL.start()) + 1;
        let start = u32::from(self.next_port);
        for i in 0..span {
            let off = ((start + i) % span) as u16;
            let port = EPHEMERAL.start() + off;
            let candidate = Binding { port, ..*want };
            // A port nobody has bound at all, rather than one shared under
            // reuse-address.
            if !self.clashes(id, ty, &candidate, false, false) {
                self.next_port = off.wrapping_add(1);
                return Some(port);
            }
        }
        None
    }

    /// `bind`.
    pub fn bind(&mut self, id: Id, local: SocketAddress) -> Result<(), ErrorCode> {
        let s = self.get(id);
        let given = addr::given(s.family, local)?;
        let ip = given.ep.ip();
        let group = s.ty() == SocketType::Datagram && addr::is_multicast(ip);
        if !(ip.is_unspecified() || addr::is_loopback(ip) || group) {
            return Err(ErrorCode::AddressNotAvailable);
        }
        let connected = matches!(
            s.kind,
            Kind::Stream(Stream::Listening(_) | Stream::Connected(_))
        );
        if s.bound.is_some() || connected {
            return Err(ErrorCode::InvalidArgument);
        }
        if given.mapped && s.opts.ipv6_only {
            return Err(ErrorCode::InvalidArgument);
        }
        let want = if ip.is_unspecified() && !given.mapped {
            s.wildcard(given.ep.port())
        } else {
            Binding {
                ip,
                port: given.ep.port(),
                dual: false,
            }
        };
        self.bind_to(id, want)?;
        self.get_mut(id).implicit = false;
        Ok(())
    }

    /// Bind an unbound socket to the unspecified address and an ephemeral
    /// port, as connect, listen and send-to do. `implicit`: whether the
    /// socket counts as bound by the system (it may never listen).
    pub fn auto_bind(&mut self, id: Id, implicit: bool) -> Result<(), ErrorCode> {
        let s = self.get(id);
        if s.bound.is_some() {
            return Ok(());
        }
        let want = s.wildcard(0);
        self.bind_to(id, want)?;
        self.get_mut(id).implicit = implicit;
        Ok(())
    }

    /// Whether `id` may bind `want` while listening (listen checks again).
    pub fn may_listen_on(&self, id: Id, want: &Binding) -> bool {
        let s = self.get(id);
        !self.clashes(id, s.ty(), want, s.opts.reuse_address, true)
    }

    /// `local-address`.
    pub fn local_address(&self, id: Id) -> Result<SocketAddress, ErrorCode> {
        self.get(id)
            .local()
            .map(wasock::addr::from_std)
            .ok_or(ErrorCode::InvalidArgument)
    }

    /// `take-error`.
    pub fn take_error(&mut self, id: Id) -> Option<ErrorCode> {
        self.get_mut(id).error.take()
    }
}

/// A blocking call that cannot complete now, and so never will (nothing
/// else runs in the component while it waits): with a `timeout`, sleep for
/// it, as the call would have waited; without one, say so on stderr the
/// first time, and return at once. The caller then fails with `timed-out`
/// or returns what it has.
pub fn stall(timeout: Option<u64>, what: impl FnOnce() -> String) {
    match timeout {
        Some(ns) => std::thread::sleep(std::time::Duration::from_nanos(ns)),
        None => tell(what),
    }
}

impl Net {
    /// The end of a blocking call on `id` that found nothing to do:
    /// `would-block` if the socket is non-blocking; otherwise [`stall`]
    /// (waiting out `timeout`, or saying once that `op` can never complete
    /// since nothing in the component can `unblock` it), then `timed-out`.
    pub fn cannot_wait(
        &self,
        id: Id,
        nonblocking: bool,
        timeout: Option<u64>,
        op: &str,
        unblock: &str,
    ) -> ErrorCode {
        if nonblocking {
            return ErrorCode::WouldBlock;
        }
        let s = self.get(id);
        stall(timeout, || {
            format!(
                "a blocking {op} on {} can never complete: nothing else in this component can {unblock}",
                s.local_text()
            )
        });
        ErrorCode::TimedOut
    }
}

/// Say once on stderr that a wait can never end.
pub fn tell(what: impl FnOnce() -> String) {
    if !TOLD.with(|t| t.replace(true)) {
        eprintln!("memnet: {}", what());
    }
}
