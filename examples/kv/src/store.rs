//! The keyspace: byte-string keys and values, each with an optional expiry,
//! and a memory budget (`maxmemory`).
//!
//! Expired keys disappear when touched (lazily) and, in the background, by
//! [`Db::sweep`], which takes due keys off a heap of expiry times (so that
//! a key nobody asks for again does not hold memory for ever). Times are
//! milliseconds on the monotonic clock since the store was made.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::rc::Rc;
use std::time::Instant;

/// What a key costs besides its bytes and its value's, for `maxmemory`.
const ENTRY_OVERHEAD: usize = 64;
/// What an expiry on the heap costs besides its key's bytes.
const HEAP_OVERHEAD: usize = 48;

/// One key's value and expiry.
#[derive(Debug)]
pub struct Entry {
    /// The value, shared with replies still being sent.
    pub value: Rc<[u8]>,
    /// When it expires (ms on the store's clock), if ever.
    pub expires: Option<i64>,
}

/// What a write does to the key's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// No expiry (what `SET` without options does).
    Clear,
    /// Keep the key's expiry (`INCR`, `SET ... KEEPTTL`).
    Keep,
    /// Expire at this time (ms on the store's clock).
    At(i64),
}

/// The keyspace.
#[derive(Debug)]
pub struct Db {
    map: HashMap<Box<[u8]>, Entry>,
    /// Expiry times set, soonest first; an entry whose key has since got
    /// another expiry (or none) is stale and skipped.
    heap: BinaryHeap<Reverse<(i64, Box<[u8]>)>>,
    /// Keys with an expiry.
    with_ttl: usize,
    /// Bytes the keyspace holds (keys, values, overheads, the heap).
    used: usize,
    /// The most `used` may reach through writes.
    maxmemory: usize,
    /// Keys removed because they expired.
    expired: u64,
    epoch: Instant,
}

fn cost(key: &[u8], value: &[u8]) -> usize {
    key.len() + value.len() + ENTRY_OVERHEAD
}

impl Db {
    /// An empty keyspace whose writes stop at `maxmemory` bytes.
    pub fn new(maxmemory: usize) -> Db {
        Db {
            map: HashMap::new(),
            heap: BinaryHeap::new(),
            with_ttl: 0,
            used: 0,
            maxmemory,
            expired: 0,
            epoch: Instant::now(),
        }
    }

    /// Now, in ms on the store's clock.
    pub fn now_ms(&self) -> i64 {
        i64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Whether writing about `bytes` more (keys and values) stays within
    /// `maxmemory`.
    pub fn fits(&self, bytes: usize) -> bool {
        self.used.saturating_add(bytes) <= self.maxmemory
    }

    /// Bytes held.
    pub fn used(&self) -> usize {
        self.used
    }

    /// The budget.
    pub fn maxmemory(&self) -> usize {
        self.maxmemory
    }

    /// How many keys (some may have expired unnoticed).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// How many keys have an expiry.
    pub fn with_ttl(&self) -> usize {
        self.with_ttl
    }

    /// Keys removed because they expired, so far.
    pub fn expired(&self) -> u64 {
        self.expired
    }

    /// The live entry for `key` (an expired one is removed).
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Entry> {
        // Without keys that expire, one lookup will do.
        if self.with_ttl > 0 {
            let expires = self.map.get(key)?.expires;
            if let Some(t) = expires
                && t <= self.now_ms()
            {
                self.remove(key);
                self.expired += 1;
                return None;
            }
        }
        self.map.get_mut(key)
    }

    /// Whether `key` exists (and has not expired).
    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Set `key` to `value`, its expiry as `ttl` says.
    pub fn set(&mut self, key: &[u8], value: &[u8], ttl: Ttl) {
        let before;
        let after = match self.map.get_mut(key) {
            Some(e) => {
                self.used = self.used - e.value.len() + value.len();
                // The common overwrite with a value of the same size, not
                // shared with a reply in flight: in place.
                match Rc::get_mut(&mut e.value) {
                    Some(v) if v.len() == value.len() => v.copy_from_slice(value),
                    _ => e.value = Rc::from(value),
                }
                before = e.expires;
                e.expires = match ttl {
                    Ttl::Clear => None,
                    Ttl::Keep => before,
                    Ttl::At(t) => Some(t),
                };
                e.expires
            }
            None => {
                before = None;
                let expires = match ttl {
                    Ttl::Clear | Ttl::Keep => None,
                    Ttl::At(t) => Some(t),
                };
                self.used += cost(key, value);
                self.map.insert(
                    key.into(),
                    Entry {
                        value: Rc::from(value),
                        expires,
                    },
                );
                expires
            }
        };
        self.expiry_changed(key, before, after);
    }

    /// Set or clear `key`'s expiry; false if there is no such key.
    pub fn set_expiry(&mut self, key: &[u8], expires: Option<i64>) -> bool {
        let Some(e) = self.get(key) else {
            return false;
        };
        let before = std::mem::replace(&mut e.expires, expires);
        self.expiry_changed(key, before, expires);
        true
    }

    fn expiry_changed(&mut self, key: &[u8], before: Option<i64>, after: Option<i64>) {
        match (before.is_some(), after.is_some()) {
            (false, true) => self.with_ttl += 1,
            (true, false) => self.with_ttl -= 1,
            _ => {}
        }
        if let Some(t) = after
            && before != after
        {
            self.used += key.len() + HEAP_OVERHEAD;
            self.heap.push(Reverse((t, key.into())));
            // Keys whose expiry keeps changing leave stale entries behind:
            // rebuild when they outnumber the live ones.
            if self.heap.len() > 2 * self.with_ttl + 1024 {
                self.rebuild_heap();
            }
        }
    }

    fn rebuild_heap(&mut self) {
        let old: usize = self
            .heap
            .iter()
            .map(|Reverse((_, k))| k.len() + HEAP_OVERHEAD)
            .sum();
        self.heap = self
            .map
            .iter()
            .filter_map(|(k, e)| e.expires.map(|t| Reverse((t, k.clone()))))
            .collect();
        let new: usize = self
            .heap
            .iter()
            .map(|Reverse((_, k))| k.len() + HEAP_OVERHEAD)
            .sum();
        self.used = self.used - old + new;
    }

    /// Remove `key`; whether it was there (expired or not).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        match self.map.remove(key) {
            Some(e) => {
                self.used -= cost(key, &e.value);
                if e.expires.is_some() {
                    self.with_ttl -= 1;
                }
                true
            }
            None => false,
        }
    }

    /// Remove every key.
    pub fn flush(&mut self) {
        self.map = HashMap::new();
        self.heap = BinaryHeap::new();
        self.with_ttl = 0;
        self.used = 0;
    }

    /// Remove up to `budget` keys whose time has come; how many were.
    pub fn sweep(&mut self, budget: usize) -> usize {
        let now = self.now_ms();
        let mut removed = 0;
        for _ in 0..budget {
            match self.heap.peek() {
                Some(Reverse((t, _))) if *t <= now => {}
                _ => break,
            }
            let Some(Reverse((t, key))) = self.heap.pop() else {
                break;
            };
            self.used -= key.len() + HEAP_OVERHEAD;
            if self.map.get(&key).is_some_and(|e| e.expires == Some(t)) {
                self.remove(&key);
                self.expired += 1;
                removed += 1;
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_expire_and_account() {
        let mut db = Db::new(1 << 20);
        db.set(b"a", b"1", Ttl::Clear);
        db.set(b"a", b"2", Ttl::Clear);
        assert_eq!(&*db.get(b"a").unwrap().value, b"2");
        assert_eq!(db.used(), cost(b"a", b"2"));
        db.set(b"b", b"x", Ttl::At(-1));
        assert!(db.get(b"b").is_none());
        assert_eq!(db.expired(), 1);
        db.set(b"c", b"x", Ttl::At(-1));
        assert_eq!(db.sweep(10), 1);
        assert!(db.remove(b"a"));
        assert_eq!((db.len(), db.with_ttl(), db.used()), (0, 0, 0));
        for _ in 0..5000 {
            assert!(!db.set_expiry(b"gone", Some(1)));
        }
        db.set(b"k", b"v", Ttl::Clear);
        for i in 0..5000 {
            db.set_expiry(b"k", Some(1_000_000 + i));
        }
        assert!(db.heap.len() < 2000);
    }
}
