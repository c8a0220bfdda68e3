//! How grants are added to a policy, so that a denial can tell the user
//! what to do where they set the policy.

/// Where a policy's grants come from: what a denial's remedy asks the user
/// to change.
///
/// ```
/// use wasock_host::policy::Granting;
///
/// assert_eq!(
///     Granting::Flags.advice("tcp-connect=10.0.0.1:80"),
///     "to permit it, run with --allow tcp-connect=10.0.0.1:80"
/// );
/// let list = Granting::List("host \"client\"'s allow list in net.toml".into());
/// assert_eq!(
///     list.advice("udp-send=10.0.0.1:7"),
///     "to permit it, add \"udp-send=10.0.0.1:7\" to host \"client\"'s allow list in net.toml"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Granting {
    /// `--allow` flags on wasock's command line (beside any policy file).
    #[default]
    Flags,
    /// A list of rules the user keeps elsewhere, named for them (a
    /// simulated host's `allow` list in its scenario file).
    List(String),
    /// An embedder's code, with [`PolicyBuilder::allow`](super::PolicyBuilder::allow).
    Code,
}

impl Granting {
    /// What to do to grant `rule` (`OPERATION=TARGET`).
    pub fn advice(&self, rule: &str) -> String {
        match self {
            Granting::Flags => format!("to permit it, run with --allow {rule}"),
            Granting::List(list) => format!("to permit it, add \"{rule}\" to {list}"),
            Granting::Code => format!("to permit it, grant {rule} (PolicyBuilder::allow)"),
        }
    }
}
