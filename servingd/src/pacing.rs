//! Even pacing, pure. A campaign should spend its day's budget along the day's traffic: by any
//! moment, the share of the budget that the traffic seen so far is of the day's traffic. The
//! traffic curve is an hour-of-day profile learned from recent requests (a typical diurnal curve
//! until enough has been seen).
//!
//! The controller sets the probability that the campaign enters an auction. Every step it
//! measures what the campaign would spend per unit of traffic at full throttle (what it spent,
//! divided by the probability it ran at and the traffic share that passed), smooths that, and
//! sets `probability = budget left / (full-throttle rate × traffic share left today)`: the rest of
//! the budget spread over the rest of the day's traffic. Spending behind plan raises the
//! probability, ahead of plan lowers it, and at the day's end it opens up to spend what is left.
//! Probabilities are not money: floats are fine here; the budget itself is micros.

/// Hours in a day.
pub const HOURS: usize = 24;

/// The share of a day's traffic in each hour of the campaign's local day.
#[derive(Debug, Clone, PartialEq)]
pub struct HourProfile {
    share: [f64; HOURS],
}

impl HourProfile {
    /// A typical day of web traffic: low at night, rising through the morning, a plateau in the
    /// afternoon, the peak in the evening.
    pub fn diurnal() -> HourProfile {
        const WEIGHTS: [f64; HOURS] = [
            2.0, 1.4, 1.0, 0.8, 0.8, 1.0, 1.6, 2.6, 3.6, 4.2, 4.6, 4.8, //
            5.0, 5.0, 4.8, 4.8, 5.0, 5.4, 6.0, 6.6, 7.0, 6.4, 4.8, 3.2,
        ];
        HourProfile::from_weights(&WEIGHTS).unwrap_or_else(HourProfile::flat)
    }

    /// Every hour alike.
    pub fn flat() -> HourProfile {
        HourProfile {
            share: [1.0 / HOURS as f64; HOURS],
        }
    }

    /// Shares proportional to `weights`; `None` unless every weight is finite, none is negative
    /// and their sum is positive.
    pub fn from_weights(weights: &[f64; HOURS]) -> Option<HourProfile> {
        let total: f64 = weights.iter().sum();
        if !(total.is_finite() && total > 0.0) || weights.iter().any(|w| !w.is_finite() || *w < 0.0)
        {
            return None;
        }
        let mut share = [0.0; HOURS];
        for (s, w) in share.iter_mut().zip(weights) {
            *s = w / total;
        }
        Some(HourProfile { share })
    }

    /// The same day seen from a time zone `offset_hours` ahead (a UTC profile as seen from
    /// Paris in summer is shifted by 2: local hour 14 is UTC hour 12).
    pub fn shifted(&self, offset_hours: i32) -> HourProfile {
        let mut share = [0.0; HOURS];
        for (local, s) in share.iter_mut().enumerate() {
            let utc = (local as i32 - offset_hours).rem_euclid(HOURS as i32) as usize;
            *s = self.share[utc];
        }
        HourProfile { share }
    }

    /// The share of hour `h`.
    pub fn hour(&self, h: usize) -> f64 {
        self.share[h % HOURS]
    }

    /// The share of the day's traffic before `day_fraction` (0 at midnight, 1 at the next).
    pub fn before(&self, day_fraction: f64) -> f64 {
        let at = day_fraction.clamp(0.0, 1.0) * HOURS as f64;
        let whole = at.floor() as usize;
        let done: f64 = self.share[..whole.min(HOURS)].iter().sum();
        let partial = if whole < HOURS {
            self.share[whole] * (at - whole as f64)
        } else {
            0.0
        };
        (done + partial).min(1.0)
    }

    /// The share of the day's traffic between two moments of it.
    pub fn between(&self, from: f64, to: f64) -> f64 {
        (self.before(to) - self.before(from)).max(0.0)
    }
}

/// Learns the hour profile from request counts: each finished day's hourly counts are blended
/// into the estimate (an exponential average over days), starting from the diurnal default.
#[derive(Debug, Clone)]
pub struct TrafficLearner {
    estimate: [f64; HOURS],
    today: [u64; HOURS],
    /// Weight of a new day against what was learned before, 0 to 1.
    learning_rate: f64,
}

impl TrafficLearner {
    /// A learner starting from the diurnal default.
    pub fn new(learning_rate: f64) -> TrafficLearner {
        let prior = HourProfile::diurnal();
        TrafficLearner {
            estimate: prior.share,
            today: [0; HOURS],
            learning_rate: learning_rate.clamp(0.0, 1.0),
        }
    }

    /// Counts `n` requests in local hour `h`.
    pub fn observe(&mut self, h: usize, n: u64) {
        self.today[h % HOURS] = self.today[h % HOURS].saturating_add(n);
    }

    /// The day ended: blends its counts into the estimate (a day with no traffic teaches nothing).
    pub fn end_day(&mut self) {
        let total: u64 = self.today.iter().sum();
        if total > 0 {
            for (e, &c) in self.estimate.iter_mut().zip(&self.today) {
                let share = c as f64 / total as f64;
                *e = (1.0 - self.learning_rate) * *e + self.learning_rate * share;
            }
        }
        self.today = [0; HOURS];
    }

    /// The profile to pace by.
    pub fn profile(&self) -> HourProfile {
        HourProfile::from_weights(&self.estimate).unwrap_or_else(HourProfile::diurnal)
    }
}

/// Tuning of the pacing controller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacerRules {
    /// Never throttle below this, so the controller keeps seeing what full throttle would spend.
    pub min_probability: f64,
    /// Where a new day starts, before anything is measured.
    pub initial_probability: f64,
    /// Weight of the newest measurement of the full-throttle rate, 0 to 1.
    pub smoothing: f64,
}

impl Default for PacerRules {
    fn default() -> Self {
        PacerRules {
            min_probability: 0.001,
            initial_probability: 0.5,
            smoothing: 0.3,
        }
    }
}

/// One campaign's pacing over one local day.
#[derive(Debug, Clone)]
pub struct Pacer {
    rules: PacerRules,
    budget_micros: i64,
    probability: f64,
    /// Micros the campaign would spend per unit of traffic share at probability 1.
    full_rate: Option<f64>,
    last_fraction: f64,
    last_spent: i64,
}

impl Pacer {
    /// Starts a day with `budget_micros` to spend, at `day_fraction` of the day, having spent
    /// `spent_micros` of it already (a restart mid-day).
    pub fn start_day(
        budget_micros: i64,
        day_fraction: f64,
        spent_micros: i64,
        rules: PacerRules,
    ) -> Pacer {
        Pacer {
            rules,
            budget_micros,
            probability: rules.initial_probability,
            full_rate: None,
            last_fraction: day_fraction,
            last_spent: spent_micros,
        }
    }

    /// The probability of entering an auction now.
    pub fn probability(&self) -> f64 {
        self.probability
    }

    /// The budget of the day.
    pub fn budget_micros(&self) -> i64 {
        self.budget_micros
    }

    /// What should have been spent by `day_fraction` on the profile.
    pub fn target_spent(&self, profile: &HourProfile, day_fraction: f64) -> i64 {
        (self.budget_micros as f64 * profile.before(day_fraction)).round() as i64
    }

    /// One control step at `day_fraction`, the day's spend so far being `spent_micros`; returns
    /// the new probability.
    pub fn step(&mut self, profile: &HourProfile, day_fraction: f64, spent_micros: i64) -> f64 {
        let passed = profile.between(self.last_fraction, day_fraction);
        let spent = (spent_micros - self.last_spent).max(0) as f64;
        if passed > 0.0 && self.probability > 0.0 {
            let measured = spent / (self.probability * passed);
            self.full_rate = Some(match self.full_rate {
                None => measured,
                Some(r) => (1.0 - self.rules.smoothing) * r + self.rules.smoothing * measured,
            });
        }
        self.last_fraction = day_fraction;
        self.last_spent = spent_micros;
        let left = (self.budget_micros - spent_micros).max(0) as f64;
        let share_left = 1.0 - profile.before(day_fraction);
        self.probability = if left <= 0.0 {
            0.0
        } else {
            match self.full_rate {
                Some(rate) if rate > 0.0 && share_left > 0.0 => {
                    (left / (rate * share_left)).clamp(self.rules.min_probability, 1.0)
                }
                // Nothing measured yet, or nothing would be spent even at full throttle.
                _ => self.probability.max(self.rules.initial_probability),
            }
        };
        self.probability
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_sum_to_one_and_accumulate() {
        let p = HourProfile::diurnal();
        assert!((p.before(1.0) - 1.0).abs() < 1e-12);
        assert_eq!(p.before(0.0), 0.0);
        let half_of_first_hour = p.hour(0) / 2.0;
        assert!((p.before(0.5 / 24.0) - half_of_first_hour).abs() < 1e-12);
        assert!(p.hour(20) > p.hour(4));
        assert!(HourProfile::from_weights(&[0.0; HOURS]).is_none());
        let mut bad = [1.0; HOURS];
        bad[3] = f64::NAN;
        assert!(HourProfile::from_weights(&bad).is_none());
    }

    #[test]
    fn a_shifted_profile_moves_the_hours() {
        let mut weights = [0.0; HOURS];
        weights[12] = 1.0;
        let utc = HourProfile::from_weights(&weights).expect("profile");
        assert_eq!(utc.shifted(2).hour(14), 1.0);
        assert_eq!(utc.shifted(-5).hour(7), 1.0);
        assert_eq!(utc.shifted(14).hour(2), 1.0);
    }

    #[test]
    fn the_learner_moves_towards_the_traffic_seen() {
        let mut learner = TrafficLearner::new(0.5);
        for h in 0..HOURS {
            learner.observe(h, if h == 12 { 1000 } else { 0 });
        }
        learner.end_day();
        let p = learner.profile();
        assert!(p.hour(12) > 0.5);
        learner.end_day(); // an empty day changes nothing
        assert_eq!(learner.profile(), p);
    }

    #[test]
    fn the_probability_closes_when_the_budget_is_spent() {
        let profile = HourProfile::flat();
        let mut pacer = Pacer::start_day(1_000, 0.0, 0, PacerRules::default());
        assert_eq!(pacer.step(&profile, 0.5, 1_000), 0.0);
    }
}
