//! Stream sockets: the operations a socket's owner calls.

use std::net::SocketAddr;
use std::time::Duration;

use super::config::{CONNECT_TIMEOUT, DEFAULT_BACKLOG, MAX_BACKLOG};
use super::events::Timer;
use super::network::Network;
use super::socket::{Phase, Socket, TcpState};
use super::{ConnectState, ErrorCode, Readiness, Shutdown, SockId};

impl Network {
    /// `"tcp local -> peer"` for transcript lines.
    pub(crate) fn tcp_desc(&self, s: SockId) -> String {
        let Some(sock) = self.sockets.get(&s) else {
            return format!("tcp #{}", s.0);
        };
        let local = sock
            .local
            .map_or_else(|| "?".to_string(), |l| l.to_string());
        let peer = sock
            .tcp()
            .and_then(|t| t.peer)
            .map_or_else(|| "?".to_string(), |p| p.to_string());
        format!("tcp {local} -> {peer}")
    }

    /// Record `what` about stream `s` on its host.
    pub(crate) fn tcp_event(&mut self, s: SockId, what: &str) {
        let Some(host) = self.sockets.get(&s).map(|x| x.host) else {
            return;
        };
        let text = format!("{} {what}", self.tcp_desc(s));
        self.event(host, text);
    }

    pub(crate) fn tcp_listen(&mut self, s: SockId, backlog: u32) -> Result<(), ErrorCode> {
        let sock = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?;
        let t = sock.tcp().ok_or(ErrorCode::NotSupported)?;
        match t.phase {
            Phase::Listening | Phase::Closed => {}
            Phase::SynSent | Phase::Failed => return Err(ErrorCode::InvalidArgument),
            Phase::Connected => return Err(ErrorCode::AlreadyConnected),
        }
        if sock.implicit {
            return Err(ErrorCode::InvalidArgument);
        }
        if sock.local.is_none() {
            let any = SocketAddr::new(Self::unspecified(sock.family), 0);
            self.do_bind(s, any, false)?;
        }
        let backlog = match backlog {
            0 => DEFAULT_BACKLOG,
            n => usize::try_from(n).unwrap_or(MAX_BACKLOG).min(MAX_BACKLOG),
        };
        if let Some(t) = self.sockets.get_mut(&s).and_then(|x| x.tcp_mut()) {
            t.phase = Phase::Listening;
            t.backlog = backlog;
        }
        self.changed.insert(s);
        Ok(())
    }

    pub(crate) fn tcp_accept(&mut self, s: SockId) -> Result<(SockId, SocketAddr), ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        let t = sock.tcp_mut().ok_or(ErrorCode::NotSupported)?;
        if t.phase != Phase::Listening {
            return Err(ErrorCode::InvalidArgument);
        }
        while let Some(c) = self
            .sockets
            .get_mut(&s)
            .and_then(|x| x.tcp_mut())
            .and_then(|t| t.accept_q.pop_front())
        {
            let Some(ct) = self.sockets.get_mut(&c).and_then(|x| x.tcp_mut()) else {
                continue;
            };
            ct.listener = None;
            let peer = ct.peer;
            self.changed.insert(s);
            self.tcp_event(c, "accept");
            return peer.map(|p| (c, p)).ok_or(ErrorCode::ConnectionAborted);
        }
        Err(ErrorCode::WouldBlock)
    }

    pub(crate) fn tcp_connect(
        &mut self,
        s: SockId,
        addr: SocketAddr,
    ) -> Result<ConnectState, ErrorCode> {
        let sock = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?;
        let t = sock.tcp().ok_or(ErrorCode::NotSupported)?;
        match t.phase {
            Phase::Closed | Phase::Failed => {}
            Phase::Listening => return Err(ErrorCode::InvalidArgument),
            Phase::SynSent => return Err(ErrorCode::Already),
            Phase::Connected => return Err(ErrorCode::AlreadyConnected),
        }
        let host = sock.host;
        self.bind_towards(s, addr)?;
        let to_host = self.route(host, addr.ip()).unwrap_or(host);
        let now = self.now;
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        sock.error = None;
        sock.generation = sock.generation.wrapping_add(1);
        let generation = sock.generation;
        let mut t = TcpState::new(host);
        t.phase = Phase::SynSent;
        t.peer = Some(addr);
        t.peer_host = to_host;
        t.connect_start = now;
        t.last_rx = now;
        if let Some(old) = sock.tcp_mut() {
            t.ka_gen = old.ka_gen.wrapping_add(1);
            *old = t;
        }
        self.tcp_event(s, "connect");
        self.send_syn(s, 1);
        self.schedule(
            s,
            now.saturating_add(CONNECT_TIMEOUT),
            Timer::ConnectTimeout {
                sock: s,
                gen_: generation,
            },
        );
        self.changed.insert(s);
        Ok(ConnectState::InProgress)
    }

    /// The checks `send` and `recv` on stream `s` share, in order: a
    /// stream socket, connected (`WouldBlock` while connecting), then a
    /// pending error (taken and returned), then not a failed connect.
    /// Returns the socket.
    fn tcp_io_check(&mut self, s: SockId) -> Result<&mut Socket, ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        let t = sock.tcp().ok_or(ErrorCode::NotSupported)?;
        match t.phase {
            Phase::Closed | Phase::Listening => return Err(ErrorCode::NotConnected),
            Phase::SynSent => return Err(ErrorCode::WouldBlock),
            Phase::Failed | Phase::Connected => {}
        }
        let phase = t.phase;
        if let Some(e) = sock.error.take() {
            self.changed.insert(s);
            return Err(e);
        }
        if phase == Phase::Failed {
            return Err(ErrorCode::NotConnected);
        }
        Ok(sock)
    }

    pub(crate) fn tcp_send(&mut self, s: SockId, data: &[u8]) -> Result<usize, ErrorCode> {
        let sock = self.tcp_io_check(s)?;
        let sndbuf = sock.opts.sndbuf;
        let t = sock.tcp().ok_or(ErrorCode::NotSupported)?;
        let (dead, shut_wr, held) = (t.dead, t.shut_wr, t.send_held());
        if shut_wr {
            return Err(ErrorCode::ShutDown);
        }
        // Reset, and the reset already reported: as Linux's EPIPE on a
        // connection this side did not shut down.
        if dead {
            return Err(ErrorCode::ConnectionReset);
        }
        if data.is_empty() {
            return Ok(0);
        }
        let room = usize::try_from(sndbuf.saturating_sub(held)).unwrap_or(usize::MAX);
        let n = room.min(data.len());
        if n == 0 {
            return Err(ErrorCode::WouldBlock);
        }
        if let Some(t) = self.sockets.get_mut(&s).and_then(|x| x.tcp_mut()) {
            t.unsent.extend(data.iter().take(n));
        }
        self.pump(s);
        self.changed.insert(s);
        Ok(n)
    }

    pub(crate) fn tcp_recv(
        &mut self,
        s: SockId,
        out: &mut Vec<u8>,
        max: usize,
        peek: bool,
    ) -> Result<usize, ErrorCode> {
        let sock = self.tcp_io_check(s)?;
        let t = sock.tcp_mut().ok_or(ErrorCode::NotSupported)?;
        if t.dead {
            return Ok(0);
        }
        if t.shut_rd {
            return Err(ErrorCode::ShutDown);
        }
        if max == 0 {
            return Ok(0);
        }
        if t.rcvq.is_empty() {
            return if t.fin_rcvd {
                Ok(0)
            } else {
                Err(ErrorCode::WouldBlock)
            };
        }
        let n = max.min(t.rcvq.len());
        let (a, b) = t.rcvq.as_slices();
        let from_a = n.min(a.len());
        out.extend_from_slice(a.get(..from_a).unwrap_or_default());
        out.extend_from_slice(b.get(..n - from_a).unwrap_or_default());
        if !peek {
            t.rcvq.drain(..n);
            let peer = t.peer_sock;
            self.changed.insert(s);
            if let Some(p) = peer {
                self.pump(p);
            }
        }
        Ok(n)
    }

    pub(crate) fn tcp_shutdown(&mut self, s: SockId, how: Shutdown) -> Result<(), ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        let t = sock.tcp_mut().ok_or(ErrorCode::NotSupported)?;
        if t.phase != Phase::Connected || t.dead {
            return Err(ErrorCode::NotConnected);
        }
        if matches!(how, Shutdown::Receive | Shutdown::Both) {
            t.shut_rd = true;
            t.rcvq.clear();
        }
        if matches!(how, Shutdown::Send | Shutdown::Both) {
            t.shut_wr = true;
        }
        let peer = t.peer_sock;
        self.changed.insert(s);
        self.pump(s);
        if let Some(p) = peer {
            self.pump(p);
        }
        Ok(())
    }

    pub(crate) fn tcp_close(&mut self, s: SockId) {
        let Some(sock) = self.sockets.get(&s) else {
            return;
        };
        let Some(t) = sock.tcp() else {
            return;
        };
        let host = sock.host;
        match t.phase {
            Phase::Listening => {
                let pending: Vec<SockId> = t.accept_q.iter().copied().collect();
                for c in pending {
                    let target = self
                        .sockets
                        .get(&c)
                        .and_then(|x| x.tcp())
                        .and_then(|ct| ct.peer_sock.map(|p| (p, ct.peer_gen)));
                    if let Some((p, g)) = target {
                        self.tcp_event(c, "reset (listener closed)");
                        self.send_rst(host, p, g);
                    }
                    self.remove_socket(c);
                }
                self.remove_socket(s);
            }
            Phase::Connected if !t.dead => {
                let abort = !t.rcvq.is_empty() || sock.opts.linger == Some(Duration::ZERO);
                let (peer, peer_gen) = (t.peer_sock, t.peer_gen);
                if abort {
                    self.tcp_event(s, "reset");
                    if let Some(p) = peer {
                        self.send_rst(host, p, peer_gen);
                    }
                    self.remove_socket(s);
                    return;
                }
                self.tcp_event(s, "close");
                let mut fin_acked = false;
                if let Some(sock) = self.sockets.get_mut(&s) {
                    sock.orphan = true;
                    if let Some(t) = sock.tcp_mut() {
                        t.shut_wr = true;
                        fin_acked = t.fin_acked;
                    }
                }
                self.pump(s);
                if fin_acked {
                    self.orphan_fin_acked(s);
                }
            }
            _ => self.remove_socket(s),
        }
    }

    /// Readiness of a stream socket (without the `ERROR` bit).
    pub(crate) fn tcp_readiness(sock: &Socket, t: &TcpState) -> Readiness {
        let all = Readiness::READABLE | Readiness::WRITABLE | Readiness::HANG_UP;
        match t.phase {
            Phase::Closed => Readiness::WRITABLE | Readiness::HANG_UP,
            Phase::Listening if !t.accept_q.is_empty() => Readiness::READABLE,
            Phase::Listening | Phase::SynSent => Readiness::EMPTY,
            Phase::Failed => all,
            Phase::Connected if t.dead => all,
            Phase::Connected => {
                let mut r = Readiness::EMPTY;
                if !t.rcvq.is_empty() || t.fin_rcvd || t.shut_rd {
                    r |= Readiness::READABLE;
                }
                if t.shut_wr || t.send_held() < sock.opts.sndbuf {
                    r |= Readiness::WRITABLE;
                }
                if t.fin_rcvd && t.rcvq.is_empty() {
                    r |= Readiness::HANG_UP;
                }
                r
            }
        }
    }
}
