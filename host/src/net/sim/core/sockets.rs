//! The socket API of [`Network`]: the operations common to both socket
//! types and the dispatch to the stream and datagram parts.

use std::net::{IpAddr, SocketAddr};

use super::network::Network;
use super::socket::{Phase, Proto, Socket};
use super::{
    ConnectState, ErrorCode, Family, HostId, NetFault, OptionName, Readiness, Shutdown, SockId,
    SockOption, SocketType,
};

impl Network {
    /// Open a socket on host `h`. An unknown host is `InvalidArgument`.
    pub fn open(&mut self, h: HostId, family: Family, ty: SocketType) -> Result<SockId, ErrorCode> {
        if h.0 >= self.hosts.len() {
            return Err(ErrorCode::InvalidArgument);
        }
        let id = SockId(self.next_sock);
        self.next_sock += 1;
        self.sockets.insert(id, Socket::new(h, family, ty));
        Ok(id)
    }

    /// Close `s` as dropping its handle does. A datagram socket goes at
    /// once. A stream socket with unread received data or `linger` set to
    /// zero resets the connection; otherwise its queued data keeps being
    /// delivered in the background, followed by a FIN. Closing a listener
    /// resets its pending, unaccepted connections. Unknown ids are ignored.
    pub fn close(&mut self, s: SockId) {
        match self.sockets.get(&s).map(Socket::ty) {
            Some(SocketType::Stream) => self.tcp_close(s),
            Some(SocketType::Datagram) => self.remove_socket(s),
            None => {}
        }
        self.run_due();
    }

    /// Host `h` stopped: close all its sockets as on process exit.
    pub fn host_down(&mut self, h: HostId) {
        let ids: Vec<SockId> = self
            .sockets
            .iter()
            .filter(|(_, x)| x.host == h && !x.orphan)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.close(id);
        }
    }

    /// Host `h` crashes: its sockets vanish at once, with no FIN and no
    /// reset, and until [`restart_host`](Self::restart_host) nothing
    /// reaches it or leaves it (what arrives meanwhile is lost). Its
    /// peers learn of it as of a machine gone: silence, then their
    /// timeouts, or a reset once it is back and knows nothing of them.
    pub fn crash_host(&mut self, h: HostId) {
        let ids: Vec<SockId> = self
            .sockets
            .iter()
            .filter(|(_, x)| x.host == h)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.remove_socket(id);
        }
        if self.down.insert(h) {
            self.processed += 1;
            self.event_fault(h, NetFault::Host { up: false });
        }
    }

    /// Host `h`, crashed, is back, with no sockets.
    pub fn restart_host(&mut self, h: HostId) {
        if self.down.remove(&h) {
            self.processed += 1;
            self.event_fault(h, NetFault::Host { up: true });
        }
    }

    /// Bind `s` to `addr`; port 0 picks an ephemeral port.
    ///
    /// A datagram socket may also bind a multicast group address, to
    /// receive only that group's datagrams for the port.
    ///
    /// Errors: `AddressFamilyNotSupported` (other family),
    /// `AddressNotAvailable` (not one of the host's addresses, a loopback
    /// address, the unspecified address or, for a datagram socket, a
    /// multicast address), `InvalidArgument` (already bound, connected or
    /// listening), `AddressInUse`.
    pub fn bind(&mut self, s: SockId, addr: SocketAddr) -> Result<(), ErrorCode> {
        self.do_bind(s, addr, false)
    }

    pub(crate) fn do_bind(
        &mut self,
        s: SockId,
        addr: SocketAddr,
        implicit: bool,
    ) -> Result<(), ErrorCode> {
        let sock = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?;
        if sock.local.is_some() || sock.tcp().is_some_and(|t| t.phase != Phase::Closed) {
            return Err(ErrorCode::InvalidArgument);
        }
        if Family::of(&addr) != sock.family {
            return Err(ErrorCode::AddressFamilyNotSupported);
        }
        let (host, tcp, family) = (sock.host, sock.tcp().is_some(), sock.family);
        let multicast = !tcp && addr.ip().is_multicast();
        if !multicast && !self.is_local(host, addr.ip()) {
            return Err(ErrorCode::AddressNotAvailable);
        }
        let port = if addr.port() == 0 {
            self.ephemeral(host, tcp, addr.ip(), family)?
        } else if self.in_use(host, tcp, addr.ip(), addr.port(), family) {
            return Err(ErrorCode::AddressInUse);
        } else {
            addr.port()
        };
        let local = SocketAddr::new(addr.ip(), port);
        if let Some(sock) = self.sockets.get_mut(&s) {
            sock.local = Some(local);
            sock.implicit = implicit;
            sock.in_port_table = true;
        }
        self.ports.entry((host, tcp, port)).or_default().push(s);
        Ok(())
    }

    /// Bind `s` implicitly (unspecified address, ephemeral port) if it is
    /// unbound.
    pub(crate) fn ensure_bound(&mut self, s: SockId) -> Result<SocketAddr, ErrorCode> {
        let sock = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?;
        if let Some(l) = sock.local {
            return Ok(l);
        }
        let any = SocketAddr::new(Self::unspecified(sock.family), 0);
        self.do_bind(s, any, true)?;
        self.sockets
            .get(&s)
            .and_then(|x| x.local)
            .ok_or(ErrorCode::InvalidArgument)
    }

    /// The checks on a remote address shared by connect and send: it must
    /// be of the socket's `family` and name a host and a port.
    pub(crate) fn check_remote(family: Family, addr: SocketAddr) -> Result<(), ErrorCode> {
        if Family::of(&addr) != family {
            return Err(ErrorCode::AddressFamilyNotSupported);
        }
        if addr.ip().is_unspecified() || addr.port() == 0 {
            return Err(ErrorCode::AddressNotAvailable);
        }
        Ok(())
    }

    /// The source address `sock` uses towards `dst` (see
    /// [`Network::source_ip`]).
    pub(crate) fn source_ip_of(&self, sock: &Socket, dst: IpAddr) -> Result<IpAddr, ErrorCode> {
        let bound = sock
            .local
            .map_or(Self::unspecified(sock.family), |l| l.ip());
        self.source_ip(sock.host, bound, dst)
    }

    /// The addressing part of connecting `s` to `addr`: check `addr`,
    /// choose the source address, bind `s` implicitly if unbound and, if
    /// it is bound to the unspecified address, fill in the source address.
    /// Returns whether it was filled in.
    pub(crate) fn bind_towards(&mut self, s: SockId, addr: SocketAddr) -> Result<bool, ErrorCode> {
        let sock = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?;
        Self::check_remote(sock.family, addr)?;
        let src = self.source_ip_of(sock, addr.ip())?;
        let local = self.ensure_bound(s)?;
        let fill = local.ip().is_unspecified();
        if fill && let Some(sock) = self.sockets.get_mut(&s) {
            sock.local = Some(SocketAddr::new(src, local.port()));
        }
        Ok(fill)
    }

    fn in_use(&self, h: HostId, tcp: bool, ip: IpAddr, port: u16, family: Family) -> bool {
        self.ports.get(&(h, tcp, port)).is_some_and(|ids| {
            ids.iter().any(|id| {
                self.sockets.get(id).is_some_and(|x| {
                    !x.orphan
                        && x.family == family
                        && x.local.is_some_and(|l| {
                            l.ip() == ip || l.ip().is_unspecified() || ip.is_unspecified()
                        })
                })
            })
        })
    }

    fn ephemeral(
        &mut self,
        h: HostId,
        tcp: bool,
        ip: IpAddr,
        family: Family,
    ) -> Result<u16, ErrorCode> {
        let start = super::EPHEMERAL_START;
        let span = u32::from(u16::MAX - start) + 1;
        let idx = usize::from(tcp);
        let mut port = self
            .hosts
            .get(h.0)
            .ok_or(ErrorCode::InvalidArgument)?
            .next_port[idx];
        for _ in 0..span {
            let candidate = port;
            port = if port == u16::MAX { start } else { port + 1 };
            let used = self
                .ports
                .get(&(h, tcp, candidate))
                .is_some_and(|v| !v.is_empty());
            if !used && !self.in_use(h, tcp, ip, candidate, family) {
                if let Some(host) = self.hosts.get_mut(h.0) {
                    host.next_port[idx] = port;
                }
                return Ok(candidate);
            }
        }
        Err(ErrorCode::AddressInUse)
    }

    /// Listen on stream socket `s`, binding it to the unspecified address
    /// and an ephemeral port first if unbound. Backlog 0 means 128; larger
    /// values are capped at 4096. Listening again only updates the backlog.
    ///
    /// Errors: `NotSupported` (datagram), `InvalidArgument` (implicitly
    /// bound, connecting), `AlreadyConnected`, bind errors.
    pub fn listen(&mut self, s: SockId, backlog: u32) -> Result<(), ErrorCode> {
        let r = self.tcp_listen(s, backlog);
        self.run_due();
        r
    }

    /// Take the next pending connection of listener `s` and its peer's
    /// address.
    ///
    /// Errors: `NotSupported` (datagram), `InvalidArgument` (not
    /// listening), `WouldBlock` (none pending).
    pub fn accept(&mut self, s: SockId) -> Result<(SockId, SocketAddr), ErrorCode> {
        let r = self.tcp_accept(s);
        self.run_due();
        r
    }

    /// Connect `s` to `addr`. A stream socket starts the handshake and
    /// returns `InProgress`, except that a handshake on the same host
    /// completes within the call and returns `Connected`. A datagram socket
    /// sets its default peer and returns `Connected`. Unbound sockets are
    /// bound implicitly.
    ///
    /// Errors: `AddressFamilyNotSupported`, `AddressNotAvailable`
    /// (unspecified address or port 0), `NetworkUnreachable` (no source
    /// address of that family), `InvalidArgument` (listening), `Already`
    /// (in progress), `AlreadyConnected`, bind errors.
    pub fn connect(&mut self, s: SockId, addr: SocketAddr) -> Result<ConnectState, ErrorCode> {
        let ty = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?.ty();
        let r = match ty {
            SocketType::Stream => self.tcp_connect(s, addr),
            SocketType::Datagram => self.udp_connect(s, addr),
        };
        self.run_due();
        match (ty, r) {
            (SocketType::Stream, Ok(ConnectState::InProgress)) => {
                let done = self
                    .sockets
                    .get(&s)
                    .and_then(|x| x.tcp())
                    .is_some_and(|t| t.phase == Phase::Connected);
                Ok(if done {
                    ConnectState::Connected
                } else {
                    ConnectState::InProgress
                })
            }
            (_, r) => r,
        }
    }

    /// How a stream connect stands: `InProgress`, `Connected`, or the error
    /// it failed with (returned once, like [`Network::take_error`]; then
    /// `NotConnected`). A datagram socket reports `Connected` if it has a
    /// default peer, else `NotConnected`.
    pub fn connect_state(&mut self, s: SockId) -> Result<ConnectState, ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        match &sock.proto {
            Proto::Udp(u) => {
                if u.peer.is_some() {
                    Ok(ConnectState::Connected)
                } else {
                    Err(ErrorCode::NotConnected)
                }
            }
            Proto::Tcp(t) => match t.phase {
                Phase::SynSent => Ok(ConnectState::InProgress),
                Phase::Connected => Ok(ConnectState::Connected),
                Phase::Failed => {
                    let e = sock.error.take().unwrap_or(ErrorCode::NotConnected);
                    self.changed.insert(s);
                    Err(e)
                }
                Phase::Closed | Phase::Listening => Err(ErrorCode::NotConnected),
            },
        }
    }

    /// Remove a datagram socket's default peer (succeeds without one).
    /// Stream sockets: `NotSupported`.
    pub fn disconnect(&mut self, s: SockId) -> Result<(), ErrorCode> {
        self.udp_disconnect(s)
    }

    /// Send on a connected socket: a stream socket takes what fits in its
    /// send buffer (`WouldBlock` if nothing does); a datagram socket sends
    /// one datagram to its default peer.
    ///
    /// Errors (stream): `NotConnected`, `WouldBlock` (also while
    /// connecting), `ShutDown` (send direction shut down),
    /// `ConnectionReset` (also once a reset or a timeout was reported, as
    /// Linux's EPIPE), `TimedOut`. Errors (datagram):
    /// `DestinationAddressRequired`, `MessageSize`, `ShutDown`, a pending
    /// `ConnectionRefused`.
    pub fn send(&mut self, s: SockId, data: &[u8]) -> Result<usize, ErrorCode> {
        let ty = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?.ty();
        let r = match ty {
            SocketType::Stream => self.tcp_send(s, data),
            SocketType::Datagram => self.udp_send(s, data),
        };
        self.run_due();
        r
    }

    /// Receive on a connected socket, appending at most `max` bytes to
    /// `out` (left queued with `peek`). Stream: `Ok(0)` is the end of the
    /// stream (or `max` 0). Datagram: one datagram, truncated to `max`
    /// (the rest is discarded unless peeking).
    ///
    /// Errors (stream): `NotConnected`, `WouldBlock`, `ShutDown` (receive
    /// direction shut down), `ConnectionReset` and `TimedOut` (reported
    /// once; then end of stream). Errors (datagram): `InvalidArgument`
    /// (unbound), `WouldBlock`, `ShutDown`, a pending `ConnectionRefused`.
    pub fn recv(
        &mut self,
        s: SockId,
        out: &mut Vec<u8>,
        max: usize,
        peek: bool,
    ) -> Result<usize, ErrorCode> {
        let ty = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?.ty();
        let r = match ty {
            SocketType::Stream => self.tcp_recv(s, out, max, peek),
            SocketType::Datagram => self.udp_recv(s, out, max, peek).map(|(_, n, _)| n),
        };
        self.run_due();
        r
    }

    /// Send one datagram to `to`, binding implicitly if unbound.
    ///
    /// Errors: `NotSupported` (stream), `AlreadyConnected` (has a default
    /// peer), `AddressFamilyNotSupported`, `AddressNotAvailable`
    /// (unspecified address or port 0), `MessageSize`,
    /// `NetworkUnreachable`, `ShutDown`.
    pub fn send_to(&mut self, s: SockId, data: &[u8], to: SocketAddr) -> Result<usize, ErrorCode> {
        let r = self.udp_send_to(s, data, to);
        self.run_due();
        r
    }

    /// Receive one datagram, appending at most `max` bytes of it to `out`;
    /// returns the sender and whether the datagram was truncated.
    ///
    /// Errors: `NotSupported` (stream), `InvalidArgument` (unbound),
    /// `WouldBlock`, `ShutDown`, a pending `ConnectionRefused`.
    pub fn recv_from(
        &mut self,
        s: SockId,
        out: &mut Vec<u8>,
        max: usize,
        peek: bool,
    ) -> Result<(SocketAddr, bool), ErrorCode> {
        let ty = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?.ty();
        if ty == SocketType::Stream {
            return Err(ErrorCode::NotSupported);
        }
        let r = self
            .udp_recv(s, out, max, peek)
            .map(|(from, _, t)| (from, t));
        self.run_due();
        r
    }

    /// Shut down one or both directions. Stream: shutting down sending
    /// sends a FIN after the queued data; shutting down receiving discards
    /// queued and future data, after which `recv` is `ShutDown`. Twice is
    /// fine.
    ///
    /// Errors: `NotConnected` (stream not connected, or reset; datagram
    /// without default peer).
    pub fn shutdown(&mut self, s: SockId, how: Shutdown) -> Result<(), ErrorCode> {
        let ty = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?.ty();
        let r = match ty {
            SocketType::Stream => self.tcp_shutdown(s, how),
            SocketType::Datagram => self.udp_shutdown(s, how),
        };
        self.run_due();
        r
    }

    /// The bound local address (for a connected socket bound to the
    /// unspecified address: the source address chosen at connect).
    ///
    /// Errors: `InvalidArgument` (unbound).
    pub fn local_addr(&self, s: SockId) -> Result<SocketAddr, ErrorCode> {
        self.sockets
            .get(&s)
            .and_then(|x| x.local)
            .ok_or(ErrorCode::InvalidArgument)
    }

    /// The connected peer's address.
    ///
    /// Errors: `NotConnected` (also while connecting and after a reset).
    pub fn peer_addr(&self, s: SockId) -> Result<SocketAddr, ErrorCode> {
        let sock = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?;
        let peer = match &sock.proto {
            Proto::Udp(u) => u.peer,
            Proto::Tcp(t) => t.peer.filter(|_| t.phase == Phase::Connected && !t.dead),
        };
        peer.ok_or(ErrorCode::NotConnected)
    }

    /// Bytes a receive would return now: queued stream bytes, or the size
    /// of the next datagram (0 if none).
    ///
    /// Errors: `InvalidArgument` (listening socket).
    pub fn bytes_available(&self, s: SockId) -> Result<usize, ErrorCode> {
        let sock = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?;
        match &sock.proto {
            Proto::Udp(u) => Ok(u.queue.front().map_or(0, |d| d.data.len())),
            Proto::Tcp(t) if t.phase == Phase::Listening => Err(ErrorCode::InvalidArgument),
            Proto::Tcp(t) => Ok(t.rcvq.len()),
        }
    }

    /// The readiness conditions that hold now (truthful). Stream sockets
    /// follow Linux `tcp_poll`: a socket that never connected is
    /// `WRITABLE | HANG_UP`; connecting is empty; a listener is `READABLE`
    /// with a pending connection; a connected socket is `READABLE` with
    /// data, end of stream, receive shut down or an error, `WRITABLE` with
    /// send-buffer room (or send shut down), `HANG_UP` when the peer's FIN
    /// came and nothing is left to read; a reset, timed-out or failed
    /// socket is `READABLE | WRITABLE | HANG_UP` (plus `ERROR` while the
    /// error is pending). Datagram sockets are always `WRITABLE` and
    /// `READABLE` with a queued datagram or pending error. Unknown ids:
    /// empty.
    pub fn readiness(&self, s: SockId) -> Readiness {
        let Some(sock) = self.sockets.get(&s) else {
            return Readiness::EMPTY;
        };
        let mut r = Readiness::EMPTY;
        if sock.error.is_some() {
            r |= Readiness::ERROR;
        }
        match &sock.proto {
            Proto::Udp(u) => {
                r |= Readiness::WRITABLE;
                if !u.queue.is_empty() || sock.error.is_some() || u.shut_rd {
                    r |= Readiness::READABLE;
                }
            }
            Proto::Tcp(t) => r |= Self::tcp_readiness(sock, t),
        }
        r
    }

    /// Set an option. Options of the other socket type are
    /// `ProtocolOptionNotSupported`; `Ipv6Only` on IPv4 is
    /// `AddressFamilyNotSupported` and after bind `InvalidArgument`.
    /// Keep-alive idle time and interval and the linger time are rounded
    /// up to whole seconds (1.5 s is kept, and read back, as 2 s).
    /// Out-of-range values are `InvalidArgument`: zero buffer sizes and hop
    /// limits, keep-alive times outside 1 s to 32767 s (after rounding),
    /// keep-alive counts outside 1 to 127, lingers above 65535 s. Buffer
    /// sizes are read back as set (not doubled).
    pub fn set_option(&mut self, s: SockId, o: SockOption) -> Result<(), ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        let name = o.name();
        if name.applies_to().is_some_and(|t| t != sock.ty()) {
            return Err(ErrorCode::ProtocolOptionNotSupported);
        }
        if name == OptionName::Ipv6Only {
            if sock.family == Family::Ipv4 {
                return Err(ErrorCode::AddressFamilyNotSupported);
            }
            if sock.local.is_some() {
                return Err(ErrorCode::InvalidArgument);
            }
        }
        sock.opts.set(o)?;
        self.changed.insert(s);
        match name {
            OptionName::KeepAlive
            | OptionName::KeepAliveIdle
            | OptionName::KeepAliveInterval
            | OptionName::KeepAliveCount => self.arm_keepalive(s),
            OptionName::ReceiveBufferSize => {
                if let Some(peer) = self
                    .sockets
                    .get(&s)
                    .and_then(|x| x.tcp())
                    .and_then(|t| t.peer_sock)
                {
                    self.pump(peer);
                }
            }
            _ => {}
        }
        self.run_due();
        Ok(())
    }

    /// Read an option back (the value in effect: as set, durations rounded
    /// up to whole seconds; or the default: buffers 262144,
    /// hop limit 64, multicast hop limit 1, multicast loop on, keep-alive
    /// 7200 s / 75 s / 9, the rest off, none or 0).
    ///
    /// Errors: as [`Network::set_option`].
    pub fn get_option(&self, s: SockId, n: OptionName) -> Result<SockOption, ErrorCode> {
        let sock = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?;
        if n.applies_to().is_some_and(|t| t != sock.ty()) {
            return Err(ErrorCode::ProtocolOptionNotSupported);
        }
        if n == OptionName::Ipv6Only && sock.family == Family::Ipv4 {
            return Err(ErrorCode::AddressFamilyNotSupported);
        }
        Ok(sock.opts.get(n))
    }

    /// Take and clear the pending error.
    pub fn take_error(&mut self, s: SockId) -> Result<Option<ErrorCode>, ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        let e = sock.error.take();
        if e.is_some() {
            self.changed.insert(s);
        }
        Ok(e)
    }

    /// The socket's family (`Ipv4` for an unknown id).
    pub fn family(&self, s: SockId) -> Family {
        self.sockets.get(&s).map_or(Family::Ipv4, |x| x.family)
    }

    /// The socket's type (`Stream` for an unknown id).
    pub fn socket_type(&self, s: SockId) -> SocketType {
        self.sockets.get(&s).map_or(SocketType::Stream, Socket::ty)
    }

    /// The host a socket lives on.
    pub fn socket_host(&self, s: SockId) -> Option<HostId> {
        self.sockets.get(&s).map(|x| x.host)
    }
}
