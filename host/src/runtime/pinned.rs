//! Names pinned to addresses by the embedder (`--resolve NAME=IP`, as
//! curl's): answered before the provider's resolver is asked.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::policy::{NameError, normalize_name};

/// Where a guest's names come from before the provider's resolver is
/// asked: answers pinned by the embedder, keyed by the name as lookups see
/// it (lowercase, without a trailing dot, IDNA names in their `xn--`
/// form), so `App.Test.` pins what a guest's `app.test` asks for.
///
/// ```
/// use wasock_host::runtime::PinnedNames;
///
/// let mut pinned = PinnedNames::new();
/// pinned.pin("App.Test.", ["127.0.0.1".parse().unwrap()])?;
/// assert_eq!(pinned.get("app.test").unwrap().len(), 1);
/// assert!(pinned.pin("127.0.0.1", []).is_err()); // an address is no name
/// # Ok::<(), wasock_host::policy::NameError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinnedNames(HashMap<String, Vec<IpAddr>>);

impl PinnedNames {
    /// No names pinned.
    pub fn new() -> PinnedNames {
        PinnedNames::default()
    }

    /// Pin `name` to `addrs` (replacing an earlier pin of it); a lookup of
    /// the name answers them in order, and an empty list answers
    /// `name-unresolvable`. Fails, pinning nothing, when `name` is not a
    /// host name (an IP address, a numeric IPv4 spelling, a bad label or
    /// character): the error says which.
    pub fn pin(
        &mut self,
        name: &str,
        addrs: impl IntoIterator<Item = IpAddr>,
    ) -> Result<(), NameError> {
        let name = normalize_name(name)?;
        self.0.insert(name, addrs.into_iter().collect());
        Ok(())
    }

    /// The addresses `name` is pinned to, if it is (`name` in any spelling
    /// [`PinnedNames::pin`] takes).
    pub fn get(&self, name: &str) -> Option<&[IpAddr]> {
        match self.0.get(name) {
            Some(ips) => Some(ips),
            None => self.0.get(&normalize_name(name).ok()?).map(Vec::as_slice),
        }
    }

    /// Every pinned name (normalized) and its addresses, in no order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[IpAddr])> {
        self.0.iter().map(|(n, ips)| (n.as_str(), ips.as_slice()))
    }

    /// How many names are pinned.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no name is pinned.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::PinnedNames;
    use crate::policy::NameError;
    use std::net::IpAddr;

    #[test]
    fn every_spelling_of_a_name_finds_its_pin() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let mut pinned = PinnedNames::new();
        pinned.pin("App.Test.", [ip]).unwrap();
        for spelling in ["app.test", "APP.TEST", "app.test."] {
            assert_eq!(pinned.get(spelling), Some(&[ip][..]), "{spelling}");
        }
        assert_eq!(pinned.get("other.test"), None);
        assert_eq!(pinned.iter().next().unwrap().0, "app.test");
    }

    #[test]
    fn what_is_no_name_is_not_pinned() {
        let mut pinned = PinnedNames::new();
        assert_eq!(pinned.pin("127.0.0.1", []), Err(NameError::IpAddress));
        assert_eq!(pinned.pin("2130706433", []), Err(NameError::NumericAddress));
        assert_eq!(pinned.pin("a b", []), Err(NameError::BadCharacter(' ')));
        assert!(pinned.is_empty());
    }
}
