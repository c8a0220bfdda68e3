//! The names an instance resolved, by the address each gave: what lets a
//! grant by name (`tcp-connect=api.example.com:443`) match the address the
//! guest then uses. Bounded, since a guest chooses how many names it
//! resolves: a wildcard grant over a wildcard DNS zone has no end of names,
//! and many of them can share one address.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::policy::canonical_ip;

/// Most (address, name) pairs remembered per instance; past it, the table
/// starts over (addresses then need to be resolved again to match grants
/// by name).
const MAX_PAIRS: usize = 4096;

/// Most names remembered for one address; past it, the one resolved
/// longest ago is forgotten. Every check on the address matches the rules
/// against each of its names.
const MAX_NAMES_PER_ADDRESS: usize = 16;

/// The names an instance resolved, by the (canonical) address they gave.
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    by_addr: HashMap<IpAddr, Vec<String>>,
    /// (address, name) pairs held, in all.
    pairs: usize,
}

impl NameTable {
    /// The names this instance resolved to `ip`.
    pub(crate) fn names_for(&self, ip: IpAddr) -> &[String] {
        self.by_addr
            .get(&canonical_ip(ip))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Remember that `name` resolved to `ips`.
    pub(crate) fn remember(&mut self, name: &str, ips: &[IpAddr]) {
        for ip in ips {
            if self.pairs >= MAX_PAIRS {
                self.by_addr.clear();
                self.pairs = 0;
            }
            let names = self.by_addr.entry(canonical_ip(*ip)).or_default();
            if names.iter().any(|n| n == name) {
                continue;
            }
            if names.len() >= MAX_NAMES_PER_ADDRESS {
                names.remove(0);
            } else {
                self.pairs += 1;
            }
            names.push(name.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// (address, name) pairs held, counted.
    fn len(t: &NameTable) -> usize {
        t.by_addr.values().map(Vec::len).sum()
    }

    #[test]
    fn names_are_found_by_address_in_either_spelling() {
        let mut t = NameTable::default();
        t.remember("api.example.com", &[ip("10.0.0.1"), ip("::1")]);
        t.remember("api.example.com", &[ip("10.0.0.1")]);
        assert_eq!(t.names_for(ip("10.0.0.1")), ["api.example.com"]);
        assert_eq!(t.names_for(ip("::ffff:10.0.0.1")), ["api.example.com"]);
        assert_eq!(t.names_for(ip("::1")), ["api.example.com"]);
        assert!(t.names_for(ip("10.0.0.2")).is_empty());
        assert_eq!(len(&t), 2);
    }

    #[test]
    fn one_address_keeps_only_its_latest_names() {
        let mut t = NameTable::default();
        for i in 0..1000 {
            t.remember(&format!("a{i}.example.com"), &[ip("10.0.0.1")]);
        }
        let names = t.names_for(ip("10.0.0.1"));
        assert_eq!(names.len(), MAX_NAMES_PER_ADDRESS);
        assert_eq!(names.last().unwrap(), "a999.example.com");
        assert!(!names.iter().any(|n| n == "a0.example.com"));
        assert_eq!(len(&t), t.pairs);
    }

    #[test]
    fn the_table_starts_over_when_full() {
        let mut t = NameTable::default();
        for i in 0..10_000u32 {
            t.remember("wide.example.com", &[IpAddr::from(i.to_be_bytes())]);
            assert!(len(&t) <= MAX_PAIRS);
            assert_eq!(len(&t), t.pairs);
        }
        // The latest is always there.
        assert_eq!(
            t.names_for(IpAddr::from(9_999u32.to_be_bytes())),
            ["wide.example.com"]
        );
    }
}
