//! A deterministic, sans-IO simulated Internet.
//!
//! [`Network`] holds the whole simulated world: hosts, their addresses and
//! sockets, the links between hosts with their fault models, partitions and
//! a name table. Nothing happens on its own: every operation takes effect at
//! the network's virtual time [`Network::now`], and time only moves when the
//! caller says so with [`Network::advance_to`] (typically to
//! [`Network::next_deadline`]). Given the same seed and the same sequence of
//! calls, every result and every transcript event is the same: there is no
//! wall clock, no thread, no unordered iteration and no randomness other
//! than a seeded generator with one independent stream per directed link.
//!
//! Datagrams are subject to the link's faults (loss, duplication,
//! reordering, partitions). Streams run a small reliable protocol over the
//! same faulty links: segments of at most [`MSS`] bytes, retransmission on
//! loss with exponential backoff, in-order delivery with head-of-line
//! blocking, duplicate suppression and flow control bounded by the socket
//! buffers. Acknowledgements are implicit: a segment is acknowledged the
//! moment it is delivered in order, and window updates reach the sender at
//! once.
//!
//! Every host has two interfaces: index 1 is loopback, index 2 its network
//! interface carrying all its addresses ([`LOOPBACK_INTERFACE`],
//! [`NETWORK_INTERFACE`]). Datagram sockets can join multicast groups; a
//! datagram sent to a group reaches the members on the sender's host and,
//! across the links, on the other hosts (see [`Network::join_multicast`]).
//! The name `localhost` resolves to the loopback addresses on every host.

pub(crate) use crate::net::{error::ErrorCode, types::*};

mod config;
mod events;
mod fault;
mod keepalive;
mod multicast;
mod network;
mod rng;
mod socket;
mod sockets;
mod tcp;
mod tcp_wire;
mod udp;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_multicast;
#[cfg(test)]
mod tests_tcp;
#[cfg(test)]
mod tests_transfer;

pub use config::{CONNECT_TIMEOUT, DATA_TIMEOUT, DEFAULT_BUFFER, EPHEMERAL_START, LinkConfig, MSS};
pub use fault::NetFault;
pub use multicast::{LOOPBACK_INTERFACE, NETWORK_INTERFACE};
pub use network::Network;

use std::time::Duration;

/// A host of the simulated network, as returned by [`Network::add_host`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub usize);

/// A socket of the simulated network, as returned by [`Network::open`] and
/// [`Network::accept`]. Ids are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SockId(pub u64);

/// One line of the network's transcript: something noteworthy that happened
/// at virtual time `at` on `host` (`"*"` for network-wide events such as
/// partitions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetEvent {
    /// Virtual time of the event.
    pub at: Duration,
    /// Name of the host it happened on, or `"*"`.
    pub host: String,
    /// What happened, short and stable (e.g. `tcp 10.0.0.1:49152 -> 10.0.0.2:80 connect`).
    pub text: String,
    /// The fault it reports, if it is one (a partition beginning or
    /// healing, a host going down or coming back), whose text is `text`.
    pub fault: Option<NetFault>,
}
