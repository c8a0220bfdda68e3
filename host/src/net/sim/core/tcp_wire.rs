//! Stream sockets: the handshake, segments, retransmission, resets and
//! keep-alive, driven by the event queue.

use std::net::SocketAddr;
use std::sync::Arc;

use super::config::{
    DATA_TIMEOUT, FIN_WAIT_TIMEOUT, HEADER, MAX_RTO, MIN_RTO, MSS, SYN_RTO, backoff,
};
use super::events::{SegMsg, Timer};
use super::network::{Fate, Network};
use super::socket::{Options, Phase, Seg, Socket, TcpState};
use super::{ErrorCode, HostId, SockId, SocketType};

impl Network {
    /// Send (or resend) the SYN of connecting socket `s`.
    pub(crate) fn send_syn(&mut self, s: SockId, attempt: u32) {
        let Some(sock) = self.sockets.get(&s) else {
            return;
        };
        let (Some(t), Some(src)) = (sock.tcp(), sock.local) else {
            return;
        };
        let Some(dst) = t.peer else { return };
        let (host, generation) = (sock.host, sock.generation);
        if let Some(to_host) = self.route(host, dst.ip())
            && let Fate::Arrive { at, dup, .. } = self.link_send(host, to_host, HEADER)
        {
            let syn = Timer::Syn {
                from: s,
                from_gen: generation,
                from_host: host,
                to_host,
                src,
                dst,
            };
            self.push_arrival(at, dup, syn);
        }
        let rto = backoff(SYN_RTO, attempt, MAX_RTO);
        self.schedule(
            s,
            self.now.saturating_add(rto),
            Timer::SynRto {
                sock: s,
                gen_: generation,
                attempt,
            },
        );
    }

    /// Whether `s` is a stream socket of generation `g` in `phase`.
    fn is_phase(&self, s: SockId, g: u32, phase: Phase) -> bool {
        self.sockets
            .get(&s)
            .is_some_and(|x| x.generation == g && x.tcp().is_some_and(|t| t.phase == phase))
    }

    pub(crate) fn on_syn_rto(&mut self, s: SockId, g: u32, attempt: u32) {
        if self.is_phase(s, g, Phase::SynSent) {
            self.tcp_event(s, "syn retransmit");
            self.send_syn(s, attempt.saturating_add(1));
        }
    }

    pub(crate) fn on_connect_timeout(&mut self, s: SockId, g: u32) {
        if !self.is_phase(s, g, Phase::SynSent) {
            return;
        }
        self.tcp_event(s, "connect timed out");
        self.connect_failed(s, ErrorCode::TimedOut);
    }

    fn connect_failed(&mut self, s: SockId, e: ErrorCode) {
        self.cancel_timers(s);
        if let Some(sock) = self.sockets.get_mut(&s) {
            sock.error = Some(e);
            if let Some(t) = sock.tcp_mut() {
                t.phase = Phase::Failed;
            }
            self.changed.insert(s);
        }
    }

    pub(crate) fn on_syn(
        &mut self,
        from: SockId,
        from_gen: u32,
        from_host: HostId,
        to_host: HostId,
        src: SocketAddr,
        dst: SocketAddr,
    ) {
        if let Some(&c) = self.conns.get(&(to_host, dst, src)) {
            let same = self
                .sockets
                .get(&c)
                .and_then(|x| x.tcp())
                .is_some_and(|t| t.peer_sock == Some(from) && t.peer_gen == from_gen);
            if same {
                self.send_synack(c);
                return;
            }
        }
        let listening = |x: &Socket| x.tcp().is_some_and(|t| t.phase == Phase::Listening);
        let Some(l) = self.lookup(to_host, true, dst, listening) else {
            if !self.down.contains(&to_host) {
                self.event(to_host, format!("tcp {src} -> {dst} refused"));
            } else if self.verbose {
                self.event(
                    to_host,
                    format!("tcp {src} -> {dst} syn dropped (host down)"),
                );
            }
            self.send_rst(to_host, from, from_gen);
            return;
        };
        let Some(ls) = self.sockets.get(&l) else {
            return;
        };
        let Some(lt) = ls.tcp() else { return };
        if lt.accept_q.len() >= lt.backlog {
            self.event(
                to_host,
                format!("tcp {src} -> {dst} syn dropped (backlog full)"),
            );
            return;
        }
        let opts: Options = ls.opts.inherited();
        let mut sock = Socket::new(to_host, ls.family, SocketType::Stream);
        sock.local = Some(dst);
        sock.opts = opts;
        let mut t = TcpState::new(from_host);
        t.phase = Phase::Connected;
        t.listener = Some(l);
        t.peer = Some(src);
        t.peer_sock = Some(from);
        t.peer_gen = from_gen;
        t.last_rx = self.now;
        if let Some(st) = sock.tcp_mut() {
            *st = t;
        }
        let id = SockId(self.next_sock);
        self.next_sock += 1;
        self.sockets.insert(id, sock);
        self.conns.insert((to_host, dst, src), id);
        if let Some(lt) = self.sockets.get_mut(&l).and_then(|x| x.tcp_mut()) {
            lt.accept_q.push_back(id);
        }
        self.changed.insert(l);
        self.send_synack(id);
        self.arm_keepalive(id);
    }

    fn send_synack(&mut self, c: SockId) {
        let Some(sock) = self.sockets.get(&c) else {
            return;
        };
        let Some(t) = sock.tcp() else { return };
        let Some(to) = t.peer_sock else { return };
        let (host, to_host, to_gen, from_gen) =
            (sock.host, t.peer_host, t.peer_gen, sock.generation);
        if let Fate::Arrive { at, dup, .. } = self.link_send(host, to_host, HEADER) {
            let msg = Timer::SynAck {
                to,
                to_gen,
                host: to_host,
                from: c,
                from_gen,
            };
            self.push_arrival(at, dup, msg);
        }
    }

    /// Complete the handshake of `s` with the server socket `from`.
    fn establish(&mut self, s: SockId, from: SockId, from_gen: u32) {
        let now = self.now;
        self.cancel_timers(s);
        if let Some(t) = self.sockets.get_mut(&s).and_then(|x| x.tcp_mut()) {
            t.phase = Phase::Connected;
            t.peer_sock = Some(from);
            t.peer_gen = from_gen;
            t.last_rx = now;
        }
        self.changed.insert(s);
        self.tcp_event(s, "established");
        self.arm_keepalive(s);
        self.pump(s);
    }

    pub(crate) fn on_synack(
        &mut self,
        to: SockId,
        to_gen: u32,
        host: HostId,
        from: SockId,
        from_gen: u32,
    ) {
        let phase = self
            .sockets
            .get(&to)
            .filter(|x| x.generation == to_gen)
            .and_then(|x| x.tcp())
            .map(|t| (t.phase, t.peer_sock));
        match phase {
            Some((Phase::SynSent, _)) => self.establish(to, from, from_gen),
            Some((Phase::Connected, Some(p))) if p == from => {}
            _ => self.rst_reply(host, from),
        }
    }

    /// Answer a packet for a socket that is gone with a reset to `to`.
    fn rst_reply(&mut self, host: HostId, to: SockId) {
        if let Some(g) = self.sockets.get(&to).map(|x| x.generation) {
            self.send_rst(host, to, g);
        }
    }

    /// Send a reset from host `from_host` to socket `to`. Resets are not
    /// lost or duplicated, but partitions drop them.
    pub(crate) fn send_rst(&mut self, from_host: HostId, to: SockId, to_gen: u32) {
        let Some(to_host) = self.sockets.get(&to).map(|x| x.host) else {
            return;
        };
        if self.is_cut(from_host, to_host, self.now) {
            // Neither a reset nor an acknowledgement comes back (a cut, or
            // a host down): `to` must keep retransmitting, until its
            // timeout or until the way is open again. (Only the connection
            // the reset was for: not a later one on the same socket.)
            if self
                .sockets
                .get(&to)
                .is_some_and(|x| x.generation == to_gen)
            {
                self.ack_lost(to);
            }
            return;
        }
        let at = self.now.saturating_add(self.one_way(from_host, to_host));
        self.queue.push(at, Timer::Rst { to, to_gen });
    }

    pub(crate) fn on_rst(&mut self, to: SockId, to_gen: u32) {
        let Some(sock) = self.sockets.get(&to).filter(|x| x.generation == to_gen) else {
            return;
        };
        match sock.tcp().map(|t| (t.phase, t.dead)) {
            Some((Phase::SynSent, _)) => {
                self.tcp_event(to, "refused");
                self.connect_failed(to, ErrorCode::ConnectionRefused);
            }
            Some((Phase::Connected, false)) => {
                self.fail(to, ErrorCode::ConnectionReset, "reset by peer")
            }
            _ => {}
        }
    }

    /// The connection of `s` is over with error `e`.
    pub(crate) fn fail(&mut self, s: SockId, e: ErrorCode, what: &str) {
        self.tcp_event(s, what);
        self.cancel_timers(s);
        let Some(sock) = self.sockets.get_mut(&s) else {
            return;
        };
        sock.error = Some(e);
        let orphan = sock.orphan;
        if let Some(t) = sock.tcp_mut() {
            t.dead = true;
            t.clear();
            t.ka_gen = t.ka_gen.wrapping_add(1);
        }
        self.changed.insert(s);
        if orphan {
            self.remove_socket(s);
        }
    }

    /// Send what the window allows (and the FIN when due) from `s`.
    pub(crate) fn pump(&mut self, s: SockId) {
        loop {
            let Some(sock) = self.sockets.get(&s) else {
                return;
            };
            let Some(t) = sock.tcp() else { return };
            if t.phase != Phase::Connected || t.dead || t.fin_sent {
                return;
            }
            let peer = t.peer_sock.and_then(|p| self.sockets.get(&p));
            let window = match peer.and_then(|p| p.tcp().map(|pt| (p, pt))) {
                Some((p, pt)) if !pt.dead => {
                    let used = if pt.shut_rd { 0 } else { pt.rcvq.len() as u64 };
                    p.opts
                        .rcvbuf
                        .saturating_sub(used)
                        .saturating_sub(t.inflight_bytes)
                }
                // The peer is gone: one segment will draw its reset.
                _ if t.inflight.is_empty() => MSS as u64,
                _ => 0,
            };
            let now = self.now;
            let Some(t) = self.sockets.get_mut(&s).and_then(|x| x.tcp_mut()) else {
                return;
            };
            let seq = t.snd_nxt;
            if t.unsent.is_empty() {
                if !t.shut_wr {
                    return;
                }
                t.fin_sent = true;
                t.snd_nxt += 1;
                t.inflight.insert(
                    seq,
                    Seg {
                        data: Arc::from(&[][..]),
                        fin: true,
                        attempts: 0,
                        first_sent: now,
                    },
                );
                self.tcp_event(s, "fin");
                self.transmit(s, seq);
                return;
            }
            let n = usize::try_from(window)
                .unwrap_or(usize::MAX)
                .min(MSS)
                .min(t.unsent.len());
            if n == 0 {
                return;
            }
            let data: Vec<u8> = t.unsent.drain(..n).collect();
            t.snd_nxt += n as u64;
            t.inflight_bytes += n as u64;
            t.inflight.insert(
                seq,
                Seg {
                    data: Arc::from(data),
                    fin: false,
                    attempts: 0,
                    first_sent: now,
                },
            );
            self.transmit(s, seq);
        }
    }

    /// Put one attempt of segment `seq` of `s` on the link.
    fn transmit(&mut self, s: SockId, seq: u64) {
        let Some(sock) = self.sockets.get_mut(&s) else {
            return;
        };
        let (host, generation) = (sock.host, sock.generation);
        let Some(t) = sock.tcp_mut() else { return };
        let (to_host, peer, peer_gen) = (t.peer_host, t.peer_sock, t.peer_gen);
        let Some(seg) = t.inflight.get_mut(&seq) else {
            return;
        };
        seg.attempts += 1;
        let (attempt, data, fin) = (seg.attempts, seg.data.clone(), seg.fin);
        let Some(to) = peer else { return };
        // Acknowledgements are implicit, so a segment needs a retransmit
        // timer only if it or its acknowledgement will not arrive.
        let unacknowledged = match self.link_send(host, to_host, Self::wire_size(data.len())) {
            Fate::Arrive { at, dup, .. } => {
                let msg = Timer::Seg(SegMsg {
                    to,
                    to_gen: peer_gen,
                    host: to_host,
                    from: s,
                    seq,
                    data,
                    fin,
                });
                self.push_arrival(at, dup, msg);
                // A one-way partition drops the acknowledgement.
                self.is_cut(to_host, host, at)
            }
            Fate::Cut | Fate::Lost => true,
        };
        if unacknowledged {
            self.arm_rto(s, generation, to_host, seq, attempt);
        }
    }

    /// Retransmit segment `seq` of `s` (of generation `generation`, its
    /// peer on `peer_host`) after the timeout of its `attempt`.
    fn arm_rto(&mut self, s: SockId, generation: u32, peer_host: HostId, seq: u64, attempt: u32) {
        let Some(host) = self.sockets.get(&s).map(|x| x.host) else {
            return;
        };
        let base = MIN_RTO.max(self.one_way(host, peer_host).saturating_mul(3));
        let at = self.now.saturating_add(backoff(base, attempt, MAX_RTO));
        self.schedule(
            s,
            at,
            Timer::Rto {
                sock: s,
                gen_: generation,
                seq,
                attempt,
            },
        );
    }

    pub(crate) fn on_rto(&mut self, s: SockId, g: u32, seq: u64, attempt: u32) {
        let now = self.now;
        let Some(sock) = self.sockets.get(&s).filter(|x| x.generation == g) else {
            return;
        };
        let Some(t) = sock
            .tcp()
            .filter(|t| t.phase == Phase::Connected && !t.dead)
        else {
            return;
        };
        let Some(seg) = t.inflight.get(&seq).filter(|x| x.attempts == attempt) else {
            return;
        };
        if now.saturating_sub(seg.first_sent) >= DATA_TIMEOUT {
            self.fail(s, ErrorCode::ConnectionAborted, "timed out");
            return;
        }
        if self.verbose {
            self.tcp_event(s, &format!("retransmit seq={seq}"));
        }
        self.transmit(s, seq);
    }

    pub(crate) fn on_seg(&mut self, m: SegMsg) {
        let SegMsg {
            to,
            to_gen,
            host,
            from,
            seq,
            data,
            fin,
        } = m;
        let state = self
            .sockets
            .get(&to)
            .filter(|x| x.generation == to_gen)
            .and_then(|x| {
                x.tcp().map(|t| {
                    (
                        t.phase,
                        t.dead,
                        t.peer_sock,
                        x.orphan,
                        t.rcv_nxt,
                        t.peer_gen,
                    )
                })
            });
        let (orphan, rcv_nxt, peer_gen) = match state {
            Some((Phase::SynSent, ..)) => {
                // Data before the SYN-ACK: the handshake is complete.
                self.establish(to, from, 0);
                let Some(x) = self.sockets.get(&to) else {
                    return;
                };
                let Some(t) = x.tcp() else { return };
                (x.orphan, t.rcv_nxt, t.peer_gen)
            }
            Some((Phase::Connected, false, Some(p), orphan, rcv_nxt, peer_gen)) if p == from => {
                (orphan, rcv_nxt, peer_gen)
            }
            Some((Phase::Connected, false, ..)) => return,
            _ => {
                self.rst_reply(host, from);
                return;
            }
        };
        if orphan && !data.is_empty() && seq >= rcv_nxt {
            self.tcp_event(to, "reset (data after close)");
            self.send_rst(host, from, peer_gen);
            self.remove_socket(to);
            return;
        }
        let now = self.now;
        let Some(t) = self.sockets.get_mut(&to).and_then(|x| x.tcp_mut()) else {
            return;
        };
        t.last_rx = now;
        if seq > t.rcv_nxt {
            t.ooo.entry(seq).or_insert((data, fin));
            return;
        }
        if seq < t.rcv_nxt {
            let upto = t.rcv_nxt;
            self.ack_back(host, from, upto);
            return;
        }
        apply(t, &data, fin);
        while let Some((d, f)) = t.ooo.remove(&t.rcv_nxt) {
            apply(t, &d, f);
        }
        let (upto, fin_rcvd) = (t.rcv_nxt, t.fin_rcvd);
        self.changed.insert(to);
        self.ack_back(host, from, upto);
        if fin_rcvd {
            self.check_orphan(to);
        }
    }

    /// Host `host` acknowledges everything below `upto` to socket `s`
    /// (at once, as acknowledgements take no time here), unless a
    /// one-way partition drops what `host` sends to `s`'s host.
    fn ack_back(&mut self, host: HostId, s: SockId, upto: u64) {
        let Some(to_host) = self.sockets.get(&s).map(|x| x.host) else {
            return;
        };
        if self.is_cut(host, to_host, self.now) {
            self.ack_lost(s);
        } else {
            self.ack(s, upto);
        }
    }

    /// An acknowledgement to `s` was dropped: make sure its oldest
    /// segment has a retransmit timer (a partition that started after the
    /// segment left gave it none). A timer already set for the same
    /// attempt makes this one a no-op when it fires.
    fn ack_lost(&mut self, s: SockId) {
        let Some(sock) = self.sockets.get(&s) else {
            return;
        };
        let generation = sock.generation;
        let Some(t) = sock.tcp() else { return };
        let Some((&seq, seg)) = t.inflight.first_key_value() else {
            return;
        };
        let (attempt, peer_host) = (seg.attempts, t.peer_host);
        self.arm_rto(s, generation, peer_host, seq, attempt);
    }

    /// Everything below `upto` reached the peer of `s`: free it.
    fn ack(&mut self, s: SockId, upto: u64) {
        let Some(sock) = self.sockets.get_mut(&s) else {
            return;
        };
        let orphan = sock.orphan;
        let Some(t) = sock.tcp_mut().filter(|t| !t.dead) else {
            return;
        };
        let mut freed = false;
        let mut fin_now = false;
        while let Some((&seq, seg)) = t.inflight.first_key_value() {
            if seq.saturating_add(seg.seq_len()) > upto {
                break;
            }
            fin_now |= seg.fin;
            t.inflight_bytes = t.inflight_bytes.saturating_sub(seg.data.len() as u64);
            t.inflight.pop_first();
            freed = true;
        }
        if fin_now {
            t.fin_acked = true;
        }
        if freed {
            self.changed.insert(s);
            self.pump(s);
        }
        if fin_now && orphan {
            self.orphan_fin_acked(s);
        }
    }

    /// A closed socket's FIN was acknowledged: go once the peer's FIN came,
    /// or after the FIN-wait timeout.
    pub(crate) fn orphan_fin_acked(&mut self, s: SockId) {
        let fin_rcvd = self
            .sockets
            .get(&s)
            .and_then(|x| x.tcp())
            .is_some_and(|t| t.fin_rcvd);
        if fin_rcvd {
            self.remove_socket(s);
        } else {
            let at = self.now.saturating_add(FIN_WAIT_TIMEOUT);
            self.schedule(s, at, Timer::OrphanTimeout { sock: s });
        }
    }

    /// Remove a closed socket whose exchange is complete.
    fn check_orphan(&mut self, s: SockId) {
        let done = self
            .sockets
            .get(&s)
            .is_some_and(|x| x.orphan && x.tcp().is_some_and(|t| t.fin_acked && t.fin_rcvd));
        if done {
            self.remove_socket(s);
        }
    }
}

/// Deliver one in-order segment into the receive state.
fn apply(t: &mut TcpState, data: &[u8], fin: bool) {
    if fin {
        t.fin_rcvd = true;
        t.rcv_nxt += 1;
    } else {
        if !t.shut_rd {
            t.rcvq.extend(data.iter());
        }
        t.rcv_nxt += data.len() as u64;
    }
}
