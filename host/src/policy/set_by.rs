//! Where the user sets wasock's settings (grants and limits), so that a
//! denial or a limit that stopped a guest can say what to change there.

/// Where a policy's grants and an instance's limits are set: what a
/// denial's remedy, or the account of a limit that stopped a guest, asks
/// the user to change.
///
/// ```
/// use wasock_host::policy::SetBy;
///
/// assert_eq!(
///     SetBy::Flags.grant("tcp-connect=10.0.0.1:80"),
///     "to permit it, run with --allow tcp-connect=10.0.0.1:80"
/// );
/// let host = SetBy::Scenario { host: "client".into(), path: "net.toml".into() };
/// assert_eq!(
///     host.grant("udp-send=10.0.0.1:7"),
///     "to permit it, add \"udp-send=10.0.0.1:7\" to host \"client\"'s allow list in net.toml"
/// );
/// assert_eq!(host.raise("timeout"), "raise host \"client\"'s `timeout` in net.toml");
/// assert_eq!(
///     SetBy::Annotations("wasock.dev/".into()).raise("fuel"),
///     "raise it with the wasock.dev/fuel annotation"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetBy {
    /// wasock's command-line flags (`--allow`, `--timeout`, ...), beside
    /// any policy file.
    Flags,
    /// Annotations named as the flags are, under a prefix (the container
    /// shim's `wasock.dev/allow`, `wasock.dev/timeout`, ...).
    Annotations(String),
    /// A simulated host of a scenario file: its `allow` list and its keys.
    Scenario {
        /// The host's name.
        host: String,
        /// The scenario file.
        path: String,
    },
    /// An embedder's code: a [`Policy`](super::Policy) and the runtime's
    /// `Limits`. What a policy built in code says unless told otherwise.
    #[default]
    Code,
}

impl SetBy {
    /// What to do to grant `rule` (`OPERATION=TARGET`).
    pub fn grant(&self, rule: &str) -> String {
        match self {
            SetBy::Flags => format!("to permit it, run with --allow {rule}"),
            // Annotations hold rules separated by spaces, unquoted.
            SetBy::Annotations(prefix) => {
                format!("to permit it, add {rule} to the {prefix}allow annotation")
            }
            SetBy::Scenario { host, path } => {
                format!("to permit it, add \"{rule}\" to host {host:?}'s allow list in {path}")
            }
            SetBy::Code => format!("to permit it, add the grant {rule} to the policy"),
        }
    }

    /// What to do to raise the limit that the flag `--{flag}` sets
    /// (`timeout`, `fuel`, `max-memory`).
    pub fn raise(&self, flag: &str) -> String {
        match self {
            SetBy::Flags => format!("raise it with --{flag}"),
            SetBy::Annotations(prefix) => format!("raise it with the {prefix}{flag} annotation"),
            SetBy::Scenario { host, path } if SCENARIO_KEYS.contains(&flag) => {
                format!("raise host {host:?}'s `{flag}` in {path}")
            }
            SetBy::Scenario { .. } => format!("a scenario does not set a guest's {flag}"),
            SetBy::Code => format!(
                "raise it in the instance's Limits ({})",
                flag.replace('-', "_")
            ),
        }
    }
}

/// The limits a scenario's host sets, by the flag's name.
const SCENARIO_KEYS: &[&str] = &["timeout", "fuel"];
