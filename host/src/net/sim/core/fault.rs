//! The faults a network event reports, as values: what a checker reads of
//! a partition or a crash without parsing the event's text.

use std::fmt;

/// A fault that a [`NetEvent`](super::NetEvent) reports. Its text is the
/// event's text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetFault {
    /// A partition began (`started`) or healed between the hosts named in
    /// `a` and in `b`. One way (`one_way`), it drops only what a host of
    /// `a` sends to a host of `b`.
    Partition {
        /// Whether it began (`false`: it healed).
        started: bool,
        /// One side's host names, in the order the hosts were added.
        a: Vec<String>,
        /// The other side's.
        b: Vec<String>,
        /// Whether only what `a` sends to `b` is dropped.
        one_way: bool,
    },
    /// The event's host went down in a crash (`up` false), or came back
    /// (`up` true).
    Host {
        /// Whether it came back.
        up: bool,
    },
}

impl fmt::Display for NetFault {
    /// `partition started: a | b c` (`->` for one way), `host down
    /// (crash)`, `host up (restart)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetFault::Partition {
                started,
                a,
                b,
                one_way,
            } => {
                let what = if *started { "started" } else { "healed" };
                let between = if *one_way { "->" } else { "|" };
                write!(
                    f,
                    "partition {what}: {} {between} {}",
                    a.join(" "),
                    b.join(" ")
                )
            }
            NetFault::Host { up: false } => f.write_str("host down (crash)"),
            NetFault::Host { up: true } => f.write_str("host up (restart)"),
        }
    }
}
