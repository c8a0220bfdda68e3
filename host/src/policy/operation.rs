//! The operations a rule can grant or deny.

use std::fmt;
use std::str::FromStr;

/// An operation on the network that the policy decides on.
///
/// Each is checked against the address actually used, before the network is
/// touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Binding a stream socket to a local address; also covers `listen`,
    /// including its implicit bind.
    TcpBind,
    /// Connecting a stream socket to a remote address; also covers the
    /// implicit bind that connect does on an unbound socket.
    TcpConnect,
    /// Which peers may connect in: a connection accepted from a peer no
    /// grant allows is closed before the guest sees it.
    TcpAccept,
    /// Binding a datagram socket to a local address (and joining a
    /// multicast group).
    UdpBind,
    /// Sending datagrams to a remote address, or connecting a datagram
    /// socket to it; also covers the implicit bind of an unbound socket.
    UdpSend,
    /// Which peers' datagrams are delivered: others are discarded before the
    /// guest sees them.
    UdpRecv,
    /// Resolving a host name.
    Resolve,
}

impl Operation {
    /// Every operation, in the order they are documented.
    pub const ALL: [Operation; 7] = [
        Operation::TcpBind,
        Operation::TcpConnect,
        Operation::TcpAccept,
        Operation::UdpBind,
        Operation::UdpSend,
        Operation::UdpRecv,
        Operation::Resolve,
    ];

    /// The operation's name as written in rules, e.g. `tcp-bind`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::TcpBind => "tcp-bind",
            Operation::TcpConnect => "tcp-connect",
            Operation::TcpAccept => "tcp-accept",
            Operation::UdpBind => "udp-bind",
            Operation::UdpSend => "udp-send",
            Operation::UdpRecv => "udp-recv",
            Operation::Resolve => "resolve",
        }
    }

    /// Whether the operation's target is a socket address (host and port)
    /// rather than a host name.
    pub fn takes_address(self) -> bool {
        self != Operation::Resolve
    }

    /// Whether the operation is about the local side (a bind) rather than a
    /// peer.
    pub fn is_local(self) -> bool {
        matches!(self, Operation::TcpBind | Operation::UdpBind)
    }

    /// Whether the operation filters peers that come to the guest
    /// (`tcp-accept`, `udp-recv`), whose ports are the peers' own,
    /// usually ephemeral, choice.
    pub fn is_peer_filter(self) -> bool {
        matches!(self, Operation::TcpAccept | Operation::UdpRecv)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every operation's name, as rules and messages list them.
pub(crate) const OPERATIONS: &str =
    "tcp-bind, tcp-connect, tcp-accept, udp-bind, udp-send, udp-recv, resolve";

/// The error for an unknown operation name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown operation `{0}`: expected one of {OPERATIONS}")]
pub struct UnknownOperation(pub String);

impl FromStr for Operation {
    type Err = UnknownOperation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .into_iter()
            .find(|op| op.name() == s)
            .ok_or_else(|| UnknownOperation(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listed_names_are_every_operation() {
        let names: Vec<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
        assert_eq!(OPERATIONS, names.join(", "));
    }

    #[test]
    fn names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(op.name().parse::<Operation>(), Ok(op));
        }
        assert!("tcp_bind".parse::<Operation>().is_err());
        assert!("TCP-BIND".parse::<Operation>().is_err());
    }
}
