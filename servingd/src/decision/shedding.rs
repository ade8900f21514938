//! Load shedding by zone, pure. Load is the share of capacity in use when a request arrives:
//! under 70% every request is served; from 70% to 90% every request is served and flagged (an
//! alert metric); above 90% only the top 5% by expected value are kept, and half of the rest.
//! A request's expected value is estimated before any work from its best floor price, against
//! the floors seen recently.

/// The zone a request arrives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Green,
    Amber,
    Red,
}

impl Zone {
    /// The zone of `in_use` requests out of `capacity`.
    pub fn of(in_use: usize, capacity: usize) -> Zone {
        let load = in_use as f64 / capacity.max(1) as f64;
        if load < 0.7 {
            Zone::Green
        } else if load <= 0.9 {
            Zone::Amber
        } else {
            Zone::Red
        }
    }

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::Green => "green",
            Zone::Amber => "amber",
            Zone::Red => "red",
        }
    }
}

/// The 95th percentile of recent floors, from a histogram over powers of two of micros, decayed
/// so it follows the traffic.
#[derive(Debug, Clone)]
pub struct ValueTracker {
    buckets: [f64; 48],
}

impl Default for ValueTracker {
    fn default() -> Self {
        ValueTracker { buckets: [0.0; 48] }
    }
}

impl ValueTracker {
    fn bucket(value_micros: i64) -> usize {
        let v = value_micros.max(1) as u64;
        (63 - v.leading_zeros() as usize).min(47)
    }

    /// Counts a request's value (its best floor, micros per thousand).
    pub fn observe(&mut self, value_micros: i64) {
        self.buckets[Self::bucket(value_micros)] += 1.0;
    }

    /// Ages what was seen (call every few seconds): older requests weigh less.
    pub fn decay(&mut self, keep: f64) {
        for b in &mut self.buckets {
            *b *= keep;
        }
    }

    /// Whether `value_micros` is in the top 5% of what was seen.
    pub fn is_top(&self, value_micros: i64) -> bool {
        let total: f64 = self.buckets.iter().sum();
        if total <= 0.0 {
            return false;
        }
        let at_or_above: f64 = self.buckets[Self::bucket(value_micros)..].iter().sum();
        at_or_above / total <= 0.05
    }
}

/// Whether to serve a request in `zone` worth `value_micros`; `coin` is a fair random bit.
pub fn admit(zone: Zone, tracker: &ValueTracker, value_micros: i64, coin: bool) -> bool {
    match zone {
        Zone::Green | Zone::Amber => true,
        Zone::Red => tracker.is_top(value_micros) || coin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_by_load() {
        assert_eq!(Zone::of(0, 100), Zone::Green);
        assert_eq!(Zone::of(69, 100), Zone::Green);
        assert_eq!(Zone::of(70, 100), Zone::Amber);
        assert_eq!(Zone::of(90, 100), Zone::Amber);
        assert_eq!(Zone::of(91, 100), Zone::Red);
    }

    #[test]
    fn in_the_red_the_top_values_stay_and_half_the_rest() {
        let mut t = ValueTracker::default();
        for i in 0..1000 {
            // most requests have floors around 0.50; a few around 8.00
            t.observe(if i % 50 == 0 { 8_000_000 } else { 500_000 });
        }
        assert!(t.is_top(8_000_000));
        assert!(!t.is_top(500_000));
        assert!(admit(Zone::Red, &t, 8_000_000, false));
        assert!(!admit(Zone::Red, &t, 500_000, false));
        assert!(admit(Zone::Red, &t, 500_000, true));
        assert!(admit(Zone::Amber, &t, 1, false));
        let kept = (0..1000)
            .filter(|i| {
                admit(
                    Zone::Red,
                    &t,
                    if i % 50 == 0 { 8_000_000 } else { 500_000 },
                    i % 2 == 1,
                )
            })
            .count();
        // the 20 top ones, and the 500 of the other 980 whose coin came up
        assert_eq!(kept, 20 + 500);
    }
}
