//! Policy files: the same rules as the command line, in TOML.
//!
//! ```toml
//! # Rules use the syntax of --allow and --deny.
//! allow = [
//!     "tcp-bind=127.0.0.1:8080",
//!     "tcp-accept=10.0.0.0/8:*",
//! ]
//! deny = ["tcp-connect=169.254.0.0/16:*"]
//!
//! # Pinned answers for names, like --resolve NAME=IP[,IP].
//! [resolve]
//! "api.example.com" = ["192.0.2.10", "2001:db8::10"]
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;
use toml::Spanned;

use super::Policy;
use super::addr::normalize_name;
use super::rule::{Effect, Rule, RuleSource};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    #[serde(default)]
    resolve: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
}

/// A parsed policy file: its rules and its pinned names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyFile {
    /// The rules, each recorded with its file, line and column.
    pub policy: Policy,
    /// Names with the addresses they resolve to, bypassing the resolver.
    pub pinned: Vec<(String, Vec<IpAddr>)>,
}

/// One problem in a policy file, at a line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The line.
    pub line: usize,
    /// The column.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Every problem found in a policy file: nothing in it is used if there is
/// one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyFileError {
    /// The file's path, as given.
    pub path: String,
    /// The problems, in file order.
    pub errors: Vec<FileError>,
}

impl fmt::Display for PolicyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.path, e.line, e.column, e.message)?;
        }
        Ok(())
    }
}

/// Line and column (1-based, in characters) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

/// Parse the policy file `text` (read from `path`, which is only used in
/// messages). Every rule is checked; all problems are reported at once.
///
/// ```
/// use wasock_host::policy::{Operation, parse_policy_file};
///
/// let file = parse_policy_file("p.toml", "allow = [\"tcp-bind=127.0.0.1:*\"]\n")?;
/// assert!(file.policy.check_address(Operation::TcpBind, "127.0.0.1:80".parse()?, &[]).is_allowed());
///
/// let err = parse_policy_file("p.toml", "allow = [\n  \"tcp-bind=127.0.0.1:99999\",\n]\n").unwrap_err();
/// assert_eq!((err.errors[0].line, err.errors[0].column), (2, 23));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_policy_file(path: &str, text: &str) -> Result<PolicyFile, PolicyFileError> {
    let fail = |errors| PolicyFileError {
        path: path.to_string(),
        errors,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| position(text, s.start)).unwrap_or((1, 1));
        fail(vec![FileError {
            line,
            column,
            message: format!(
                "{}; expected `allow = [...]`, `deny = [...]` and an optional `[resolve]` table",
                e.message().trim_end()
            ),
        }])
    })?;

    let mut errors = Vec::new();
    let mut policy = Policy::deny_all();
    let rules = raw
        .allow
        .iter()
        .map(|r| (Effect::Allow, r))
        .chain(raw.deny.iter().map(|r| (Effect::Deny, r)));
    for (effect, spanned) in rules {
        // The string's text starts one character after its opening quote.
        let start = spanned.span().start + 1;
        let (line, column) = position(text, start);
        match Rule::parse(effect, spanned.get_ref()) {
            Ok(rule) => policy.push(rule.with_source(RuleSource::File {
                path: path.to_string(),
                line,
                column,
            })),
            Err(e) => errors.push(FileError {
                line,
                column: column + e.column - 1,
                message: e.to_string(),
            }),
        }
    }

    let mut pinned = Vec::new();
    for (name, ips) in &raw.resolve {
        let (line, column) = position(text, name.span().start);
        let Ok(normal) = normalize_name(name.get_ref()).map_err(|e| {
            errors.push(FileError {
                line,
                column,
                message: pin_refused(name.get_ref(), &e),
            })
        }) else {
            continue;
        };
        let mut addrs = Vec::new();
        for ip in ips {
            match ip.get_ref().parse::<IpAddr>() {
                Ok(a) => addrs.push(a),
                Err(_) => {
                    let (line, column) = position(text, ip.span().start + 1);
                    errors.push(FileError {
                        line,
                        column,
                        message: format!("`{}` is not an IP address", ip.get_ref()),
                    });
                }
            }
        }
        if ips.is_empty() {
            errors.push(FileError {
                line,
                column,
                message: format!(
                    "`{}` has no addresses: expected a list of IPs",
                    name.get_ref()
                ),
            });
        }
        pinned.push((normal, addrs));
    }
    errors.sort_by_key(|e| (e.line, e.column));
    if errors.is_empty() {
        Ok(PolicyFile { policy, pinned })
    } else {
        Err(fail(errors))
    }
}

/// Why `name` cannot be pinned (in a policy file's `[resolve]` or with
/// `--resolve`), as the user is told.
///
/// ```
/// use wasock_host::policy::{normalize_name, pin_refused};
///
/// let e = normalize_name("127.0.0.1").unwrap_err();
/// assert!(pin_refused("127.0.0.1", &e).ends_with("needs no pin"));
/// ```
pub fn pin_refused(name: &str, e: &super::NameError) -> String {
    let literal = super::ip_literal(name).is_some();
    let why = match e {
        _ if literal => "it is an IP address, not a name: a lookup of an address is answered with \
             the address itself, so it needs no pin"
            .to_string(),
        e => e.to_string(),
    };
    format!("`{name}` cannot be pinned: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_rule_is_reported_with_its_position() {
        let text = "allow = [\n    \"tcp-bind=127.0.0.1:*\",\n    \"tcp-bnd=1.2.3.4:5\",\n]\ndeny = [\"udp-send=::1:53\"]\n";
        let e = parse_policy_file("p.toml", text).unwrap_err();
        assert_eq!(e.errors.len(), 2, "{e}");
        assert_eq!((e.errors[0].line, e.errors[0].column), (3, 6));
        assert!(e.errors[0].message.contains("unknown operation"), "{e}");
        assert_eq!(e.errors[1].line, 5);
        assert!(e.errors[1].message.contains("brackets"), "{e}");
        assert!(e.to_string().starts_with("p.toml:3:6: "), "{e}");
    }

    #[test]
    fn syntax_errors_and_unknown_keys_have_positions() {
        let e = parse_policy_file("p.toml", "allow = [\"tcp-bind=*\"\n").unwrap_err();
        assert_eq!(e.errors.len(), 1);
        assert!(e.errors[0].line >= 1);
        let e = parse_policy_file("p.toml", "\nallw = []\n").unwrap_err();
        assert_eq!(e.errors[0].line, 2, "{e}");
        assert!(e.errors[0].message.contains("allw"), "{e}");
        let e = parse_policy_file("p.toml", "allow = \"tcp-bind=*\"\n").unwrap_err();
        assert_eq!(e.errors[0].line, 1, "{e}");
    }

    #[test]
    fn pinned_names_are_checked() {
        let text = "[resolve]\n\"API.example.com\" = [\"192.0.2.1\", \"2001:db8::1\"]\n\"2130706433\" = [\"1.2.3.4\"]\n\"x.test\" = [\"nope\"]\n\"127.0.0.1\" = [\"127.0.0.1\"]\n";
        let e = parse_policy_file("p.toml", text).unwrap_err();
        let messages: Vec<_> = e.errors.iter().map(|e| e.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("four numbers from 0 to 255")),
            "{e}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`nope` is not an IP address")),
            "{e}"
        );
        assert!(
            messages.iter().any(
                |m| m.contains("`127.0.0.1` cannot be pinned: it is an IP address, not a name")
            ),
            "{e}"
        );
        let ok = parse_policy_file(
            "p.toml",
            "[resolve]\n\"API.example.com\" = [\"192.0.2.1\"]\n",
        )
        .unwrap();
        assert_eq!(
            ok.pinned,
            vec![(
                "api.example.com".to_string(),
                vec!["192.0.2.1".parse().unwrap()]
            )]
        );
    }

    #[test]
    fn rules_remember_where_they_came_from() {
        let f = parse_policy_file("p.toml", "deny = [\n  \"tcp-connect=*\"]\n").unwrap();
        assert_eq!(
            f.policy.rules()[0].to_string(),
            "deny rule `tcp-connect=*` at p.toml:2:4"
        );
    }
}
