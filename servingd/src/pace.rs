//! Pacing at run time: each even-paced campaign's probability of entering an auction, set every
//! few seconds by its [`Pacer`] from what this instance spent of it today (in the campaign's
//! time zone), against the hour profile learned from this instance's traffic. Each campaign's
//! state is one [`Throttle`] (carried across index changes); every step copies the
//! probabilities into the index's entries, which the request path reads, and spends add to the
//! throttle with one atomic add.
//!
//! With several instances each paces its share of the day (`pacing_share`, 1 / instances): the
//! budget controller still bounds the total, pacing only shapes it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::{DateTime, NaiveDate, Offset, TimeZone, Timelike, Utc};
use uuid::Uuid;

use crate::campaign::{LiveCampaign, Pacing};
use crate::index::CampaignIndex;
use crate::pacing::{HOURS, Pacer, PacerRules, TrafficLearner};

/// One campaign's pacing state on this instance: what it spent today and its probability of
/// entering an auction. The request path reads and adds with single atomic operations.
#[derive(Debug)]
pub struct Throttle {
    spent_today: AtomicI64,
    probability_bits: AtomicU64,
}

impl Default for Throttle {
    /// Nothing spent, not throttled.
    fn default() -> Self {
        Throttle {
            spent_today: AtomicI64::new(0),
            probability_bits: AtomicU64::new(1.0f64.to_bits()),
        }
    }
}

impl PartialEq for Throttle {
    /// Equal state (two campaigns compare equal when everything about them is).
    fn eq(&self, other: &Self) -> bool {
        self.probability() == other.probability() && self.spent_today() == other.spent_today()
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

    /// Sets the probability of entering an auction (the pacing step does, every few seconds).
    pub fn set_probability(&self, p: f64) {
        self.probability_bits.store(p.to_bits(), Ordering::Relaxed);
    }

    fn start_day(&self) {
        self.spent_today.store(0, Ordering::Relaxed);
    }
}

struct Day {
    date: NaiveDate,
    pacer: Pacer,
}

/// Pacing of every live campaign on this instance.
pub struct PacingBoard {
    days: Mutex<HashMap<Uuid, Day>>,
    learner: Mutex<(TrafficLearner, NaiveDate)>,
    /// Requests by UTC hour since the last control step.
    requests_by_hour: [AtomicU64; HOURS],
    share: f64,
}

impl PacingBoard {
    /// A board pacing `share` of each campaign's day.
    pub fn new(share: f64) -> PacingBoard {
        PacingBoard {
            days: Mutex::new(HashMap::new()),
            learner: Mutex::new((TrafficLearner::new(0.5), Utc::now().date_naive())),
            requests_by_hour: std::array::from_fn(|_| AtomicU64::new(0)),
            share,
        }
    }

    /// Counts a request (the traffic profile learns from it): one atomic add, no lock; the
    /// control step moves the counts into the learner.
    pub fn request(&self, now: DateTime<Utc>) {
        self.requests_by_hour[now.hour() as usize % HOURS].fetch_add(1, Ordering::Relaxed);
    }

    /// Moves the requests counted since the last step into the learner (a new UTC day ends
    /// the last one first) and returns the profile learned.
    fn learn(&self, now: DateTime<Utc>) -> crate::pacing::HourProfile {
        let mut learner = self.learner.lock().unwrap_or_else(|p| p.into_inner());
        for (h, n) in self.requests_by_hour.iter().enumerate() {
            learner.0.observe(h, n.swap(0, Ordering::Relaxed));
        }
        // on a new day, the requests counted before midnight close the day that ended
        let today = now.date_naive();
        if today != learner.1 {
            learner.0.end_day();
            learner.1 = today;
        }
        learner.0.profile()
    }

    /// One control step over every campaign of `index` at `now`: sets each even-paced
    /// campaign's throttle (accelerated campaigns are never throttled).
    pub fn step(&self, index: &CampaignIndex, now: DateTime<Utc>) {
        let utc_profile = self.learn(now);
        let mut days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        days.retain(|id, _| index.get(*id).is_some());
        for campaign in index.campaigns() {
            let throttle = &campaign.throttle;
            if campaign.pacing == Pacing::Accelerated {
                throttle.set_probability(1.0);
                continue;
            }
            let local = now.with_timezone(&campaign.time_zone);
            let offset_hours = local.offset().fix().local_minus_utc() / 3600;
            let profile = utc_profile.shifted(offset_hours);
            let fraction = f64::from(local.num_seconds_from_midnight()) / 86_400.0;
            let date = local.date_naive();
            let Some(budget) = day_budget(campaign) else {
                throttle.set_probability(1.0);
                continue;
            };
            let budget = (budget as f64 * self.share) as i64;
            let day = days.entry(campaign.id).or_insert_with(|| Day {
                date,
                pacer: Pacer::start_day(budget, fraction, 0, PacerRules::default()),
            });
            if day.date != date || day.pacer.budget_micros() != budget {
                if day.date != date {
                    throttle.start_day();
                }
                *day = Day {
                    date,
                    pacer: Pacer::start_day(
                        budget,
                        fraction,
                        throttle.spent_today(),
                        PacerRules::default(),
                    ),
                };
            }
            let p = day.pacer.step(&profile, fraction, throttle.spent_today());
            throttle.set_probability(p);
        }
        index.refresh_throttles();
    }
}

/// What a campaign should spend today: its daily budget, or its lifetime budget spread evenly
/// over its schedule's days; `None` when neither says (no end date): it is not throttled.
pub fn day_budget(campaign: &LiveCampaign) -> Option<i64> {
    if let Some(daily) = campaign.daily_micros {
        return Some(daily);
    }
    let (lifetime, end) = (campaign.lifetime_micros?, campaign.end?);
    let tz = campaign.time_zone;
    let first = tz
        .from_utc_datetime(&campaign.start.naive_utc())
        .date_naive();
    let last = tz.from_utc_datetime(&end.naive_utc()).date_naive();
    let days = (last - first).num_days().max(1);
    Some(lifetime / days)
}
