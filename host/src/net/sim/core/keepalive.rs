//! Stream keep-alive: probes after idle time, failure after unanswered
//! probes.

use std::time::Duration;

use super::events::Timer;
use super::network::Network;
use super::socket::Phase;
use super::{ErrorCode, SockId};

impl Network {
    /// (Re)start the keep-alive timer of `s` per its options.
    pub(crate) fn arm_keepalive(&mut self, s: SockId) {
        let now = self.now;
        let Some(sock) = self.sockets.get_mut(&s) else {
            return;
        };
        let (on, idle) = (sock.opts.keep_alive, sock.opts.keep_alive_idle);
        let Some(t) = sock.tcp_mut() else { return };
        t.ka_gen = t.ka_gen.wrapping_add(1);
        t.ka_probes = 0;
        let old = t.ka_timer.take();
        let armed = on && t.phase == Phase::Connected && !t.dead;
        let (at, kgen) = (t.last_rx.saturating_add(idle).max(now), t.ka_gen);
        if let Some(key) = old {
            self.unschedule(s, key);
        }
        if armed {
            self.keepalive_at(s, at, kgen);
        }
    }

    fn keepalive_at(&mut self, s: SockId, at: Duration, kgen: u32) {
        let key = self.schedule(s, at, Timer::KeepAlive { sock: s, kgen });
        if let Some(t) = self.sockets.get_mut(&s).and_then(|x| x.tcp_mut()) {
            t.ka_timer = Some(key);
        }
    }

    pub(crate) fn on_keepalive(&mut self, s: SockId, kgen: u32) {
        let now = self.now;
        let Some(sock) = self.sockets.get(&s) else {
            return;
        };
        let o = &sock.opts;
        let (idle, interval, count, host) = (
            o.keep_alive_idle,
            o.keep_alive_interval,
            o.keep_alive_count,
            sock.host,
        );
        let Some(t) = sock.tcp() else { return };
        if t.ka_gen != kgen || !sock.opts.keep_alive || t.phase != Phase::Connected || t.dead {
            return;
        }
        let idle_end = t.last_rx.saturating_add(idle);
        if t.ka_probes == 0 && now < idle_end {
            self.keepalive_at(s, idle_end, kgen);
            return;
        }
        if t.ka_probes >= count {
            self.fail(s, ErrorCode::ConnectionAborted, "keep-alive timed out");
            return;
        }
        let (peer_host, peer, peer_gen) = (t.peer_host, t.peer_sock, t.peer_gen);
        // A probe is answered only if it gets there and its answer back.
        let cut = self.is_cut(host, peer_host, now) || self.is_cut(peer_host, host, now);
        let peer_alive = peer.and_then(|p| self.sockets.get(&p)).is_some_and(|p| {
            p.generation == peer_gen
                && p.tcp()
                    .is_some_and(|pt| pt.phase == Phase::Connected && !pt.dead)
        });
        if !cut && !peer_alive {
            self.fail(s, ErrorCode::ConnectionReset, "reset (keep-alive)");
            return;
        }
        let Some(t) = self.sockets.get_mut(&s).and_then(|x| x.tcp_mut()) else {
            return;
        };
        let next = if cut {
            t.ka_probes += 1;
            now.saturating_add(interval)
        } else {
            t.ka_probes = 0;
            t.last_rx = now;
            now.saturating_add(idle)
        };
        if cut {
            self.tcp_event(s, "keep-alive probe unanswered");
        }
        self.keepalive_at(s, next, kgen);
    }
}
