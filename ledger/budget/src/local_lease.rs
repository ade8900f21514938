//! A lease as a serving instance holds it: the budget granted to this process, spent ad by ad on
//! the request path with one atomic compare-and-swap, never beyond the grant.

use std::sync::atomic::{AtomicI64, Ordering};

use ledger::ids::LeaseId;

/// What `spent` holds once a lease is sealed: no price fits any more.
const SEALED: i64 = i64::MAX;

/// Budget granted to this process, in micros, and what it has spent of it so far.
#[derive(Debug)]
pub struct LocalLease {
    id: LeaseId,
    granted: i64,
    spent: AtomicI64,
    /// What was spent when the lease was sealed (-1 while it is not).
    final_spent: AtomicI64,
    /// Until when its holder may spend it, in the holder's own time (microseconds on its clock;
    /// `i64::MAX`: no limit). The holder seals it then unless a renewal moved it.
    valid_until_us: AtomicI64,
}

impl LocalLease {
    /// A lease of `granted` micros, nothing spent.
    pub fn new(id: LeaseId, granted: i64) -> Self {
        LocalLease {
            id,
            granted: granted.clamp(0, SEALED - 1),
            spent: AtomicI64::new(0),
            final_spent: AtomicI64::new(-1),
            valid_until_us: AtomicI64::new(i64::MAX),
        }
    }

    /// Until when its holder may spend it (see the field).
    pub fn valid_until_us(&self) -> i64 {
        self.valid_until_us.load(Ordering::Acquire)
    }

    /// Sets until when its holder may spend it.
    pub fn set_valid_until_us(&self, until_us: i64) {
        self.valid_until_us.store(until_us, Ordering::Release);
    }

    /// The lease's id, under which it is settled.
    pub fn id(&self) -> LeaseId {
        self.id
    }

    /// What was granted.
    pub fn granted(&self) -> i64 {
        self.granted
    }

    /// What has been spent so far (all of it, once sealed).
    pub fn spent(&self) -> i64 {
        match self.final_spent.load(Ordering::Acquire) {
            -1 => self.spent.load(Ordering::Acquire).min(self.granted),
            sealed => sealed,
        }
    }

    /// Stops all further spending and returns what was spent: every spend that succeeded before
    /// is counted, every later one fails. Sealing twice returns the same figure.
    pub fn seal(&self) -> i64 {
        let before = self.spent.swap(SEALED, Ordering::AcqRel);
        if before != SEALED {
            self.final_spent.store(before, Ordering::Release);
            before
        } else {
            // Sealed already (perhaps a moment ago by another thread, still storing its figure).
            loop {
                let sealed = self.final_spent.load(Ordering::Acquire);
                if sealed >= 0 {
                    return sealed;
                }
                std::hint::spin_loop();
            }
        }
    }

    /// Whether the lease was sealed.
    pub fn is_sealed(&self) -> bool {
        self.final_spent.load(Ordering::Acquire) >= 0
    }

    /// What can still be spent.
    pub fn unspent(&self) -> i64 {
        self.granted - self.spent()
    }

    /// Whether what is left has fallen to `low_water` or below: time to ask for the next lease
    /// (in the background) before this one runs dry.
    pub fn is_low(&self, low_water: i64) -> bool {
        self.unspent() <= low_water
    }

    /// Spends `price` if the lease still covers it, atomically: concurrent spenders together never
    /// spend more than was granted. A price below zero is refused; zero costs nothing.
    pub fn try_spend(&self, price: i64) -> bool {
        if price < 0 {
            return false;
        }
        let mut current = self.spent.load(Ordering::Relaxed);
        loop {
            let Some(next) = current.checked_add(price).filter(|n| *n <= self.granted) else {
                return false;
            };
            match self.spent.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => current = seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn spends_up_to_the_grant_and_no_further() {
        let lease = LocalLease::new(LeaseId::new(), 1_000);
        assert!(lease.try_spend(400));
        assert!(lease.try_spend(600));
        assert!(!lease.try_spend(1));
        assert!(lease.try_spend(0));
        assert!(!lease.try_spend(-5));
        assert_eq!(lease.spent(), 1_000);
        assert_eq!(lease.unspent(), 0);
        assert!(lease.is_low(0));
    }

    #[test]
    fn a_sealed_lease_counts_what_was_spent_and_spends_no_more() {
        let lease = LocalLease::new(LeaseId::new(), 1_000);
        assert!(lease.try_spend(300));
        assert_eq!(lease.seal(), 300);
        assert!(!lease.try_spend(1));
        assert_eq!(lease.seal(), 300);
        assert_eq!(lease.spent(), 300);
        assert_eq!(lease.unspent(), 700);
        assert!(lease.is_sealed());
    }

    #[test]
    fn sealing_while_others_spend_loses_no_spend() {
        let lease = Arc::new(LocalLease::new(LeaseId::new(), i64::MAX - 1));
        let spenders: Vec<_> = (0..3)
            .map(|_| {
                let lease = lease.clone();
                std::thread::spawn(move || {
                    let mut spent = 0i64;
                    while lease.try_spend(3) {
                        spent += 3;
                    }
                    spent
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let sealed = lease.seal();
        let total: i64 = spenders
            .into_iter()
            .map(|t| t.join().expect("spender"))
            .sum();
        assert_eq!(sealed, total);
    }

    #[test]
    fn a_price_larger_than_what_is_left_is_refused_whole() {
        let lease = LocalLease::new(LeaseId::new(), 1_000);
        assert!(lease.try_spend(900));
        assert!(!lease.try_spend(101));
        assert!(lease.try_spend(100));
        assert!(!lease.try_spend(i64::MAX));
    }

    #[test]
    fn concurrent_spenders_never_overspend() {
        let lease = Arc::new(LocalLease::new(LeaseId::new(), 1_000_003));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let lease = lease.clone();
                std::thread::spawn(move || {
                    let price = 7 + t;
                    let mut spent = 0i64;
                    while lease.try_spend(price) {
                        spent += price;
                    }
                    spent
                })
            })
            .collect();
        let total: i64 = threads
            .into_iter()
            .map(|t| t.join().expect("spender"))
            .sum();
        assert_eq!(total, lease.spent());
        assert!(total <= 1_000_003);
        // every spender stopped only when its price no longer fitted
        assert!(lease.unspent() < 7 + 3);
    }
}
