//! Decisions and their explanations.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::operation::Operation;
use super::rule::Rule;
use super::set_by::SetBy;

/// What a decision was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A socket address (as the guest gave it, before normalisation), with
    /// the names the instance resolved to it.
    Address {
        /// The address.
        addr: SocketAddr,
        /// Host names this instance resolved to the address.
        names: Vec<String>,
    },
    /// A host name to resolve.
    Name(String),
    /// A host name and port, decided by the name alone (rules on addresses
    /// are checked again once the name's addresses are known).
    Named {
        /// The name.
        name: String,
        /// The port.
        port: u16,
    },
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Address { addr, names } if names.is_empty() => write!(f, "{addr}"),
            Subject::Address { addr, names } => write!(f, "{addr} ({})", names.join(", ")),
            Subject::Name(n) => f.write_str(n),
            Subject::Named { name, port } => write!(f, "{name}:{port}"),
        }
    }
}

/// Why the policy decided as it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// This grant matched and no refusal did.
    Granted(Arc<Rule>),
    /// This refusal matched; refusals always win.
    Refused(Arc<Rule>),
    /// No grant matches (deny by default).
    NoGrant,
    /// Resolving an IP address: it is its own answer, and needs no grant.
    Literal,
}

/// The outcome of one policy check, with what decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The operation checked.
    pub operation: Operation,
    /// What it was checked on.
    pub subject: Subject,
    /// Why.
    pub reason: Reason,
}

impl Decision {
    /// The decision on resolving `ip`, which any policy allows: an
    /// address is its own answer.
    ///
    /// ```
    /// let d = wasock_host::policy::Decision::literal("127.0.0.1".parse().unwrap());
    /// assert!(d.is_allowed());
    /// ```
    pub fn literal(ip: IpAddr) -> Decision {
        Decision {
            operation: Operation::Resolve,
            subject: Subject::Name(ip.to_string()),
            reason: Reason::Literal,
        }
    }

    /// Whether the operation may go ahead.
    pub fn is_allowed(&self) -> bool {
        matches!(self.reason, Reason::Granted(_) | Reason::Literal)
    }

    /// The rule that decided, if one did.
    pub fn rule(&self) -> Option<&Rule> {
        match &self.reason {
            Reason::Granted(r) | Reason::Refused(r) => Some(r),
            Reason::NoGrant | Reason::Literal => None,
        }
    }

    /// For a denial, what the user can do about it: the `--allow` rule that
    /// would grant exactly this, or the refusal to remove.
    pub fn remedy(&self) -> Option<String> {
        self.remedy_by(&SetBy::Flags)
    }

    /// [`Decision::remedy`] for a policy whose grants are set as `set_by`
    /// says.
    pub fn remedy_by(&self, set_by: &SetBy) -> Option<String> {
        match &self.reason {
            Reason::Granted(_) | Reason::Literal => None,
            Reason::Refused(rule) => Some(format!("remove or narrow {rule}")),
            Reason::NoGrant => {
                let mut remedy =
                    set_by.grant(&format!("{}={}", self.operation, self.suggested_target()));
                // A datagram sent to a port the system hands out for
                // outgoing sockets is most likely an answer to a client:
                // the next client will have another.
                // (Not when the main suggestion is a name's: the guest
                // sends to that name's service.)
                if let Subject::Address { addr, names } = &self.subject
                    && names.is_empty()
                    && self.operation == Operation::UdpSend
                    && addr.port() >= EPHEMERAL_PORTS_START
                {
                    remedy.push_str(&format!(
                        " (or udp-send={}:* to answer clients, whose ports are ephemeral)",
                        host_of(*addr)
                    ));
                }
                Some(remedy)
            }
        }
    }

    /// The narrowest target that grants this subject.
    fn suggested_target(&self) -> String {
        match &self.subject {
            Subject::Name(n) => n.clone(),
            Subject::Named { name, port } => format!("{name}:{port}"),
            Subject::Address { addr, names } => {
                // A peer's port is its own ephemeral choice: a rule naming
                // it would not let the next connection in.
                let port = if self.operation.is_peer_filter() {
                    "*".to_string()
                } else {
                    addr.port().to_string()
                };
                if let Some(name) = names.first().filter(|_| !self.operation.is_local()) {
                    return format!("{name}:{port}");
                }
                format!("{}:{port}", host_of(*addr))
            }
        }
    }
}

/// The first port of Linux's default range for outgoing sockets
/// (`net.ipv4.ip_local_port_range`, 32768 to 60999).
const EPHEMERAL_PORTS_START: u16 = 32768;

/// `addr`'s host as a rule writes it: IPv4 (an IPv4-mapped address as the
/// IPv4 address it carries), or IPv6 in brackets with any scope.
fn host_of(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) if a.scope_id() != 0 => format!("[{}%{}]", a.ip(), a.scope_id()),
        SocketAddr::V6(a) => match super::addr::canonical_ip(IpAddr::V6(*a.ip())) {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        },
    }
}

impl Decision {
    /// The decision in one line, its remedy for a policy whose grants are
    /// set as `set_by` says (as [`Decision`]'s `Display`, which assumes
    /// flags).
    pub fn shown_by<'a>(&'a self, set_by: &'a SetBy) -> impl fmt::Display + 'a {
        Shown {
            decision: self,
            set_by,
        }
    }
}

impl fmt::Display for Decision {
    /// One line: `allowed` or `denied`, the operation and subject, and what
    /// decided, e.g. `denied tcp-bind 0.0.0.0:80: no rule grants it; to
    /// permit it, run with --allow tcp-bind=0.0.0.0:80`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shown_by(&SetBy::Flags).fmt(f)
    }
}

/// A decision shown with the remedy its policy's [`SetBy`] calls for.
struct Shown<'a> {
    decision: &'a Decision,
    set_by: &'a SetBy,
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let this = self.decision;
        let verdict = if this.is_allowed() {
            "allowed"
        } else {
            "denied"
        };
        write!(f, "{verdict} {} {}", this.operation, this.subject)?;
        match &this.reason {
            Reason::Granted(rule) => write!(f, " by {rule}"),
            Reason::Literal => f.write_str(": an IP address is its own answer; no grant is needed"),
            Reason::Refused(rule) => write!(f, " by {rule}; refusals win over grants"),
            Reason::NoGrant => {
                f.write_str(": no rule grants it")?;
                if let Subject::Address { addr, .. } = &this.subject
                    && super::addr::canonical_ip(addr.ip()).is_unspecified()
                {
                    f.write_str(
                        " (the unspecified address is granted only by a rule that names it)",
                    )?;
                }
                Ok(())
            }
        }?;
        if let Some(remedy) = this.remedy_by(self.set_by) {
            write!(f, "; {remedy}")?;
        }
        Ok(())
    }
}
