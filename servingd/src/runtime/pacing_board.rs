//! Pacing at run time: each even-paced campaign's probability of entering an auction, set every
//! second by its [`Pacer`] from what this instance counted of it (auctions it could have
//! entered, those it entered, what it spent today in the campaign's time zone), against the
//! hour profile learned from this instance's traffic and the rate of all requests it sees. Each
//! campaign's state is one [`Throttle`] (carried across index changes); every step collects the
//! counts from the index's entries and copies the probabilities back into them, which the
//! request path reads; spends add to the throttle with one atomic add.
//!
//! With several instances each paces its share of the day (`pacing_share`, 1 / instances): the
//! budget controller still bounds the total, pacing only shapes it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDate, Offset, Timelike, Utc};
use uuid::Uuid;

use crate::decision::cost::{day_budget, unit_cost};
use crate::decision::index::CampaignIndex;
use crate::decision::pacing::{HOURS, HourProfile, Pacer, PacerRules, TrafficLearner};
use domain::campaign::Pacing;

struct Day {
    date: NaiveDate,
    pacer: Pacer,
}

/// Pacing of every live campaign on this instance.
pub struct PacingBoard {
    days: Mutex<HashMap<Uuid, Day>>,
    learner: Mutex<Learning>,
    /// Requests by UTC hour since the last control step.
    requests_by_hour: [AtomicU64; HOURS],
    share: f64,
    rules: PacerRules,
}

/// What the board learns from all the requests it counts.
struct Learning {
    learner: TrafficLearner,
    /// The UTC day being counted.
    date: NaiveDate,
    /// Requests and the traffic share they came in, both fading as a campaign's opportunities
    /// do: the rate of all requests, every campaign's prior for its own.
    requests: f64,
    share_seen: f64,
    /// When the last step was, as a fraction of its UTC day.
    last_fraction: Option<f64>,
}

impl PacingBoard {
    /// A board pacing `share` of each campaign's day.
    pub fn new(share: f64, now: DateTime<Utc>) -> PacingBoard {
        PacingBoard {
            days: Mutex::new(HashMap::new()),
            learner: Mutex::new(Learning {
                learner: TrafficLearner::new(0.5),
                date: now.date_naive(),
                requests: 0.0,
                share_seen: 0.0,
                last_fraction: None,
            }),
            requests_by_hour: std::array::from_fn(|_| AtomicU64::new(0)),
            share,
            rules: PacerRules::default(),
        }
    }

    /// Counts a request (the traffic profile learns from it): one atomic add, no lock; the
    /// control step moves the counts into the learner.
    pub fn request(&self, now: DateTime<Utc>) {
        self.requests_by_hour[now.hour() as usize % HOURS].fetch_add(1, Ordering::Relaxed);
    }

    /// Moves the requests counted since the last step into the learner (a new UTC day ends
    /// the last one first); returns the profile learned and the rate of all requests per unit
    /// of a day's traffic (`None` before any request was seen).
    fn learn(&self, now: DateTime<Utc>) -> (HourProfile, Option<f64>) {
        let mut l = self.learner.lock().unwrap_or_else(|p| p.into_inner());
        let mut counted = 0u64;
        for (h, n) in self.requests_by_hour.iter().enumerate() {
            let n = n.swap(0, Ordering::Relaxed);
            counted += n;
            l.learner.observe(h, n);
        }
        let profile = l.learner.profile();
        let fraction = f64::from(now.num_seconds_from_midnight()) / 86_400.0;
        // on a new day, the requests counted before midnight close the day that ended
        let today = now.date_naive();
        let passed = match l.last_fraction {
            Some(last) if today != l.date => profile.between(last, 1.0) + profile.before(fraction),
            Some(last) => profile.between(last, fraction),
            None => 0.0,
        };
        if today != l.date {
            l.learner.end_day();
            l.date = today;
        }
        if passed > 0.0 {
            let keep = (-passed / self.rules.memory_share).exp();
            l.requests = l.requests * keep + counted as f64;
            l.share_seen = l.share_seen * keep + passed;
        }
        l.last_fraction = Some(fraction);
        let rate = (l.requests > 0.0 && l.share_seen > 0.0).then(|| l.requests / l.share_seen);
        (l.learner.profile(), rate)
    }

    /// One control step over every campaign of `index` at `now`: sets each even-paced
    /// campaign's throttle (accelerated campaigns are never throttled).
    pub fn step(&self, index: &CampaignIndex, now: DateTime<Utc>) {
        index.collect_counts();
        let (utc_profile, requests_rate) = self.learn(now);
        let mut days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        days.retain(|id, _| index.get(*id).is_some());
        for (campaign, throttle) in index.with_throttles() {
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
            let entry_cost = unit_cost(campaign);
            let day = days.entry(campaign.id).or_insert_with(|| Day {
                date,
                pacer: Pacer::start_day(budget, fraction, 0, entry_cost, self.rules),
            });
            if day.date != date || day.pacer.budget_micros() != budget {
                if day.date != date {
                    throttle.start_day();
                }
                day.pacer =
                    day.pacer
                        .next_day(budget, fraction, throttle.spent_today(), entry_cost);
                day.date = date;
            }
            let p = day
                .pacer
                .step(&profile, fraction, throttle.take_counts(), requests_rate);
            throttle.set_probability(p);
        }
        index.refresh_throttles();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::eligibility::Rates;
    use domain::campaign::Campaign;
    use serde_json::json;

    fn one_campaign(pacing: &str, daily: &str, bid: &str) -> (CampaignIndex, Uuid) {
        let id = Uuid::from_u128(7);
        let feed: Campaign = serde_json::from_value(json!({
            "id": id, "advertiser_id": Uuid::from_u128(2),
            "status": "active", "currency": "USD", "revision": 1,
            "name": "c", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "schedule": {"start": "2026-01-01T00:00:00Z", "time_zone": "America/New_York"},
            "budget": {"daily": daily}, "bid": {"kind": "cpm", "amount": bid}, "pacing": pacing,
            "targeting": {}, "creatives": [{"id": "c", "format": "banner", "w": 300, "h": 250,
                           "click_url": "https://a.example", "markup": "x", "adomain": "a.example"}]
        }))
        .expect("feed");
        let (index, _) = CampaignIndex::empty(Rates::default()).from_snapshot(1, vec![feed]);
        (index, id)
    }

    /// A campaign activated under load, even-paced with 0.50 for the rest of its day at 9.50
    /// CPM: it enters no auction before the first step, then about as many as 0.50 spread over
    /// the rest of the day allows if every request were its to win at its bid, never all.
    #[test]
    fn a_new_even_campaign_never_starts_at_full_throttle() {
        let (index, id) = one_campaign("even", "0.50", "9.50");
        let throttle = index.throttle(id).expect("live");
        assert_eq!(throttle.probability(), 0.0);
        let start: DateTime<Utc> = "2026-11-30T00:42:00Z".parse().expect("time");
        let board = PacingBoard::new(1.0, start);
        for second in 0..3 {
            let now = start + chrono::Duration::seconds(second);
            for _ in 0..300 {
                board.request(now);
            }
            board.step(&index, now);
        }
        let p = throttle.probability();
        // 300 requests a second, 4 h 18 min left: 0.50 / (300 × 15,480 × 0.0095) = 1.1e-5
        assert!(p > 0.0 && p < 5e-5, "{p}");
        // an accelerated one is never throttled
        let (index, id) = one_campaign("accelerated", "0.50", "9.50");
        board.step(&index, start);
        assert_eq!(index.throttle(id).expect("live").probability(), 1.0);
    }
}
