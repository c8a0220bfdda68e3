//! Rules: `OPERATION=TARGET`, granted with `--allow` or refused with
//! `--deny`.

use std::fmt;

use super::error::RuleError;
use super::operation::{OPERATIONS, Operation};
use super::pattern::{HostPattern, PortRange, parse_address_target, parse_host};

/// Whether a rule grants or refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// A grant (`--allow`).
    Allow,
    /// A refusal (`--deny`); refusals always win over grants.
    Deny,
}

impl Effect {
    /// The command-line flag for this effect: `--allow` or `--deny`.
    pub fn flag(self) -> &'static str {
        match self {
            Effect::Allow => "--allow",
            Effect::Deny => "--deny",
        }
    }
}

/// Where a rule came from, for explanations and error messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleSource {
    /// A `--allow` or `--deny` flag.
    CommandLine,
    /// A policy file, at a line and column (1-based).
    File {
        /// The file's path as given.
        path: String,
        /// The line of the rule's text.
        line: usize,
        /// The column of the rule's text.
        column: usize,
    },
    /// Added by an embedder in code.
    Code,
}

/// One parsed rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Grant or refusal.
    pub effect: Effect,
    /// The operation it applies to.
    pub operation: Operation,
    /// The hosts it matches.
    pub host: HostPattern,
    /// The ports it matches (every port for `resolve`, which has none).
    pub ports: PortRange,
    /// The rule as written, e.g. `tcp-bind=127.0.0.1:*`.
    pub text: String,
    /// Where it came from.
    pub source: RuleSource,
}

/// What a rule of Deno's `--allow-net` shape is told.
fn not_deno() -> String {
    format!(
        "`net` is not an operation: wasock grants each operation on its own ({OPERATIONS}); \
         Deno's --allow-net=HOST is about `--allow tcp-connect=HOST:*`, with `--allow \
         resolve=HOST` for a name"
    )
}

impl Rule {
    /// Parse `OPERATION=TARGET`.
    ///
    /// ```
    /// use wasock_host::policy::{Effect, Operation, Rule};
    ///
    /// let rule = Rule::parse(Effect::Allow, "tcp-connect=[::1]:8000-8100").unwrap();
    /// assert_eq!(rule.operation, Operation::TcpConnect);
    /// assert!(Rule::parse(Effect::Allow, "tcp-connect=::1:80").is_err());
    /// ```
    pub fn parse(effect: Effect, text: &str) -> Result<Rule, RuleError> {
        let Some((op_text, target)) = text.split_once('=') else {
            if text.trim() == "net" {
                return Err(RuleError::at(text, 0, not_deno()));
            }
            if parse_address_target(text.trim()).is_ok() {
                return Err(RuleError::at(
                    text,
                    0,
                    format!(
                        "`{text}` names no operation: write OPERATION=TARGET, e.g. \
                         `tcp-connect={text}` (operations: {})",
                        OPERATIONS
                    ),
                ));
            }
            // Where the `=` belongs: after the operation's name.
            let at = text
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(text.len());
            return Err(RuleError::at(
                text,
                at,
                "expected `OPERATION=TARGET`, e.g. `tcp-connect=127.0.0.1:8080`",
            ));
        };
        let operation: Operation =
            op_text
                .trim()
                .parse()
                .map_err(|e: super::operation::UnknownOperation| {
                    if op_text.trim() == "net" {
                        RuleError::at(text, 0, not_deno())
                    } else {
                        RuleError::at(text, 0, e.to_string())
                    }
                })?;
        let target_offset = op_text.len() + 1;
        let target = target.trim();
        if let Some(at) = target.find([',', ';', ' ']) {
            let several = target[at + 1..].contains('=');
            return Err(RuleError::at(
                text,
                target_offset + at,
                if several {
                    "one rule at a time: repeat --allow or --deny for each rule (or write one per \
                     line in a policy file)"
                } else {
                    "a target is one host (an address, a network, a name or `*`) with one port \
                     range: write a rule for each"
                },
            ));
        }
        if let Some((scheme, rest)) = target.split_once("://") {
            // The URL's host and port, or its scheme's port.
            let authority = rest.split('/').next().unwrap_or("");
            let host_port = match authority.rsplit_once(':') {
                Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() => authority.to_string(),
                _ => {
                    let port = match scheme {
                        "http" | "ws" => "80",
                        "https" | "wss" => "443",
                        _ => "PORT",
                    };
                    format!(
                        "{}:{port}",
                        if authority.is_empty() {
                            "HOST"
                        } else {
                            authority
                        }
                    )
                }
            };
            return Err(RuleError::at(
                text,
                target_offset,
                format!("a URL is not a target: write HOST:PORT, e.g. `{operation}={host_port}`"),
            ));
        }
        let (host, ports) = if operation.takes_address() {
            parse_address_target(target)
                .map_err(|e| RuleError::at(text, target_offset + e.offset, e.message))?
        } else {
            let host = parse_host(target)
                .map_err(|e| RuleError::at(text, target_offset + e.offset, e.message))?;
            if !matches!(
                host,
                HostPattern::Any | HostPattern::Name(_) | HostPattern::Suffix(_)
            ) {
                return Err(RuleError::at(
                    text,
                    target_offset,
                    "expected a host name, `*.suffix` or `*`: IP literals resolve to themselves without a grant",
                ));
            }
            (host, PortRange::ANY)
        };
        Ok(Rule {
            effect,
            operation,
            host,
            ports,
            text: text.to_string(),
            source: RuleSource::CommandLine,
        })
    }

    /// The same rule, recorded as coming from `source`.
    pub fn with_source(mut self, source: RuleSource) -> Rule {
        self.source = source;
        self
    }
}

impl fmt::Display for Rule {
    /// Shows the rule the way a user would write it, and where it came from
    /// if not the command line: `--allow tcp-bind=127.0.0.1:*` or
    /// `deny rule `udp-send=*` at policy.toml:3:9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            RuleSource::CommandLine => write!(f, "{} {}", self.effect.flag(), self.text),
            RuleSource::Code => write!(
                f,
                "{} {} (set by the embedder)",
                self.effect.flag(),
                self.text
            ),
            RuleSource::File { path, line, column } => {
                let word = match self.effect {
                    Effect::Allow => "allow",
                    Effect::Deny => "deny",
                };
                write!(f, "{word} rule `{}` at {path}:{line}:{column}", self.text)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> RuleError {
        Rule::parse(Effect::Allow, text).unwrap_err()
    }

    #[test]
    fn errors_name_the_rule_the_column_and_what_was_expected() {
        let e = err("tcp-bnd=127.0.0.1:80");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("unknown operation `tcp-bnd`"), "{e}");
        assert!(e.message.contains("tcp-bind"), "{e}");

        let e = err("tcp-bind=127.0.0.1:99999");
        assert_eq!(e.rule, "tcp-bind=127.0.0.1:99999");
        assert_eq!(e.column, 20);
        assert!(e.message.contains("out of range"), "{e}");

        let e = err("tcp-bind=127.0.0.1");
        assert!(e.message.contains("expected `:`"), "{e}");
        assert!(err("tcp-bind").message.contains("OPERATION=TARGET"));
        assert!(
            err("127.0.0.1:8080")
                .message
                .starts_with("`127.0.0.1:8080` names no operation: write OPERATION=TARGET, e.g. `tcp-connect=127.0.0.1:8080`")
        );
        for deno in ["net", "net=example.com"] {
            assert!(
                err(deno).message.contains("--allow tcp-connect=HOST:*"),
                "{deno}"
            );
        }
        assert!(
            err("tcp-bind=127.0.0.1:*,tcp-accept=127.0.0.1:*")
                .message
                .starts_with("one rule at a time: repeat --allow or --deny for each rule")
        );
        assert_eq!(err("tcp-bind=127.0.0.1:*;udp-bind=[::1]:*").column, 21);
        assert!(
            err("tcp-connect=10.0.0.1:80,10.0.0.2:80")
                .message
                .starts_with("a target is one host")
        );
        assert_eq!(
            err("tcp-connect=http://localhost:8080/x").message,
            "a URL is not a target: write HOST:PORT, e.g. `tcp-connect=localhost:8080`"
        );
        assert_eq!(
            err("tcp-connect=https://example.test").message,
            "a URL is not a target: write HOST:PORT, e.g. `tcp-connect=example.test:443`"
        );
        assert!(err("resolve=10.0.0.1").message.contains("IP literals"));
        assert!(
            err("resolve=example.com:80")
                .message
                .contains("not allowed")
        );
        assert!(
            err("tcp-connect=2130706433:80")
                .message
                .contains("four numbers from 0 to 255")
        );
        assert!(
            err("tcp-connect=10.0.0.300:80")
                .message
                .contains("four numbers from 0 to 255")
        );
    }

    #[test]
    fn display_shows_the_flag() {
        let r = Rule::parse(Effect::Deny, "udp-send=*").unwrap();
        assert_eq!(r.to_string(), "--deny udp-send=*");
        let r = r.with_source(RuleSource::File {
            path: "p.toml".into(),
            line: 3,
            column: 9,
        });
        assert_eq!(r.to_string(), "deny rule `udp-send=*` at p.toml:3:9");
    }
}
