//! One campaign's pacing state on this instance, kept beside its compiled campaign: the cells
//! the request path reads and adds to with single atomic operations, and the pacing step sets.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::decision::pacing::Counted;

/// One campaign's pacing state on this instance: what it spent today, its probability of
/// entering an auction, and the auctions it could have entered and did enter since the last
/// control step. The request path reads and adds with single atomic operations.
#[derive(Debug)]
pub struct Throttle {
    spent_today: AtomicI64,
    probability_bits: AtomicU64,
    opportunities: AtomicU64,
    entries: AtomicU64,
}

impl Default for Throttle {
    /// Nothing spent, and no auction entered until a pacing step has set a probability (a
    /// campaign without history never starts at full throttle).
    fn default() -> Self {
        Throttle {
            spent_today: AtomicI64::new(0),
            probability_bits: AtomicU64::new(0.0f64.to_bits()),
            opportunities: AtomicU64::new(0),
            entries: AtomicU64::new(0),
        }
    }
}

impl Throttle {
    /// The probability of entering an auction now.
    pub fn probability(&self) -> f64 {
        f64::from_bits(self.probability_bits.load(Ordering::Relaxed))
    }

    /// What was spent today, micros.
    pub fn spent_today(&self) -> i64 {
        self.spent_today.load(Ordering::Relaxed)
    }

    /// Counts a spend.
    pub fn spend(&self, micros: i64) {
        self.spent_today.fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts auctions the campaign could have entered, and those it entered (the index's
    /// entries count them and the pacing step moves them here).
    pub fn count(&self, opportunities: u64, entries: u64) {
        self.opportunities
            .fetch_add(opportunities, Ordering::Relaxed);
        self.entries.fetch_add(entries, Ordering::Relaxed);
    }

    /// Sets the probability of entering an auction (the pacing step does, every second).
    pub fn set_probability(&self, p: f64) {
        self.probability_bits.store(p.to_bits(), Ordering::Relaxed);
    }

    /// What was counted since the last call, with the day's spend so far.
    pub fn take_counts(&self) -> Counted {
        Counted {
            opportunities: self.opportunities.swap(0, Ordering::Relaxed),
            entries: self.entries.swap(0, Ordering::Relaxed),
            spent_today: self.spent_today(),
        }
    }

    /// Starts a new day: nothing spent yet.
    pub fn start_day(&self) {
        self.spent_today.store(0, Ordering::Relaxed);
    }
}
