//! Datagram sockets: send, receive, the default peer, shutdown, multicast
//! membership, and their readiness.
//!
//! Each socket has a queue of whole datagrams that holds its
//! `receive-buffer-size` (counting a little bookkeeping per datagram); a
//! datagram that does not fit is dropped, as UDP drops it. A datagram to a
//! port where nobody is bound is answered as ICMP port unreachable is: a
//! connected sender learns of it as `connection-refused` on a later call;
//! an unconnected one never does (Linux's behaviour without `IP_RECVERR`).

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use wasock::provider::{
    AddressFamily, Datagram, ErrorCode, IpAddress, Readiness, RecvFlags, ShutdownHow, SocketAddress,
};

use crate::addr::{self, Binding, MAX_DATAGRAM_V4, MAX_DATAGRAM_V6};
use crate::net::{Id, Kind, MAX_BUFFERED, Net, Sock};
use crate::options::LOOPBACK_INTERFACE;

/// What each queued datagram costs beyond its payload, in buffer space.
const OVERHEAD: u64 = 64;

/// The most groups one socket may join (Linux's `IP_MAX_MEMBERSHIPS`).
const MAX_GROUPS: usize = 20;

/// One datagram waiting to be read.
#[derive(Debug)]
pub struct Packet {
    /// The payload.
    data: Vec<u8>,
    /// The sender (canonical).
    from: SocketAddr,
}

/// A datagram socket's state.
#[derive(Debug, Default)]
pub struct Dgram {
    /// The default peer (canonical), set by `connect`.
    pub peer: Option<SocketAddr>,
    /// Datagrams received and not yet read.
    queue: VecDeque<Packet>,
    /// Buffer space the queue takes.
    pub queued: u64,
    /// Receiving shut down.
    shut_rd: bool,
    /// Sending shut down.
    shut_wr: bool,
    /// Groups joined, with the interface (always loopback).
    groups: Vec<IpAddr>,
    /// The unspecified address the socket was bound to before `connect`
    /// narrowed it to the source address; `disconnect` restores it.
    widened_from: Option<IpAddr>,
}

/// A datagram socket's state.
fn dgram(s: &Sock) -> &Dgram {
    match &s.kind {
        Kind::Datagram(d) => d,
        Kind::Stream(_) => panic!("memnet: a stream socket in a datagram call"),
    }
}

/// A datagram socket's state, to change.
fn dgram_mut(s: &mut Sock) -> &mut Dgram {
    match &mut s.kind {
        Kind::Datagram(d) => d,
        Kind::Stream(_) => panic!("memnet: a stream socket in a datagram call"),
    }
}

/// Where a datagram goes.
enum Dest {
    /// One socket's address.
    Unicast,
    /// Every member of a group.
    Multicast,
    /// Every socket bound to the unspecified address.
    Broadcast,
}

/// Whether the datagram socket `s` takes a datagram from `from` to
/// `dest`: bound to the port with an address that covers `dest`, and
/// connected to `from` if connected at all. Its binding and state if so.
fn takes(s: &Sock, dest: SocketAddr, from: SocketAddr) -> Option<(Binding, &Dgram)> {
    let Kind::Datagram(d) = &s.kind else {
        return None;
    };
    let b = s.bound?;
    (b.port == dest.port() && b.covers(dest.ip()) && d.peer.is_none_or(|p| p == from))
        .then_some((b, d))
}

impl Net {
    /// Check a destination named by `id`'s application: the canonical
    /// endpoint and its kind.
    fn destination(&self, id: Id, to: SocketAddress) -> Result<(SocketAddr, Dest), ErrorCode> {
        let s = self.get(id);
        let given = addr::given(s.family, to)?;
        let dest = given.ep;
        if given.mapped && s.opts.ipv6_only {
            return Err(ErrorCode::NetworkUnreachable);
        }
        let ip = dest.ip();
        if ip.is_unspecified() || dest.port() == 0 {
            return Err(ErrorCode::AddressNotAvailable);
        }
        let kind = if addr::is_broadcast(ip) {
            if !s.opts.broadcast {
                return Err(ErrorCode::AccessDenied);
            }
            Dest::Broadcast
        } else if addr::is_multicast(ip) {
            Dest::Multicast
        } else if addr::is_loopback(ip) {
            Dest::Unicast
        } else {
            return Err(ErrorCode::NetworkUnreachable);
        };
        Ok((dest, kind))
    }

    /// `connect` of a datagram socket: set (or replace) the default peer.
    pub fn connect_datagram(&mut self, id: Id, remote: SocketAddress) -> Result<(), ErrorCode> {
        let (dest, _) = self.destination(id, remote)?;
        self.auto_bind(id, true)?;
        let s = self.get_mut(id);
        let Some(mut b) = s.bound else {
            return Err(ErrorCode::InvalidArgument);
        };
        if let Some(wild) = dgram(s).widened_from {
            b.ip = wild;
        }
        let source = b.source_for(dest.ip())?;
        let d = dgram_mut(s);
        d.widened_from = None;
        if b.wildcard() && !addr::is_multicast(dest.ip()) && !addr::is_broadcast(dest.ip()) {
            d.widened_from = Some(b.ip);
            b.ip = source;
        }
        d.peer = Some(dest);
        s.bound = Some(b);
        Ok(())
    }

    /// `disconnect`.
    pub fn disconnect(&mut self, id: Id) -> Result<(), ErrorCode> {
        let s = self.get_mut(id);
        if !matches!(s.kind, Kind::Datagram(_)) {
            return Err(ErrorCode::NotSupported);
        }
        let d = dgram_mut(s);
        d.peer = None;
        if let Some(wild) = d.widened_from.take()
            && let Some(b) = &mut s.bound
        {
            b.ip = wild;
        }
        Ok(())
    }

    /// `send` (`to` = `None`) and `send-to` on a datagram socket.
    pub fn send_datagram(
        &mut self,
        id: Id,
        data: Vec<u8>,
        to: Option<SocketAddress>,
    ) -> Result<u64, ErrorCode> {
        let s = self.get_mut(id);
        let peer = dgram(s).peer;
        let (dest, kind) = match to {
            None => {
                let Some(p) = peer else {
                    return Err(ErrorCode::DestinationAddressRequired);
                };
                let kind = if addr::is_multicast(p.ip()) {
                    Dest::Multicast
                } else if addr::is_broadcast(p.ip()) {
                    Dest::Broadcast
                } else {
                    Dest::Unicast
                };
                (p, kind)
            }
            Some(_) if peer.is_some() => return Err(ErrorCode::AlreadyConnected),
            Some(to) => self.destination(id, to)?,
        };
        let s = self.get_mut(id);
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        if dgram(s).shut_wr {
            return Err(ErrorCode::ShutDown);
        }
        let max = if dest.is_ipv4() {
            MAX_DATAGRAM_V4
        } else {
            MAX_DATAGRAM_V6
        };
        if data.len() > max {
            return Err(ErrorCode::MessageSize);
        }
        self.auto_bind(id, true)?;
        let s = self.get(id);
        let Some(b) = s.bound else {
            return Err(ErrorCode::InvalidArgument);
        };
        let from = SocketAddr::new(b.source_for(dest.ip())?, b.port);
        let len = data.len() as u64;
        let mloop = s.opts.multicast_loop;
        let targets: Vec<Id> = match kind {
            Dest::Unicast => self.unicast_target(dest, from).into_iter().collect(),
            Dest::Multicast if !mloop => Vec::new(),
            Dest::Multicast | Dest::Broadcast => {
                self.fan_out(dest, from, matches!(kind, Dest::Multicast))
            }
        };
        if targets.is_empty() {
            if matches!(kind, Dest::Unicast) && peer.is_some() {
                // ICMP port unreachable, reported to a connected socket.
                self.get_mut(id).error = Some(ErrorCode::ConnectionRefused);
            }
            return Ok(len);
        }
        let last = targets.len() - 1;
        let mut data = Some(data);
        for (i, t) in targets.into_iter().enumerate() {
            let payload = if i == last {
                data.take().unwrap_or_default()
            } else {
                data.clone().unwrap_or_default()
            };
            if !self.enqueue(t, payload, from) && matches!(kind, Dest::Unicast) {
                return Err(ErrorCode::NoBufferSpace);
            }
        }
        Ok(len)
    }

    /// The socket a unicast datagram from `from` to `dest` reaches: bound
    /// to the port with an address that takes `dest`, and connected to
    /// `from` if connected at all; the most specific, then the connected,
    /// then the latest bound.
    fn unicast_target(&self, dest: SocketAddr, from: SocketAddr) -> Option<Id> {
        self.iter()
            .filter_map(|(id, s)| {
                let (b, d) = takes(s, dest, from)?;
                Some((id, (!b.wildcard(), d.peer.is_some(), s.seq)))
            })
            .max_by_key(|(_, score)| *score)
            .map(|(id, _)| id)
    }

    /// Every socket a multicast (members of the group only) or broadcast
    /// datagram reaches.
    fn fan_out(&self, dest: SocketAddr, from: SocketAddr, members_only: bool) -> Vec<Id> {
        self.iter()
            .filter_map(|(id, s)| {
                let (_, d) = takes(s, dest, from)?;
                (!members_only || d.groups.contains(&dest.ip())).then_some(id)
            })
            .collect()
    }

    /// Queue a datagram on `id`, or drop it when its queue is full. False
    /// when the network as a whole is out of buffer space.
    fn enqueue(&mut self, id: Id, data: Vec<u8>, from: SocketAddr) -> bool {
        let cost = data.len() as u64 + OVERHEAD;
        if self.buffered + cost > MAX_BUFFERED {
            return false;
        }
        let s = self.get_mut(id);
        let room = s.opts.receive_buffer;
        let d = dgram_mut(s);
        // One datagram always fits an empty queue (as Linux lets one
        // datagram past a small buffer).
        if d.shut_rd || (!d.queue.is_empty() && d.queued + cost > room) {
            return true;
        }
        d.queue.push_back(Packet { data, from });
        d.queued += cost;
        self.buffered += cost;
        true
    }

    /// `recv` and `recv-from` on a datagram socket.
    pub fn recv_datagram(
        &mut self,
        id: Id,
        max_len: u64,
        flags: RecvFlags,
        connected_form: bool,
    ) -> Result<Datagram, ErrorCode> {
        if flags.contains(RecvFlags::WAIT_ALL) {
            return Err(ErrorCode::NotSupported);
        }
        let s = self.get_mut(id);
        let (family, nonblocking, timeout) = (s.family, s.nonblocking, s.opts.receive_timeout);
        if s.bound.is_none() {
            return Err(ErrorCode::InvalidArgument);
        }
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let d = dgram_mut(s);
        if d.shut_rd {
            return Err(ErrorCode::ShutDown);
        }
        if connected_form && max_len == 0 {
            let from = d
                .peer
                .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
            return Ok(datagram(family, Vec::new(), from, false));
        }
        let max = usize::try_from(max_len).unwrap_or(usize::MAX);
        if flags.contains(RecvFlags::PEEK) {
            if let Some(p) = d.queue.front() {
                let n = max.min(p.data.len());
                return Ok(datagram(
                    family,
                    p.data[..n].to_vec(),
                    p.from,
                    n < p.data.len(),
                ));
            }
        } else if let Some(mut p) = d.queue.pop_front() {
            let cost = p.data.len() as u64 + OVERHEAD;
            d.queued -= cost;
            self.release(cost);
            let truncated = p.data.len() > max;
            p.data.truncate(max);
            return Ok(datagram(family, p.data, p.from, truncated));
        }
        Err(self.cannot_wait(id, nonblocking, timeout, "recv", "send to it"))
    }

    /// `shutdown` of a datagram socket (it needs a default peer).
    pub fn shutdown_datagram(&mut self, id: Id, how: ShutdownHow) -> Result<(), ErrorCode> {
        let d = dgram_mut(self.get_mut(id));
        if d.peer.is_none() {
            return Err(ErrorCode::NotConnected);
        }
        if matches!(how, ShutdownHow::Receive | ShutdownHow::Both) {
            d.shut_rd = true;
        }
        if matches!(how, ShutdownHow::Send | ShutdownHow::Both) {
            d.shut_wr = true;
        }
        Ok(())
    }

    /// `join-multicast-group` (`join`) and `leave-multicast-group`.
    pub fn membership(
        &mut self,
        id: Id,
        group: IpAddress,
        interface: u32,
        join: bool,
    ) -> Result<(), ErrorCode> {
        let s = self.get_mut(id);
        if !matches!(s.kind, Kind::Datagram(_)) {
            return Err(ErrorCode::ProtocolOptionNotSupported);
        }
        let ip = wasock::addr::ip_to_std(group);
        let family_ok = matches!(
            (s.family, ip),
            (AddressFamily::Ipv4, IpAddr::V4(_)) | (AddressFamily::Ipv6, IpAddr::V6(_))
        );
        if !family_ok {
            return Err(ErrorCode::AddressFamilyNotSupported);
        }
        let ip = addr::canonical_ip(ip);
        if !addr::is_multicast(ip) || (interface != 0 && interface != LOOPBACK_INTERFACE) {
            return Err(ErrorCode::InvalidArgument);
        }
        let d = dgram_mut(s);
        let at = d.groups.iter().position(|g| *g == ip);
        match (join, at) {
            (true, Some(_)) => Err(ErrorCode::AddressInUse),
            (true, None) if d.groups.len() >= MAX_GROUPS => Err(ErrorCode::NoBufferSpace),
            (true, None) => {
                d.groups.push(ip);
                Ok(())
            }
            (false, Some(i)) => {
                d.groups.remove(i);
                Ok(())
            }
            (false, None) => Err(ErrorCode::AddressNotAvailable),
        }
    }

    /// `bytes-available` of a datagram socket: the next datagram's size.
    pub fn bytes_available_datagram(&self, id: Id) -> u64 {
        dgram(self.get(id))
            .queue
            .front()
            .map_or(0, |p| p.data.len() as u64)
    }

    /// `remote-address` of a datagram socket.
    pub fn remote_address_datagram(&self, id: Id) -> Result<SocketAddress, ErrorCode> {
        let s = self.get(id);
        dgram(s)
            .peer
            .map(|p| wasock::addr::from_std(addr::present(s.family, p)))
            .ok_or(ErrorCode::NotConnected)
    }

    /// What holds now for a datagram socket (before filtering by interest).
    pub fn datagram_readiness(&self, id: Id) -> Readiness {
        let s = self.get(id);
        let d = dgram(s);
        let mut r = Readiness::WRITABLE;
        if s.error.is_some() {
            r |= Readiness::ERROR | Readiness::READABLE;
        }
        if !d.queue.is_empty() || d.shut_rd {
            r |= Readiness::READABLE;
        }
        if d.shut_rd && d.shut_wr {
            r |= Readiness::HANG_UP;
        }
        r
    }
}

/// A received datagram as the application sees it.
fn datagram(family: AddressFamily, data: Vec<u8>, from: SocketAddr, truncated: bool) -> Datagram {
    Datagram {
        data,
        remote_address: wasock::addr::from_std(addr::present(family, from)),
        truncated,
    }
}
