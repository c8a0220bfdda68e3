//! Stream sockets: listen, accept, connect, send, receive, shutdown, close,
//! and their readiness.
//!
//! A connection is two sockets that name each other. A connect to a
//! listener completes at once: the server's socket is made then, with the
//! listener's options, and waits in the listener's backlog until accepted.
//! Sent bytes go straight into the peer's receive queue, which holds its
//! `receive-buffer-size`.

use std::collections::VecDeque;
use std::net::SocketAddr;

use wasock::provider::{ErrorCode, Readiness, RecvFlags, ShutdownHow, SocketAddress};

use crate::addr::{self, Binding};
use crate::net::{Id, Kind, MAX_BUFFERED, Net, Sock, stall};

/// The backlog `listen(0)` gets.
const DEFAULT_BACKLOG: usize = 128;

/// The largest backlog (Linux's `SOMAXCONN`).
const MAX_BACKLOG: usize = 4096;

/// A stream socket's state.
#[derive(Debug)]
pub enum Stream {
    /// Not listening or connected (maybe bound, maybe after a failed
    /// connect).
    Idle,
    /// Listening.
    Listening(Listener),
    /// Connected (or it was: the peer may be gone).
    Connected(Conn),
}

/// A listener's queue.
#[derive(Debug)]
pub struct Listener {
    /// The most connections that may wait.
    pub backlog: usize,
    /// The waiting connections (server-side sockets without a handle yet).
    pub queue: VecDeque<Id>,
}

/// One end of a connection.
#[derive(Debug)]
pub struct Conn {
    /// The other end, while it is open.
    pub peer: Option<Id>,
    /// The other end's address (canonical).
    pub remote: SocketAddr,
    /// Bytes received and not yet read.
    pub rx: VecDeque<u8>,
    /// The peer ended the stream (shutdown send, or closed).
    pub eof: bool,
    /// This end shut down receiving.
    pub shut_rd: bool,
    /// This end shut down sending.
    pub shut_wr: bool,
    /// The connection was reset (or is broken): sends fail.
    pub reset: bool,
}

impl Conn {
    /// A fresh connection to `peer` at `remote`.
    fn new(peer: Id, remote: SocketAddr) -> Conn {
        Conn {
            peer: Some(peer),
            remote,
            rx: VecDeque::new(),
            eof: false,
            shut_rd: false,
            shut_wr: false,
            reset: false,
        }
    }
}

/// The connection of a stream socket, if it has one.
fn conn(s: &Sock) -> Option<&Conn> {
    match &s.kind {
        Kind::Stream(Stream::Connected(c)) => Some(c),
        _ => None,
    }
}

/// The connection of a stream socket, to change.
fn conn_mut(s: &mut Sock) -> Option<&mut Conn> {
    match &mut s.kind {
        Kind::Stream(Stream::Connected(c)) => Some(c),
        _ => None,
    }
}

impl Net {
    /// `listen`.
    pub fn listen(&mut self, id: Id, backlog: u32) -> Result<(), ErrorCode> {
        let s = self.get(id);
        match &s.kind {
            Kind::Datagram(_) => return Err(ErrorCode::NotSupported),
            Kind::Stream(Stream::Connected(_)) => return Err(ErrorCode::AlreadyConnected),
            Kind::Stream(Stream::Listening(_)) => return Ok(()),
            Kind::Stream(Stream::Idle) if s.implicit => return Err(ErrorCode::InvalidArgument),
            Kind::Stream(Stream::Idle) => {}
        }
        match s.bound {
            None => self.auto_bind(id, false)?,
            Some(b) => {
                if !self.may_listen_on(id, &b) {
                    return Err(ErrorCode::AddressInUse);
                }
            }
        }
        let backlog = match usize::try_from(backlog).unwrap_or(MAX_BACKLOG) {
            0 => DEFAULT_BACKLOG,
            n => n.min(MAX_BACKLOG),
        };
        self.get_mut(id).kind = Kind::Stream(Stream::Listening(Listener {
            backlog,
            queue: VecDeque::new(),
        }));
        Ok(())
    }

    /// `accept`: the waiting connection's id and its peer's address.
    pub fn accept(&mut self, id: Id) -> Result<(Id, SocketAddress), ErrorCode> {
        let s = self.get_mut(id);
        let (nonblocking, timeout) = (s.nonblocking, s.opts.receive_timeout);
        let Kind::Stream(Stream::Listening(l)) = &mut s.kind else {
            return Err(match s.kind {
                Kind::Datagram(_) => ErrorCode::NotSupported,
                Kind::Stream(_) => ErrorCode::InvalidArgument,
            });
        };
        if let Some(new) = l.queue.pop_front() {
            let n = self.get(new);
            let remote = conn(n).map(|c| addr::present(n.family, c.remote));
            let remote =
                remote.unwrap_or_else(|| panic!("memnet: backlog entry {new} unconnected"));
            return Ok((new, wasock::addr::from_std(remote)));
        }
        Err(self.cannot_wait(id, nonblocking, timeout, "accept", "connect to it"))
    }

    /// `connect` of a stream socket.
    pub fn connect_stream(&mut self, id: Id, remote: SocketAddress) -> Result<(), ErrorCode> {
        let s = self.get(id);
        match &s.kind {
            Kind::Stream(Stream::Listening(_)) => return Err(ErrorCode::InvalidArgument),
            Kind::Stream(Stream::Connected(_)) => return Err(ErrorCode::AlreadyConnected),
            _ => {}
        }
        let given = addr::given(s.family, remote)?;
        let dest = given.ep;
        if given.mapped && s.opts.ipv6_only {
            return Err(ErrorCode::NetworkUnreachable);
        }
        if dest.ip().is_unspecified() || dest.port() == 0 {
            return Err(ErrorCode::AddressNotAvailable);
        }
        if !addr::is_loopback(dest.ip()) {
            return Err(ErrorCode::NetworkUnreachable);
        }
        let nonblocking = s.nonblocking;
        let refused = |net: &mut Net| {
            if nonblocking {
                net.get_mut(id).error = Some(ErrorCode::ConnectionRefused);
                Err(ErrorCode::InProgress)
            } else {
                Err(ErrorCode::ConnectionRefused)
            }
        };
        self.auto_bind(id, true)
            .map_err(|_| ErrorCode::AddressNotAvailable)?;
        let s = self.get(id);
        let Some(mut local) = s.bound else {
            return Err(ErrorCode::AddressNotAvailable);
        };
        local.ip = local.source_for(dest.ip())?;
        let source = local.endpoint();
        // A second connection between the same two ends (sockets sharing a
        // port by `reuse-address`) is refused, as Linux refuses it
        // (`EADDRNOTAVAIL`).
        let taken = self.iter().any(|(other, o)| {
            other != id
                && matches!(&o.kind, Kind::Stream(Stream::Connected(c)) if c.remote == dest)
                && o.bound.is_some_and(|b| b.endpoint() == source)
        });
        if taken {
            return Err(ErrorCode::AddressNotAvailable);
        }

        // The listener: the most specific binding that takes `dest`.
        let listener = self
            .iter()
            .filter(|(_, l)| l.listening())
            .filter_map(|(lid, l)| l.bound.map(|b| (lid, b)))
            .filter(|(_, b)| b.port == dest.port() && b.covers(dest.ip()))
            .max_by_key(|(_, b)| !b.wildcard())
            .map(|(lid, _)| lid);
        let Some(lid) = listener else {
            return refused(self);
        };
        let l = self.get(lid);
        let Kind::Stream(Stream::Listening(q)) = &l.kind else {
            return refused(self);
        };
        if q.queue.len() >= q.backlog || !self.has_room() {
            return refused(self);
        }
        let mut server = Sock::new(l.family, wasock::provider::SocketType::Stream);
        server.opts = l.opts.inherited();
        server.bound = Some(Binding {
            ip: dest.ip(),
            port: dest.port(),
            dual: false,
        });
        server.seq = l.seq;
        server.kind = Kind::Stream(Stream::Connected(Conn::new(id, source)));
        let sid = self.insert(server)?;
        if let Kind::Stream(Stream::Listening(q)) = &mut self.get_mut(lid).kind {
            q.queue.push_back(sid);
        }
        let s = self.get_mut(id);
        s.bound = Some(local);
        s.kind = Kind::Stream(Stream::Connected(Conn::new(sid, dest)));
        if nonblocking {
            Err(ErrorCode::InProgress)
        } else {
            Ok(())
        }
    }

    /// `send` on a stream socket.
    pub fn send_stream(&mut self, id: Id, data: &[u8]) -> Result<u64, ErrorCode> {
        let s = self.get_mut(id);
        let (nonblocking, timeout) = (s.nonblocking, s.opts.send_timeout);
        if conn(s).is_none() {
            return Err(ErrorCode::NotConnected);
        }
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let Some(c) = conn_mut(s) else {
            return Err(ErrorCode::NotConnected);
        };
        if c.shut_wr {
            return Err(ErrorCode::ShutDown);
        }
        if c.reset {
            return Err(ErrorCode::ConnectionReset);
        }
        if data.is_empty() {
            return Ok(0);
        }
        let Some(pid) = c.peer else {
            // The peer has closed: the bytes go nowhere and its answer
            // breaks the connection, so the next send fails (Linux: the
            // peer's RST).
            c.reset = true;
            return Ok(data.len() as u64);
        };
        let budget = MAX_BUFFERED.saturating_sub(self.buffered);
        let p = self.get_mut(pid);
        let room = p.opts.receive_buffer;
        let Some(pc) = conn_mut(p) else {
            panic!("memnet: the peer {pid} of {id} is not connected")
        };
        if pc.shut_rd {
            // Discarded, as after `shutdown(receive)`.
            return Ok(data.len() as u64);
        }
        let free = room.saturating_sub(pc.rx.len() as u64);
        if free > 0 && budget == 0 {
            return Err(ErrorCode::NoBufferSpace);
        }
        let n = (data.len() as u64).min(free).min(budget) as usize;
        pc.rx.extend(&data[..n]);
        self.buffered += n as u64;
        if n == data.len() || nonblocking {
            return if n == 0 {
                Err(ErrorCode::WouldBlock)
            } else {
                Ok(n as u64)
            };
        }
        let s = self.get(id);
        stall(timeout, || {
            format!(
                "a blocking send on {} can never complete: its peer's receive buffer is full and nothing else in this component can read it",
                s.local_text()
            )
        });
        if n == 0 {
            Err(ErrorCode::TimedOut)
        } else {
            Ok(n as u64)
        }
    }

    /// `recv` on a stream socket.
    pub fn recv_stream(
        &mut self,
        id: Id,
        max_len: u64,
        flags: RecvFlags,
    ) -> Result<Vec<u8>, ErrorCode> {
        let s = self.get_mut(id);
        let (nonblocking, timeout) = (s.nonblocking, s.opts.receive_timeout);
        let errored = s.error.is_some();
        let Some(c) = conn_mut(s) else {
            return Err(ErrorCode::NotConnected);
        };
        if c.shut_rd {
            return Err(ErrorCode::ShutDown);
        }
        if max_len == 0 {
            return Ok(Vec::new());
        }
        let peek = flags.contains(RecvFlags::PEEK);
        let wait_all = flags.contains(RecvFlags::WAIT_ALL) && !peek && !nonblocking;
        if !c.rx.is_empty() {
            let n = usize::try_from(max_len)
                .unwrap_or(usize::MAX)
                .min(c.rx.len());
            let short = (n as u64) < max_len;
            // The rest can never arrive: only a peer in this component
            // could send it, and the component is waiting here.
            let more_possible = c.peer.is_some() && !c.eof && !c.reset && !errored;
            let data: Vec<u8> = if peek {
                c.rx.iter().take(n).copied().collect()
            } else {
                c.rx.drain(..n).collect()
            };
            if !peek {
                self.release(n as u64);
            }
            if wait_all && short && more_possible {
                let s = self.get(id);
                stall(timeout, || {
                    format!(
                        "a blocking recv (wait-all) on {} can never complete: nothing else in this component can send to it",
                        s.local_text()
                    )
                });
            }
            return Ok(data);
        }
        let s = self.get_mut(id);
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        if conn(s).is_some_and(|c| c.eof || c.reset) {
            return Ok(Vec::new());
        }
        Err(self.cannot_wait(id, nonblocking, timeout, "recv", "send to it"))
    }

    /// `shutdown` of a stream socket.
    pub fn shutdown_stream(&mut self, id: Id, how: ShutdownHow) -> Result<(), ErrorCode> {
        let Some(c) = conn_mut(self.get_mut(id)) else {
            return Err(ErrorCode::NotConnected);
        };
        let mut dropped = 0;
        let mut fin_to = None;
        if matches!(how, ShutdownHow::Receive | ShutdownHow::Both) && !c.shut_rd {
            c.shut_rd = true;
            dropped = c.rx.len() as u64;
            c.rx = VecDeque::new();
        }
        if matches!(how, ShutdownHow::Send | ShutdownHow::Both) && !c.shut_wr {
            c.shut_wr = true;
            fin_to = c.peer;
        }
        self.release(dropped);
        if let Some(pid) = fin_to
            && let Some(pc) = conn_mut(self.get_mut(pid))
        {
            pc.eof = true;
        }
        Ok(())
    }

    /// After a stream socket left the table: tell its peer (end of stream,
    /// or a reset if it closed with `linger` 0 or unread data), or reset
    /// every connection waiting in its backlog.
    pub fn close_stream(&mut self, stream: Stream, abort: bool) {
        match stream {
            Stream::Idle => {}
            Stream::Listening(l) => {
                for pending in l.queue {
                    let sock = self.remove(pending);
                    if let Kind::Stream(s) = sock.kind {
                        self.close_stream(s, true);
                    }
                }
            }
            Stream::Connected(c) => {
                self.release(c.rx.len() as u64);
                let Some(pid) = c.peer else { return };
                let reset = abort || !c.rx.is_empty();
                let p = self.get_mut(pid);
                if reset {
                    p.error = Some(ErrorCode::ConnectionReset);
                }
                if let Some(pc) = conn_mut(p) {
                    pc.peer = None;
                    pc.eof = true;
                    pc.reset |= reset;
                }
            }
        }
    }

    /// `bytes-available` of a stream socket.
    pub fn bytes_available_stream(&self, id: Id) -> Result<u64, ErrorCode> {
        let s = self.get(id);
        if s.listening() {
            return Err(ErrorCode::InvalidArgument);
        }
        Ok(conn(s).map_or(0, |c| c.rx.len() as u64))
    }

    /// `remote-address` of a stream socket.
    pub fn remote_address_stream(&self, id: Id) -> Result<SocketAddress, ErrorCode> {
        let s = self.get(id);
        match conn(s) {
            Some(c) if !c.reset => Ok(wasock::addr::from_std(addr::present(s.family, c.remote))),
            _ => Err(ErrorCode::NotConnected),
        }
    }

    /// What holds now for a stream socket (before filtering by interest).
    pub fn stream_readiness(&self, id: Id) -> Readiness {
        let s = self.get(id);
        let mut r = Readiness::empty();
        if s.error.is_some() {
            r |= Readiness::ERROR | Readiness::READABLE;
        }
        match &s.kind {
            Kind::Stream(Stream::Listening(l)) => {
                if !l.queue.is_empty() {
                    r |= Readiness::READABLE;
                }
                r.remove(Readiness::WRITABLE);
            }
            Kind::Stream(Stream::Connected(c)) => {
                if !c.rx.is_empty() || c.eof || c.reset || c.shut_rd {
                    r |= Readiness::READABLE;
                }
                let room = match c.peer {
                    Some(pid) if !c.shut_wr && !c.reset => {
                        let p = self.get(pid);
                        conn(p).is_none_or(|pc| {
                            pc.shut_rd || (pc.rx.len() as u64) < p.opts.receive_buffer
                        }) && self.buffered < MAX_BUFFERED
                    }
                    // A send fails at once, or is discarded: no wait.
                    _ => true,
                };
                if room {
                    r |= Readiness::WRITABLE;
                }
                if c.reset || (c.eof && c.rx.is_empty()) || (c.shut_rd && c.shut_wr) {
                    r |= Readiness::HANG_UP;
                }
            }
            // Never connected, or a connect failed: a send fails at once
            // (not-connected), and Linux reports such a socket hung up.
            _ => r |= Readiness::WRITABLE | Readiness::HANG_UP,
        }
        r
    }
}
