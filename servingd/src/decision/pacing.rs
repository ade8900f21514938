//! Even pacing, pure. A campaign should spend its day's budget along the day's traffic: by any
//! moment, the share of the budget that the traffic seen so far is of the day's traffic. The
//! traffic curve is an hour-of-day profile learned from recent requests (a typical diurnal curve
//! until enough has been seen).
//!
//! The controller sets the probability that the campaign enters an auction, from two estimates
//! it keeps apart, so that neither needs the campaign to have spent anything first:
//!
//! - how many auctions the campaign could enter per unit of the day's traffic (its
//!   *opportunities*, counted whether or not it entered them), over a window of recent traffic,
//!   starting from every request this instance sees (an upper bound) until its own are counted;
//! - what entering one costs on average (what it spent over how many it entered), starting from
//!   the most one entry can cost (winning every auction at its bid) and moving to what it
//!   measures as entries add up.
//!
//! Their product is what the campaign would spend per unit of traffic at full throttle, and
//! `probability = budget left / (full-throttle rate × traffic share left today)`: the rest of
//! the budget spread over the rest of the day's traffic. A campaign with no history starts from
//! the conservative ends of both (so it enters few auctions, never all of them); spending behind
//! plan raises the probability, ahead of plan lowers it, and at the day's end it opens up to
//! spend what is left. Probabilities are not money: floats are fine here; the budget itself is
//! micros.

pub use budget::day_curve::{HOURS, HourProfile};

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
        TrafficLearner {
            estimate: HourProfile::diurnal().shares(),
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
    /// How much recent traffic the opportunity rate is measured over, as a share of a day's
    /// traffic: older counts fade with it.
    pub memory_share: f64,
    /// How much traffic the prior opportunity rate (every request) is worth, as a share of a
    /// day's traffic: it fades as the campaign's own opportunities are counted.
    pub prior_share: f64,
    /// How many entries the prior cost of an entry (winning at the bid) is worth.
    pub prior_entries: f64,
}

impl Default for PacerRules {
    fn default() -> Self {
        PacerRules {
            // about five minutes and thirty seconds of an average day
            memory_share: 300.0 / 86_400.0,
            prior_share: 30.0 / 86_400.0,
            prior_entries: 5.0,
        }
    }
}

/// What the request path counted for one campaign since the last control step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counted {
    /// Auctions the campaign could have entered (it reached the throttle).
    pub opportunities: u64,
    /// Auctions it entered (it passed the throttle).
    pub entries: u64,
    /// What it spent today so far, micros (a running total, not since the last step).
    pub spent_today: i64,
}

/// One campaign's pacing over one local day.
#[derive(Debug, Clone)]
pub struct Pacer {
    rules: PacerRules,
    budget_micros: i64,
    probability: f64,
    /// The most one entry can cost, micros: winning at the bid.
    max_entry_cost: f64,
    /// Opportunities and traffic share seen, both fading over `memory_share`, and what is left
    /// of the prior's weight (`prior_share` at first), fading alike.
    opportunities: f64,
    share_seen: f64,
    prior_weight: f64,
    /// Entries and their spend since the pacer started.
    entries: u64,
    entry_spend: i64,
    last_fraction: f64,
    last_spent: i64,
}

impl Pacer {
    /// Starts a day with `budget_micros` to spend, at `day_fraction` of the day, having spent
    /// `spent_micros` of it already (a restart mid-day), for a campaign whose entry into an
    /// auction costs at most `max_entry_cost` micros. It enters no auction until its first step.
    pub fn start_day(
        budget_micros: i64,
        day_fraction: f64,
        spent_micros: i64,
        max_entry_cost: i64,
        rules: PacerRules,
    ) -> Pacer {
        Pacer {
            rules,
            budget_micros,
            probability: 0.0,
            max_entry_cost: max_entry_cost.max(1) as f64,
            opportunities: 0.0,
            share_seen: 0.0,
            prior_weight: rules.prior_share,
            entries: 0,
            entry_spend: 0,
            last_fraction: day_fraction,
            last_spent: spent_micros,
        }
    }

    /// The same campaign on a new day (or with a new budget): what was learned of its traffic
    /// and costs carries over; the budget and the day's spend start again.
    pub fn next_day(
        &self,
        budget_micros: i64,
        day_fraction: f64,
        spent_micros: i64,
        max_entry_cost: i64,
    ) -> Pacer {
        Pacer {
            budget_micros,
            max_entry_cost: max_entry_cost.max(1) as f64,
            last_fraction: day_fraction,
            last_spent: spent_micros,
            ..self.clone()
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

    /// The average cost of an entry: what was spent over the entries, starting from the most an
    /// entry can cost, worth `prior_entries` entries.
    fn entry_cost(&self) -> f64 {
        let prior = self.rules.prior_entries;
        (self.entry_spend.max(0) as f64 + self.max_entry_cost * prior)
            / (self.entries as f64 + prior)
    }

    /// Opportunities per unit of the day's traffic: those counted recently, starting from
    /// `requests_rate` (every request this instance sees, per unit of traffic) worth
    /// `prior_share` of traffic and fading as the campaign's own are counted; `None` while
    /// nothing is known.
    fn opportunity_rate(&self, requests_rate: Option<f64>) -> Option<f64> {
        match requests_rate {
            Some(r) if r.is_finite() && r > 0.0 => Some(
                (self.opportunities + r * self.prior_weight)
                    / (self.share_seen + self.prior_weight),
            ),
            _ if self.opportunities > 0.0 => Some(self.opportunities / self.share_seen),
            _ => None,
        }
    }

    /// One control step at `day_fraction`, given what was counted since the last step and the
    /// rate of all requests this instance sees per unit of the day's traffic (`None` before it
    /// has seen any); returns the new probability.
    pub fn step(
        &mut self,
        profile: &HourProfile,
        day_fraction: f64,
        counted: Counted,
        requests_rate: Option<f64>,
    ) -> f64 {
        let passed = profile.between(self.last_fraction, day_fraction);
        if passed > 0.0 {
            let keep = (-passed / self.rules.memory_share).exp();
            self.opportunities = self.opportunities * keep + counted.opportunities as f64;
            self.share_seen = self.share_seen * keep + passed;
            self.prior_weight *= keep;
        }
        self.entries = self.entries.saturating_add(counted.entries);
        self.entry_spend += (counted.spent_today - self.last_spent).max(0);
        self.last_fraction = day_fraction;
        self.last_spent = counted.spent_today;
        let left = (self.budget_micros - counted.spent_today).max(0) as f64;
        let share_left = 1.0 - profile.before(day_fraction);
        self.probability = match self.opportunity_rate(requests_rate) {
            _ if left <= 0.0 => 0.0,
            _ if share_left <= 0.0 => 1.0,
            Some(rate) if rate > 0.0 => {
                let full_throttle = rate * self.entry_cost();
                (left / (full_throttle * share_left)).clamp(0.0, 1.0)
            }
            // nothing known of its traffic: enter nothing until something is
            _ => 0.0,
        };
        self.probability
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut pacer = Pacer::start_day(1_000, 0.0, 0, 10, PacerRules::default());
        let counted = Counted {
            opportunities: 100,
            entries: 10,
            spent_today: 1_000,
        };
        assert_eq!(pacer.step(&profile, 0.5, counted, Some(1e6)), 0.0);
    }

    #[test]
    fn nothing_known_enters_nothing_and_no_history_starts_conservative() {
        let profile = HourProfile::flat();
        let mut pacer = Pacer::start_day(500_000, 0.5, 0, 9_500, PacerRules::default());
        assert_eq!(pacer.probability(), 0.0, "no auction before the first step");
        let second = 1.0 / 86_400.0;
        // no request seen anywhere yet: still nothing
        assert_eq!(
            pacer.step(&profile, 0.5 + second, Counted::default(), None),
            0.0
        );
        // 300 requests a second on this instance, none of them counted for the campaign yet:
        // every request is taken as an opportunity won at the bid, 0.50 over half a day of
        // 300/s at 0.0095 each
        let rate = 300.0 * 86_400.0;
        let p = pacer.step(&profile, 0.5 + 2.0 * second, Counted::default(), Some(rate));
        let expected = 500_000.0 / (rate * 9_500.0 * (0.5 - 2.0 * second));
        // (a little more: two seconds without an opportunity for it weigh in already)
        assert!(p >= expected && p < expected * 1.1, "{p} vs {expected}");
        assert!(p < 1e-5);
    }

    #[test]
    fn the_campaigns_own_opportunities_and_costs_replace_the_priors() {
        let profile = HourProfile::flat();
        let rules = PacerRules::default();
        // 1,000 a day to spend; 100 opportunities a second for it out of 1,000 requests; each
        // entry costs 1,000 on average (it wins half, at 2,000), though the bid is 5,000
        let mut pacer = Pacer::start_day(1_000_000_000, 0.0, 0, 5_000, rules);
        let requests = 1_000.0 * 86_400.0;
        let mut spent = 0i64;
        let mut p = 0.0;
        for second in 1..=3_600 {
            let opportunities = 100u64;
            let entries = (opportunities as f64 * p).round() as u64;
            spent += entries as i64 * 1_000;
            let counted = Counted {
                opportunities,
                entries,
                spent_today: spent,
            };
            p = pacer.step(&profile, second as f64 / 86_400.0, counted, Some(requests));
        }
        // full throttle: 100/s × 1,000 = 100,000 a second, 8.64e9 a day against a 1e9 budget
        let expected = 1_000_000_000.0 / (100.0 * 86_400.0 * 1_000.0);
        assert!((p - expected).abs() < expected * 0.05, "{p} vs {expected}");
    }
}
