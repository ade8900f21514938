//! Pacing at run time: each even-paced campaign's probability of entering an auction, set every
//! few seconds by its [`Pacer`] from what this instance spent of it today (in the campaign's
//! time zone), against the hour profile learned from this instance's traffic. The request path
//! only reads an atomic; spends add to one.
//!
//! With several instances each paces its share of the day (`pacing_share`, 1 / instances): the
//! budget controller still bounds the total, pacing only shapes it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use chrono::{DateTime, NaiveDate, Offset, TimeZone, Timelike, Utc};
use uuid::Uuid;

use crate::campaign::{LiveCampaign, Pacing};
use crate::index::CampaignIndex;
use crate::pacing::{HOURS, Pacer, PacerRules, TrafficLearner};

/// One campaign's pacing counters.
struct Counters {
    spent_today: AtomicI64,
    probability_bits: AtomicU64,
}

struct Day {
    date: NaiveDate,
    pacer: Pacer,
}

/// Pacing of every live campaign on this instance.
pub struct PacingBoard {
    /// Replaced whole when campaigns come or go; read without a lock.
    counters: ArcSwap<HashMap<Uuid, Arc<Counters>>>,
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
            counters: ArcSwap::from_pointee(HashMap::new()),
            days: Mutex::new(HashMap::new()),
            learner: Mutex::new((TrafficLearner::new(0.5), Utc::now().date_naive())),
            requests_by_hour: std::array::from_fn(|_| AtomicU64::new(0)),
            share,
        }
    }

    /// The throttles as they are now (one atomic load; read it once per request).
    pub fn snapshot(&self) -> PaceSnapshot {
        PaceSnapshot(self.counters.load_full())
    }

    /// Counts a spend of `micros` by `campaign`.
    pub fn spent(&self, campaign: Uuid, micros: i64) {
        if let Some(c) = self.counters.load().get(&campaign) {
            c.spent_today.fetch_add(micros, Ordering::Relaxed);
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

    /// One control step over every campaign of `index` at `now`.
    pub fn step(&self, index: &CampaignIndex, now: DateTime<Utc>) {
        let utc_profile = self.learn(now);
        let current = self.counters.load_full();
        let mut counters: HashMap<Uuid, Arc<Counters>> = current
            .iter()
            .filter(|(id, _)| index.get(**id).is_some())
            .map(|(id, c)| (*id, c.clone()))
            .collect();
        let mut days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        days.retain(|id, _| index.get(*id).is_some());
        for campaign in index.campaigns() {
            if campaign.pacing == Pacing::Accelerated {
                continue;
            }
            let c = counters.entry(campaign.id).or_insert_with(|| {
                Arc::new(Counters {
                    spent_today: AtomicI64::new(0),
                    probability_bits: AtomicU64::new(1.0f64.to_bits()),
                })
            });
            let local = now.with_timezone(&campaign.time_zone);
            let offset_hours = local.offset().fix().local_minus_utc() / 3600;
            let profile = utc_profile.shifted(offset_hours);
            let fraction = f64::from(local.num_seconds_from_midnight()) / 86_400.0;
            let date = local.date_naive();
            let Some(budget) = day_budget(campaign) else {
                c.probability_bits
                    .store(1.0f64.to_bits(), Ordering::Relaxed);
                continue;
            };
            let budget = (budget as f64 * self.share) as i64;
            let day = days.entry(campaign.id).or_insert_with(|| Day {
                date,
                pacer: Pacer::start_day(budget, fraction, 0, PacerRules::default()),
            });
            if day.date != date || day.pacer.budget_micros() != budget {
                let spent = if day.date != date {
                    c.spent_today.store(0, Ordering::Relaxed);
                    0
                } else {
                    c.spent_today.load(Ordering::Relaxed)
                };
                *day = Day {
                    date,
                    pacer: Pacer::start_day(budget, fraction, spent, PacerRules::default()),
                };
            }
            let p = day
                .pacer
                .step(&profile, fraction, c.spent_today.load(Ordering::Relaxed));
            c.probability_bits.store(p.to_bits(), Ordering::Relaxed);
        }
        if counters.len() != current.len() || counters.keys().any(|id| !current.contains_key(id)) {
            self.counters.store(Arc::new(counters));
        }
    }
}

/// The throttles at one moment.
pub struct PaceSnapshot(Arc<HashMap<Uuid, Arc<Counters>>>);

impl PaceSnapshot {
    /// The probability that `campaign` enters an auction (1 for accelerated campaigns and
    /// campaigns not yet paced).
    pub fn probability(&self, campaign: &LiveCampaign) -> f64 {
        if campaign.pacing == Pacing::Accelerated {
            return 1.0;
        }
        self.0.get(&campaign.id).map_or(1.0, |c| {
            f64::from_bits(c.probability_bits.load(Ordering::Relaxed))
        })
    }
}

/// What a campaign should spend today: its daily budget, or its lifetime budget spread evenly
/// over its schedule's days; `None` when neither says (no end date): it is not throttled.
fn day_budget(campaign: &LiveCampaign) -> Option<i64> {
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
