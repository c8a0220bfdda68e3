//! Capability rules: parse, match, explain.
//!
//! Deny by default. A rule is `OPERATION=TARGET`; grants come from
//! `--allow`, refusals from `--deny`, and a refusal always wins. Every
//! check returns a [`Decision`] that says which rule decided it.
//!
//! This module does no I/O and depends on nothing else in wasock, nor on
//! wasmtime or tokio: it can be reasoned about, tested and fuzzed alone.
//!
//! ```
//! use wasock_host::policy::{Operation, Policy};
//!
//! let policy = Policy::builder()
//!     .allow("tcp-connect=10.0.0.0/8:443")?
//!     .deny("tcp-connect=10.0.0.13:*")?
//!     .build();
//!
//! let ok = policy.check_address(Operation::TcpConnect, "10.1.2.3:443".parse()?, &[]);
//! assert!(ok.is_allowed());
//!
//! // The IPv4-mapped spelling of a refused address is refused too.
//! let mapped = policy.check_address(Operation::TcpConnect, "[::ffff:10.0.0.13]:443".parse()?, &[]);
//! assert!(!mapped.is_allowed());
//! assert_eq!(mapped.rule().unwrap().text, "tcp-connect=10.0.0.13:*");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod addr;
mod decision;
mod error;
mod file;
mod operation;
mod pattern;
mod rule;
mod set_by;

use std::net::SocketAddr;
use std::sync::Arc;

pub use addr::{
    NameError, canonical_ip, ip_literal, is_numeric_ipv4_spelling, no_destination, normalize_name,
};
pub use decision::{Decision, Reason, Subject};
pub use error::RuleError;
pub use file::{FileError, PolicyFile, PolicyFileError, parse_policy_file, pin_refused};
pub use operation::{Operation, UnknownOperation};
pub use pattern::{HostPattern, PortRange, ScopeMatch};
pub use rule::{Effect, Rule, RuleSource};
pub use set_by::SetBy;

/// A set of rules. Empty, it denies everything.
///
/// Each rule is shared with the decisions it makes, so that a check (the
/// runtime makes one per accepted connection and per datagram sent with
/// `send-to`) does not copy the rule that decided it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    rules: Vec<Arc<Rule>>,
    set_by: SetBy,
}

impl Policy {
    /// A policy with no rules: every operation is denied.
    pub fn deny_all() -> Policy {
        Policy::default()
    }

    /// Start building a policy.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// The rules, in the order they were added.
    pub fn rules(&self) -> &[Arc<Rule>] {
        &self.rules
    }

    /// Where the user sets this policy's grants (and the limits of the
    /// instances it governs): what a denial, or a limit that stopped a
    /// guest, tells them to change ([`SetBy::Code`] unless set).
    pub fn set_by(&self) -> &SetBy {
        &self.set_by
    }

    /// Say where the user sets this policy's grants and limits.
    pub fn set_set_by(&mut self, set_by: SetBy) {
        self.set_by = set_by;
    }

    /// Add a parsed rule.
    pub fn push(&mut self, rule: Rule) {
        self.rules.push(Arc::new(rule));
    }

    /// Whether any grant for `operation` refers to hosts by name; the
    /// runtime then remembers which names resolved to which addresses.
    pub fn has_name_grants(&self, operation: Operation) -> bool {
        self.rules
            .iter()
            .any(|r| r.operation == operation && r.host.is_name())
    }

    /// Decide whether `operation` may use `addr`. `names` are the
    /// normalised host names this instance resolved to `addr` (empty if it
    /// used the address directly); grants by name match through them, and
    /// refusals are checked against both the names and the address itself.
    ///
    /// The address is matched in canonical form: an IPv4-mapped or
    /// IPv4-compatible IPv6 address matches as the IPv4 address it carries.
    pub fn check_address(
        &self,
        operation: Operation,
        addr: SocketAddr,
        names: &[String],
    ) -> Decision {
        let ip = canonical_ip(addr.ip());
        let scope = match addr {
            SocketAddr::V6(a) => a.scope_id(),
            SocketAddr::V4(_) => 0,
        };
        let matching = |rule: &&Rule, grant: bool| {
            rule.operation == operation
                && rule.ports.contains(addr.port())
                && rule.host.matches_addr(ip, scope, names, grant)
        };
        let reason = self.decide(|r| matching(&r, false), |r| matching(&r, true));
        Decision {
            operation,
            subject: Subject::Address {
                addr,
                names: names.to_vec(),
            },
            reason,
        }
    }

    /// Decide whether the host name `name` may be resolved. The name should
    /// be normalised with [`normalize_name`] first.
    ///
    /// A grant by name for an address operation (`tcp-connect=api.example.com:443`)
    /// also grants resolving that name: the guest needs its addresses to use
    /// the grant.
    pub fn check_name(&self, name: &str) -> Decision {
        let refuses =
            |rule: &Rule| rule.operation == Operation::Resolve && rule.host.matches_name(name);
        let grants = |rule: &Rule| {
            rule.host.matches_name(name)
                && (rule.operation == Operation::Resolve
                    || (rule.operation.takes_address() && rule.host.is_name()))
        };
        let reason = self.decide(refuses, grants);
        Decision {
            operation: Operation::Resolve,
            subject: Subject::Name(name.to_string()),
            reason,
        }
    }

    /// Decide `operation` on `name:port` by the rules that can be matched
    /// without an address (names, `*.suffix`, `*`). At run time the same
    /// name is decided on each address it resolves to, where refusals by
    /// address apply as well.
    pub fn check_named(&self, operation: Operation, name: &str, port: u16) -> Decision {
        let matching = |rule: &Rule| {
            rule.operation == operation
                && rule.ports.contains(port)
                && (rule.host == HostPattern::Any || rule.host.matches_name(name))
        };
        let reason = self.decide(matching, matching);
        Decision {
            operation,
            subject: Subject::Named {
                name: name.to_string(),
                port,
            },
            reason,
        }
    }

    fn decide(&self, refuses: impl Fn(&Rule) -> bool, grants: impl Fn(&Rule) -> bool) -> Reason {
        if let Some(rule) = self
            .rules
            .iter()
            .find(|r| r.effect == Effect::Deny && refuses(r))
        {
            return Reason::Refused(Arc::clone(rule));
        }
        match self
            .rules
            .iter()
            .find(|r| r.effect == Effect::Allow && grants(r))
        {
            Some(rule) => Reason::Granted(Arc::clone(rule)),
            None => Reason::NoGrant,
        }
    }
}

/// Builds a [`Policy`] from rules written as text.
#[derive(Debug, Default)]
pub struct PolicyBuilder {
    policy: Policy,
}

impl PolicyBuilder {
    /// Add a grant, e.g. `tcp-bind=127.0.0.1:*`.
    pub fn allow(mut self, rule: &str) -> Result<Self, RuleError> {
        self.policy
            .push(Rule::parse(Effect::Allow, rule)?.with_source(RuleSource::Code));
        Ok(self)
    }

    /// Add a refusal, e.g. `tcp-connect=169.254.0.0/16:*`.
    pub fn deny(mut self, rule: &str) -> Result<Self, RuleError> {
        self.policy
            .push(Rule::parse(Effect::Deny, rule)?.with_source(RuleSource::Code));
        Ok(self)
    }

    /// Add a parsed rule.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.policy.push(rule);
        self
    }

    /// Say where the user sets the grants and limits (what denials and
    /// stopped guests advise changing); [`SetBy::Code`] unless set.
    ///
    /// ```
    /// use wasock_host::policy::{Policy, SetBy};
    ///
    /// let p = Policy::builder().set_by(SetBy::Flags).build();
    /// assert_eq!(p.set_by(), &SetBy::Flags);
    /// ```
    pub fn set_by(mut self, set_by: SetBy) -> Self {
        self.policy.set_set_by(set_by);
        self
    }

    /// The policy. Its denials advise granting in code ([`SetBy::Code`]);
    /// say otherwise with [`PolicyBuilder::set_by`].
    pub fn build(self) -> Policy {
        self.policy
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
