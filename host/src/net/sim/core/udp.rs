//! Datagram sockets.

use std::net::SocketAddr;
use std::sync::Arc;

use super::config::{MAX_UDP_V4, MAX_UDP_V6};
use super::events::{Datagram, Timer};
use super::network::{Fate, Network};
use super::socket::{Proto, Received, Socket};
use super::{ConnectState, ErrorCode, Family, Shutdown, SockId};

impl Network {
    pub(crate) fn udp_connect(
        &mut self,
        s: SockId,
        addr: SocketAddr,
    ) -> Result<ConnectState, ErrorCode> {
        let fill = self.bind_towards(s, addr)?;
        let u = self
            .sockets
            .get_mut(&s)
            .and_then(Socket::udp_mut)
            .ok_or(ErrorCode::InvalidArgument)?;
        u.ip_from_connect |= fill;
        u.peer = Some(addr);
        self.changed.insert(s);
        Ok(ConnectState::Connected)
    }

    pub(crate) fn udp_disconnect(&mut self, s: SockId) -> Result<(), ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        let family = sock.family;
        let local = sock.local;
        let u = sock.udp_mut().ok_or(ErrorCode::NotSupported)?;
        u.peer = None;
        if std::mem::take(&mut u.ip_from_connect) {
            sock.local = local.map(|l| SocketAddr::new(Self::unspecified(family), l.port()));
        }
        self.changed.insert(s);
        Ok(())
    }

    pub(crate) fn udp_send(&mut self, s: SockId, data: &[u8]) -> Result<usize, ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        if let Some(e) = sock.error.take() {
            self.changed.insert(s);
            return Err(e);
        }
        let u = sock.udp_mut().ok_or(ErrorCode::NotSupported)?;
        let peer = u.peer.ok_or(ErrorCode::DestinationAddressRequired)?;
        self.send_datagram(s, data, peer)
    }

    pub(crate) fn udp_send_to(
        &mut self,
        s: SockId,
        data: &[u8],
        to: SocketAddr,
    ) -> Result<usize, ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        let u = sock.udp_mut().ok_or(ErrorCode::NotSupported)?;
        if u.peer.is_some() {
            return Err(ErrorCode::AlreadyConnected);
        }
        self.send_datagram(s, data, to)
    }

    fn send_datagram(
        &mut self,
        s: SockId,
        data: &[u8],
        to: SocketAddr,
    ) -> Result<usize, ErrorCode> {
        let sock = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?;
        Self::check_remote(sock.family, to)?;
        let max = match sock.family {
            Family::Ipv4 => MAX_UDP_V4,
            Family::Ipv6 => MAX_UDP_V6,
        };
        if data.len() > max {
            return Err(ErrorCode::MessageSize);
        }
        if let Proto::Udp(u) = &sock.proto
            && u.shut_wr
        {
            return Err(ErrorCode::ShutDown);
        }
        if to.ip().is_multicast() {
            return self.send_multicast(s, data, to);
        }
        let host = sock.host;
        let src_ip = self.source_ip_of(sock, to.ip())?;
        let local = self.ensure_bound(s)?;
        let src = SocketAddr::new(src_ip, local.port());
        let desc = format!("udp {src} -> {to}");
        let Some(to_host) = self.route(host, to.ip()) else {
            if self.verbose {
                self.event(host, format!("{desc} dropped (no route)"));
            }
            return Ok(data.len());
        };
        let fate = self.link_send(host, to_host, Self::wire_size(data.len() + 8));
        let d = Datagram {
            from: s,
            from_host: host,
            to_host,
            src,
            dst: to,
            data: Arc::from(data),
        };
        self.put_on_wire(&desc, fate, d);
        Ok(data.len())
    }

    /// Put datagram `d` on the wire according to its link's `fate`,
    /// recording what happened to it as `desc` on the sending host.
    pub(crate) fn put_on_wire(&mut self, desc: &str, fate: Fate, d: Datagram) {
        let host = d.from_host;
        match fate {
            Fate::Cut => {
                if self.verbose {
                    self.event(host, format!("{desc} dropped (partition)"));
                }
            }
            Fate::Lost => {
                if self.verbose {
                    self.event(host, format!("{desc} lost"));
                }
            }
            Fate::Arrive { at, dup, reordered } => {
                if reordered && self.verbose {
                    self.event(host, format!("{desc} reordered"));
                }
                if dup.is_some() && self.verbose {
                    self.event(host, format!("{desc} duplicated"));
                }
                self.push_arrival(at, dup, Timer::Udp(Box::new(d)));
            }
        }
    }

    /// Receive one datagram: `(sender, bytes appended, truncated)`.
    pub(crate) fn udp_recv(
        &mut self,
        s: SockId,
        out: &mut Vec<u8>,
        max: usize,
        peek: bool,
    ) -> Result<(SocketAddr, usize, bool), ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        if sock.local.is_none() {
            return Err(ErrorCode::InvalidArgument);
        }
        if let Some(e) = sock.error.take() {
            self.changed.insert(s);
            return Err(e);
        }
        let u = sock.udp_mut().ok_or(ErrorCode::NotSupported)?;
        if u.shut_rd {
            return Err(ErrorCode::ShutDown);
        }
        let d = u.queue.front().ok_or(ErrorCode::WouldBlock)?;
        let n = d.data.len().min(max);
        out.extend_from_slice(d.data.get(..n).unwrap_or_default());
        let (from, truncated) = (d.from, d.data.len() > max);
        if !peek {
            if let Some(d) = u.queue.pop_front() {
                u.queued_bytes = u.queued_bytes.saturating_sub(d.data.len() as u64);
            }
            self.changed.insert(s);
        }
        Ok((from, n, truncated))
    }

    pub(crate) fn udp_shutdown(&mut self, s: SockId, how: Shutdown) -> Result<(), ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        let u = sock.udp_mut().ok_or(ErrorCode::NotSupported)?;
        if u.peer.is_none() {
            return Err(ErrorCode::NotConnected);
        }
        if matches!(how, Shutdown::Receive | Shutdown::Both) {
            u.shut_rd = true;
            u.queue.clear();
            u.queued_bytes = 0;
        }
        if matches!(how, Shutdown::Send | Shutdown::Both) {
            u.shut_wr = true;
        }
        self.changed.insert(s);
        Ok(())
    }

    pub(crate) fn on_udp(&mut self, d: Datagram) {
        let desc = format!("udp {} -> {}", d.src, d.dst);
        if self.down.contains(&d.to_host) {
            if self.verbose {
                self.event(d.to_host, format!("{desc} dropped (host down)"));
            }
            return;
        }
        if d.dst.ip().is_multicast() {
            self.on_udp_multicast(&d);
            return;
        }
        let target = self.lookup(d.to_host, false, d.dst, |_| true);
        let Some(target) = target else {
            // Port unreachable: a connected sender learns of it one round
            // trip after sending.
            let connected = self.sockets.get(&d.from).and_then(|x| match &x.proto {
                Proto::Udp(u) => u.peer,
                Proto::Tcp(_) => None,
            }) == Some(d.dst);
            if self.verbose {
                self.event(d.to_host, format!("{desc} dropped (port unreachable)"));
            }
            if connected && !self.is_cut(d.to_host, d.from_host, self.now) {
                let at = self
                    .now
                    .saturating_add(self.one_way(d.to_host, d.from_host));
                self.queue.push(
                    at,
                    Timer::UdpRefused {
                        to: d.from,
                        peer: d.dst,
                    },
                );
            }
            return;
        };
        self.deliver_udp(target, &d);
    }

    /// Queue datagram `d` on socket `target` unless the socket filters it
    /// (connected to another peer, receive shut down, buffer full).
    pub(crate) fn deliver_udp(&mut self, target: SockId, d: &Datagram) {
        let verbose = self.verbose;
        let Some(sock) = self.sockets.get_mut(&target) else {
            return;
        };
        let rcvbuf = sock.opts.rcvbuf;
        let Some(u) = sock.udp_mut() else { return };
        let why = if u.peer.is_some_and(|p| p != d.src) {
            Some("filtered")
        } else if u.shut_rd {
            Some("shut down")
        } else if u.queued_bytes.saturating_add(d.data.len() as u64) > rcvbuf {
            Some("buffer full")
        } else {
            None
        };
        match why {
            Some(why) => {
                if verbose {
                    let desc = format!("udp {} -> {}", d.src, d.dst);
                    self.event(d.to_host, format!("{desc} dropped ({why})"));
                }
            }
            None => {
                u.queued_bytes += d.data.len() as u64;
                u.queue.push_back(Received {
                    from: d.src,
                    data: d.data.clone(),
                });
                self.changed.insert(target);
            }
        }
    }

    pub(crate) fn on_udp_refused(&mut self, to: SockId, peer: SocketAddr) {
        let Some(sock) = self.sockets.get_mut(&to) else {
            return;
        };
        let connected = matches!(&sock.proto, Proto::Udp(u) if u.peer == Some(peer));
        if connected {
            sock.error = Some(ErrorCode::ConnectionRefused);
            self.changed.insert(to);
        }
    }
}
