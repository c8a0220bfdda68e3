//! Multicast: group membership of datagram sockets, and delivery of the
//! datagrams sent to a group.
//!
//! Every host has two interfaces: index 1 ([`LOOPBACK_INTERFACE`]) is its
//! loopback interface (`127.0.0.1`, `::1`) and index 2
//! ([`NETWORK_INTERFACE`]) its network interface, which carries all the
//! addresses given to [`Network::add_host`]. Index 0 lets the system choose,
//! which means the network interface.
//!
//! A datagram sent to group address `G:port` is delivered to every datagram
//! socket that is a member of `G` (on any interface) and bound to `port`
//! with the unspecified address or `G` itself. The sender's own host gets a
//! copy at once, as over loopback, if the sending socket's
//! `MulticastLoop` option is on (the default). Every other host with a
//! member of `G` gets its own copy across the link from the sender's host,
//! subject to that link's faults and partitions independently of the other
//! copies; hosts without a member of `G` get none (as behind a switch that
//! snoops IGMP/MLD). A datagram sent by the loopback interface (the
//! `MulticastInterface` option is 1, or the socket is bound to a loopback
//! address) stays on the sender's host. Sending to a group never fails for
//! want of a receiver. The multicast hop limit is kept but has no effect:
//! every host is one hop from every other.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use super::events::Datagram;
use super::network::Network;
use super::socket::{Socket, UdpState};
use super::{ErrorCode, Family, HostId, SockId, SocketType};

/// Index of every host's loopback interface (`127.0.0.1`, `::1`).
pub const LOOPBACK_INTERFACE: u32 = 1;

/// Index of every host's network interface, which carries the addresses
/// given to [`Network::add_host`]. Interface index 0 means this one.
pub const NETWORK_INTERFACE: u32 = 2;

impl Network {
    /// Make datagram socket `s` a member of multicast `group` on the
    /// interface with index `iface` ([`LOOPBACK_INTERFACE`],
    /// [`NETWORK_INTERFACE`], or 0 for the network interface), as
    /// `IP_ADD_MEMBERSHIP` / `IPV6_JOIN_GROUP` do. The socket need not be
    /// bound yet; it receives the group's datagrams once bound to their
    /// port (see the comment that opens `net/sim/core/multicast.rs`).
    ///
    /// Errors: `ProtocolOptionNotSupported` (stream socket),
    /// `AddressFamilyNotSupported` (group of the other family),
    /// `InvalidArgument` (not a multicast address, unknown socket),
    /// `AddressNotAvailable` (no interface with that index), `AddressInUse`
    /// (already a member of `group` on that interface).
    pub fn join_multicast(
        &mut self,
        s: SockId,
        group: IpAddr,
        iface: u32,
    ) -> Result<(), ErrorCode> {
        let u = self.membership(s, group)?;
        let iface = match iface {
            0 => NETWORK_INTERFACE,
            LOOPBACK_INTERFACE | NETWORK_INTERFACE => iface,
            _ => return Err(ErrorCode::AddressNotAvailable),
        };
        if u.groups.insert((group, iface)) {
            Ok(())
        } else {
            Err(ErrorCode::AddressInUse)
        }
    }

    /// End socket `s`'s membership of `group` on interface `iface`, as
    /// `IP_DROP_MEMBERSHIP` / `IPV6_LEAVE_GROUP` do. Index 0 ends the
    /// membership of `group` on whichever interface (the lowest index
    /// first).
    ///
    /// Errors: as [`Network::join_multicast`], except that not being a
    /// member (including of an unknown interface) is
    /// `AddressNotAvailable`.
    pub fn leave_multicast(
        &mut self,
        s: SockId,
        group: IpAddr,
        iface: u32,
    ) -> Result<(), ErrorCode> {
        let u = self.membership(s, group)?;
        let key = if iface == 0 {
            u.first_membership(group)
        } else {
            Some((group, iface)).filter(|k| u.groups.contains(k))
        };
        let key = key.ok_or(ErrorCode::AddressNotAvailable)?;
        u.groups.remove(&key);
        Ok(())
    }

    /// The argument checks shared by join and leave, in the runtime's
    /// order; then the datagram state holding `s`'s memberships.
    fn membership(&mut self, s: SockId, group: IpAddr) -> Result<&mut UdpState, ErrorCode> {
        let sock = self.sockets.get_mut(&s).ok_or(ErrorCode::InvalidArgument)?;
        if sock.ty() == SocketType::Stream {
            return Err(ErrorCode::ProtocolOptionNotSupported);
        }
        if group.is_ipv4() != (sock.family == Family::Ipv4) {
            return Err(ErrorCode::AddressFamilyNotSupported);
        }
        if !group.is_multicast() {
            return Err(ErrorCode::InvalidArgument);
        }
        sock.udp_mut().ok_or(ErrorCode::InvalidArgument)
    }

    /// Send one datagram from `s` to multicast address `to` (already
    /// checked for family, port, size and shutdown), binding `s`
    /// implicitly if unbound. The source address is the bound one if
    /// specific; else the loopback address when sending by the loopback
    /// interface, else the host's first address of the family
    /// (`NetworkUnreachable` without one).
    pub(crate) fn send_multicast(
        &mut self,
        s: SockId,
        data: &[u8],
        to: SocketAddr,
    ) -> Result<usize, ErrorCode> {
        let sock = self.sockets.get(&s).ok_or(ErrorCode::InvalidArgument)?;
        let (host, family) = (sock.host, sock.family);
        let (loop_, iface) = (sock.opts.multicast_loop, sock.opts.multicast_interface);
        let bound = sock
            .local
            .map(|l| l.ip())
            .filter(|ip| !ip.is_unspecified() && !ip.is_multicast());
        let loopback_only = iface == LOOPBACK_INTERFACE || bound.is_some_and(|ip| ip.is_loopback());
        let src_ip = match bound {
            Some(ip) => ip,
            None if loopback_only => loopback(family),
            None => self
                .hosts
                .get(host.0)
                .and_then(|h| {
                    h.addrs
                        .iter()
                        .find(|a| a.is_ipv4() == (family == Family::Ipv4))
                })
                .copied()
                .ok_or(ErrorCode::NetworkUnreachable)?,
        };
        let local = self.ensure_bound(s)?;
        let src = SocketAddr::new(src_ip, local.port());
        let members = self.member_hosts(to.ip());
        let payload: Arc<[u8]> = Arc::from(data);
        let wire = Self::wire_size(data.len() + 8);
        for to_host in members {
            let send = if to_host == host {
                loop_
            } else {
                !loopback_only
            };
            if !send {
                continue;
            }
            let desc = format!("udp {src} -> {to} (for {})", self.host_name(to_host));
            let fate = self.link_send(host, to_host, wire);
            let d = Datagram {
                from: s,
                from_host: host,
                to_host,
                src,
                dst: to,
                data: payload.clone(),
            };
            self.put_on_wire(&desc, fate, d);
        }
        Ok(data.len())
    }

    /// The hosts with a socket that is a member of `group`, in order.
    fn member_hosts(&self, group: IpAddr) -> Vec<HostId> {
        let mut hosts: Vec<HostId> = self
            .sockets
            .values()
            .filter(|x| is_member_of(x, group))
            .map(|x| x.host)
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }

    /// A multicast datagram arrives at host `d.to_host`: every member of
    /// the group bound to its port there gets it, in socket order. No
    /// error goes back to the sender when there is none.
    pub(crate) fn on_udp_multicast(&mut self, d: &Datagram) {
        let group = d.dst.ip();
        let mut targets: Vec<SockId> = self
            .ports
            .get(&(d.to_host, false, d.dst.port()))
            .map(|ids| {
                ids.iter()
                    .copied()
                    .filter(|id| {
                        self.sockets.get(id).is_some_and(|x| {
                            !x.orphan
                                && is_member_of(x, group)
                                && x.local.is_some_and(|l| {
                                    l.is_ipv4() == group.is_ipv4()
                                        && (l.ip().is_unspecified() || l.ip() == group)
                                })
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        targets.sort();
        if targets.is_empty() {
            if self.verbose {
                let text = format!("udp {} -> {} dropped (no member)", d.src, d.dst);
                self.event(d.to_host, text);
            }
            return;
        }
        for t in targets {
            self.deliver_udp(t, d);
        }
    }
}

/// Whether `sock` is a datagram socket that is a member of `group` on some
/// interface.
fn is_member_of(sock: &Socket, group: IpAddr) -> bool {
    sock.udp()
        .is_some_and(|u| u.first_membership(group).is_some())
}

/// The loopback address of `family`.
fn loopback(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}
