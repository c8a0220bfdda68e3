//! Counts kept by guards: an instance's budget (open sockets, buffer bytes,
//! remembered peers) and the shares its sockets hold of it. A share gives
//! its amount back when dropped, so no path can forget to, and every growth
//! goes through the one check against the limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A quantity with a limit, shared by everything that holds a [`Share`].
#[derive(Debug)]
pub(crate) struct Budget {
    used: AtomicU64,
    limit: u64,
}

impl Budget {
    /// A budget of `limit`, nothing used.
    pub(crate) fn new(limit: u64) -> Arc<Budget> {
        Arc::new(Budget {
            used: AtomicU64::new(0),
            limit,
        })
    }

    /// How much is held now.
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Take `amount` if it fits.
    fn take(&self, amount: u64) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(amount).filter(|&n| n <= self.limit)
            })
            .is_ok()
    }

    /// A share of `amount`, if it fits.
    pub(crate) fn reserve(self: &Arc<Self>, amount: u64) -> Option<Share> {
        self.take(amount).then(|| Share {
            budget: self.clone(),
            amount,
        })
    }

    /// A share of nothing, to grow later.
    pub(crate) fn empty_share(self: &Arc<Self>) -> Share {
        Share {
            budget: self.clone(),
            amount: 0,
        }
    }
}

/// Part of a [`Budget`], given back when dropped.
#[derive(Debug)]
pub(crate) struct Share {
    budget: Arc<Budget>,
    amount: u64,
}

impl Share {
    /// The amount held.
    pub(crate) fn amount(&self) -> u64 {
        self.amount
    }

    /// The most this share could hold now: its amount and what the budget
    /// has left.
    pub(crate) fn room(&self) -> u64 {
        let left = self.budget.limit.saturating_sub(self.budget.used());
        self.amount.saturating_add(left)
    }

    /// Hold `amount` instead: shrinking always succeeds; growing succeeds
    /// only if the growth fits the budget (otherwise nothing changes).
    pub(crate) fn resize(&mut self, amount: u64) -> bool {
        if amount > self.amount {
            if !self.budget.take(amount - self.amount) {
                return false;
            }
        } else {
            self.budget
                .used
                .fetch_sub(self.amount - amount, Ordering::Relaxed);
        }
        self.amount = amount;
        true
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.amount, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_give_back_what_they_hold_and_never_pass_the_limit() {
        let b = Budget::new(10);
        let a = b.reserve(4).unwrap();
        let mut c = b.reserve(6).unwrap();
        assert!(b.reserve(1).is_none());
        assert_eq!(b.used(), 10);
        assert!(!c.resize(7), "growth past the limit is refused");
        assert_eq!(c.room(), 6);
        assert_eq!(c.amount(), 6);
        assert!(c.resize(2));
        assert_eq!(b.used(), 6);
        drop(a);
        assert_eq!(b.used(), 2);
        let mut e = b.empty_share();
        assert!(e.resize(8));
        assert!(b.reserve(1).is_none());
        drop((c, e));
        assert_eq!(b.used(), 0);
    }
}
