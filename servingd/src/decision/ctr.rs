//! Predicted click-through rates. The model is a trait so a better one can replace it; the one
//! here is a smoothed historical rate per campaign and placement: a prior rate counted as if it
//! had been seen over `prior_weight` impressions, plus the clicks and impressions observed,
//! `(clicks + prior × weight) / (impressions + weight)`. A campaign's own rate (over all its
//! placements: the tracking endpoints count its impressions and clicks) starts at the platform
//! prior; a pair starts at its campaign's rate. Each moves to what it earns as evidence builds
//! up. A CPC campaign's impressions cost its budget what this predicts, so learning the rate
//! keeps that close to what the clicks then bill.

use std::collections::{HashMap, VecDeque};
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use uuid::Uuid;

use crate::decision::auction::PPB;

/// The highest click-through rate any prediction may give: 5%. Rates above it are more likely
/// click fraud than interest; the cap also bounds what a CPC bid can be worth, which lets the
/// decision stop scanning campaigns early.
pub const CTR_CAP_PPB: i64 = 50_000_000;

/// How old an impression is before the rate a CPC campaign's budget counts learns from it,
/// seconds. Most clicks come within seconds of their impression; counted at once, the newest
/// impressions (whose clicks are still to come) would pull that rate below the real one, the
/// more so the faster the campaign serves, and it would serve past its budget until the clicks
/// caught up. Clicks count at once (a rate a little high only delays delivery).
pub const CLICK_MATURITY_S: u64 = 10;

/// Predicts how likely an impression of a campaign on a placement is to be clicked.
pub trait CtrModel: Send + Sync {
    /// The predicted rate, parts per billion (the decision caps it at [`CTR_CAP_PPB`]).
    fn ctr_ppb(&self, campaign: Uuid, placement: &str) -> i64;
    /// Counts what was observed.
    fn record(&self, campaign: Uuid, placement: &str, impressions: u64, clicks: u64);
    /// A rate no prediction exceeds right now (lets the decision stop scanning CPC campaigns
    /// once none left could beat the offers found), parts per billion.
    fn max_ctr_ppb(&self) -> i64;
    /// The campaign's own click rate as its budget counts it, parts per billion: what a CPC
    /// campaign's impressions count against its budget until their clicks are billed. Counting
    /// too little lets a campaign serve past its budget until the clicks catch up, so it starts
    /// from the highest rate any prediction gives ([`CTR_CAP_PPB`]) and learns faster than
    /// predictions do (that prior weighs a tenth as much): counting too much only delays
    /// delivery until the click window gives the unclicked part back.
    fn counting_ppb(&self, campaign: Uuid) -> i64;
}

/// The smoothed rate, pure: parts per billion, rounded down, at least 1.
pub fn smoothed_ppb(clicks: u64, impressions: u64, prior_ppb: i64, prior_weight: u64) -> i64 {
    let clicks = u128::from(clicks.min(impressions));
    let prior_clicks_ppb = u128::try_from(prior_ppb.max(0)).unwrap_or(0) * u128::from(prior_weight);
    let numerator = clicks * PPB as u128 + prior_clicks_ppb;
    let denominator = u128::from(impressions) + u128::from(prior_weight);
    if denominator == 0 {
        return prior_ppb.max(1);
    }
    i64::try_from(numerator / denominator)
        .unwrap_or(PPB)
        .clamp(1, PPB)
}

/// One campaign's (impressions, clicks) over all its placements, and per placement.
#[derive(Default)]
struct Seen {
    all: (u64, u64),
    by_placement: HashMap<String, (u64, u64)>,
    maturing: Maturing,
}

/// Impressions by the second they were counted, until they are [`CLICK_MATURITY_S`] old.
#[derive(Default)]
struct Maturing {
    /// (second, impressions), oldest first.
    recent: VecDeque<(u64, u64)>,
    matured: u64,
}

impl Maturing {
    /// Counts `impressions` at second `now`, and matures what has come of age.
    fn add(&mut self, now: u64, impressions: u64) {
        while let Some(&(at, n)) = self.recent.front()
            && now.saturating_sub(at) >= CLICK_MATURITY_S
        {
            self.matured = self.matured.saturating_add(n);
            self.recent.pop_front();
        }
        if impressions == 0 {
            return;
        }
        match self.recent.back_mut() {
            Some((at, n)) if *at == now => *n = n.saturating_add(impressions),
            _ => self.recent.push_back((now, impressions)),
        }
    }
}

/// Counts per campaign and placement in memory, smoothed towards a prior.
pub struct SmoothedCtr {
    prior_ppb: i64,
    prior_weight: u64,
    seen: RwLock<HashMap<Uuid, Seen>>,
    /// The highest rate predicted for any pair so far (the prior at first).
    max_ppb: AtomicI64,
    /// Where the seconds of [`Maturing`] count from.
    started: Instant,
}

impl SmoothedCtr {
    /// A model with `prior_ppb` as the rate of anything new, worth `prior_weight` impressions.
    pub fn new(prior_ppb: i64, prior_weight: u64) -> SmoothedCtr {
        SmoothedCtr {
            prior_ppb,
            prior_weight,
            seen: RwLock::new(HashMap::new()),
            max_ppb: AtomicI64::new(prior_ppb.clamp(1, CTR_CAP_PPB)),
            started: Instant::now(),
        }
    }

    /// [`CtrModel::record`] at second `now` of the model's life.
    fn record_at(&self, now: u64, campaign: Uuid, placement: &str, impressions: u64, clicks: u64) {
        let mut seen = self.seen.write().unwrap_or_else(|p| p.into_inner());
        let seen = seen.entry(campaign).or_default();
        let add = |counts: &mut (u64, u64)| {
            counts.0 = counts.0.saturating_add(impressions);
            counts.1 = counts.1.saturating_add(clicks);
        };
        add(&mut seen.all);
        seen.maturing.add(now, impressions);
        let (i, c) = seen.all;
        let mut rate = smoothed_ppb(c, i, self.prior_ppb, self.prior_weight);
        if !placement.is_empty() {
            let pair = seen.by_placement.entry(placement.to_owned()).or_default();
            add(pair);
            rate = rate.max(smoothed_ppb(pair.1, pair.0, rate, self.prior_weight));
        }
        self.max_ppb
            .fetch_max(rate.min(CTR_CAP_PPB), Ordering::Relaxed);
    }
}

impl CtrModel for SmoothedCtr {
    fn ctr_ppb(&self, campaign: Uuid, placement: &str) -> i64 {
        let seen = self.seen.read().unwrap_or_else(|p| p.into_inner());
        let Some(seen) = seen.get(&campaign) else {
            return self.prior_ppb.clamp(1, CTR_CAP_PPB);
        };
        let (impressions, clicks) = seen.all;
        let campaign_ppb = smoothed_ppb(clicks, impressions, self.prior_ppb, self.prior_weight);
        let (impressions, clicks) = seen.by_placement.get(placement).copied().unwrap_or((0, 0));
        smoothed_ppb(clicks, impressions, campaign_ppb, self.prior_weight).min(CTR_CAP_PPB)
    }

    fn record(&self, campaign: Uuid, placement: &str, impressions: u64, clicks: u64) {
        let now = self.started.elapsed().as_secs();
        self.record_at(now, campaign, placement, impressions, clicks);
    }

    fn max_ctr_ppb(&self) -> i64 {
        self.max_ppb.load(Ordering::Relaxed)
    }

    fn counting_ppb(&self, campaign: Uuid) -> i64 {
        let seen = self.seen.read().unwrap_or_else(|p| p.into_inner());
        let (impressions, clicks) = seen
            .get(&campaign)
            .map_or((0, 0), |s| (s.maturing.matured, s.all.1));
        smoothed_ppb(clicks, impressions, CTR_CAP_PPB, self.prior_weight / 10).min(CTR_CAP_PPB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_PERCENT: i64 = PPB / 100;

    #[test]
    fn new_pairs_get_the_prior_and_evidence_moves_them() {
        assert_eq!(smoothed_ppb(0, 0, ONE_PERCENT, 1_000), ONE_PERCENT);
        // 50 clicks in 1,000 impressions, prior 1% worth 1,000: (50 + 10) / 2000 = 3%
        assert_eq!(smoothed_ppb(50, 1_000, ONE_PERCENT, 1_000), 3 * ONE_PERCENT);
        // much evidence: close to what was observed
        let observed = smoothed_ppb(20_000, 1_000_000, ONE_PERCENT, 1_000);
        assert!((observed - 2 * ONE_PERCENT).abs() < ONE_PERCENT / 50);
        // more clicks than impressions are capped; no clicks never reaches zero
        assert!(smoothed_ppb(10, 5, ONE_PERCENT, 0) <= PPB);
        assert!(smoothed_ppb(0, 1_000_000_000, ONE_PERCENT, 10) >= 1);
    }

    #[test]
    fn the_model_keeps_pairs_apart() {
        let model = SmoothedCtr::new(ONE_PERCENT, 100);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        model.record(a, "site-1", 1_000, 30);
        // the campaign's rate: (30 + 1% × 100) / 1,100
        let campaign = (30 * PPB + ONE_PERCENT * 100) / 1_100;
        assert_eq!(
            model.ctr_ppb(a, "site-1"),
            (30 * PPB + campaign * 100) / 1_100
        );
        // another placement of the campaign starts at the campaign's rate
        assert_eq!(model.ctr_ppb(a, "site-2"), campaign);
        assert_eq!(model.ctr_ppb(b, "site-1"), ONE_PERCENT);
        // the bound covers every prediction
        assert_eq!(model.max_ctr_ppb(), model.ctr_ppb(a, "site-1"));
        // every click: predictions and the bound stop at the cap
        model.record(b, "site-1", 1_000, 1_000);
        assert_eq!(model.ctr_ppb(b, "site-1"), CTR_CAP_PPB);
        assert_eq!(model.max_ctr_ppb(), CTR_CAP_PPB);
    }

    #[test]
    fn events_without_a_placement_teach_the_campaigns_rate() {
        let model = SmoothedCtr::new(ONE_PERCENT / 2, 2_000);
        let a = Uuid::now_v7();
        // what the tracking endpoints count: 20,000 impressions, 2% clicked
        model.record(a, "", 20_000, 0);
        model.record(a, "", 0, 400);
        let rate = model.ctr_ppb(a, "any-site");
        assert_eq!(rate, (400 * PPB + ONE_PERCENT / 2 * 2_000) / 22_000);
        assert!(rate > 18 * ONE_PERCENT / 10);
        assert_eq!(model.counting_ppb(Uuid::now_v7()), CTR_CAP_PPB);
    }

    #[test]
    fn what_a_campaigns_impressions_count_learns_from_impressions_old_enough_to_be_clicked() {
        let model = SmoothedCtr::new(ONE_PERCENT / 2, 2_000);
        let a = Uuid::now_v7();
        // 20,000 impressions in the first second, their 400 clicks (2%) in the next
        model.record_at(0, a, "", 20_000, 0);
        model.record_at(1, a, "", 0, 400);
        // not yet old enough: the count stays at the cap, not at 400 in 20,000 clicks so far
        model.record_at(CLICK_MATURITY_S - 1, a, "", 0, 0);
        assert_eq!(model.counting_ppb(a), CTR_CAP_PPB);
        // old enough: it starts from the cap and learns faster than predictions (the prior
        // weighs 200 impressions)
        model.record_at(CLICK_MATURITY_S, a, "", 1_000, 0);
        assert_eq!(
            model.counting_ppb(a),
            (400 * PPB + CTR_CAP_PPB * 200) / 20_200
        );
        // predictions learn from every impression at once
        assert_eq!(
            model.ctr_ppb(a, "any-site"),
            (400 * PPB + ONE_PERCENT / 2 * 2_000) / 23_000
        );
        let b = Uuid::now_v7();
        model.record_at(0, b, "", 2_000, 40);
        model.record_at(CLICK_MATURITY_S, b, "", 0, 0);
        assert!(model.counting_ppb(b) < 3 * ONE_PERCENT);
    }

    #[test]
    fn impressions_mature_second_by_second() {
        let mut maturing = Maturing::default();
        maturing.add(0, 5);
        maturing.add(0, 5);
        maturing.add(3, 7);
        maturing.add(CLICK_MATURITY_S - 1, 0);
        assert_eq!(maturing.matured, 0);
        maturing.add(CLICK_MATURITY_S, 1);
        assert_eq!(maturing.matured, 10);
        maturing.add(CLICK_MATURITY_S + 3, 0);
        assert_eq!(maturing.matured, 17);
        assert_eq!(maturing.recent.len(), 1);
    }
}
