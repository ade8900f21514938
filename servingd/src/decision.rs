//! One ad decision, end to end: candidates from the index, eligibility, the pacing throttle, the
//! auction, the frequency cap of the winner (Redis), and the spend from the lease this instance
//! holds. The pure parts live in their modules; this is where they meet the I/O.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use ledger::LeaseId;
use rand::Rng;
use uuid::Uuid;

use crate::auction::{BidPrice, Charge, Offer, Win, second_price};
use crate::campaign::{Creative, LiveCampaign};
use crate::ctr::CTR_CAP_PPB;
use crate::eligibility::{self, Decline};
use crate::engine::Engine;
use crate::request::{AdRequest, Slot};

/// How many offers a slot's auction takes: the winner, the runner-up that prices it, and
/// stand-ins for winners that cannot be served (capped, or no budget held). If every one of
/// them drops out the slot goes unsold.
const BEST_OFFERS: usize = 6;

/// Most times a slot's auction is run again after its winner could not be served.
const MAX_ROUNDS: usize = BEST_OFFERS;

/// A slot sold.
#[derive(Debug, Clone)]
pub struct SoldSlot {
    pub slot_id: String,
    pub campaign: Arc<LiveCampaign>,
    pub creative: Creative,
    pub win: Win,
    /// What one impression (or for CPC, one click) costs the advertiser, in its currency, micros.
    pub cost_micros: i64,
    pub lease: LeaseId,
    pub deal: Option<String>,
}

/// The outcome of a request.
#[derive(Debug, Clone)]
pub struct Decision {
    pub auction_id: Uuid,
    pub sold: Vec<SoldSlot>,
}

struct Candidate {
    campaign: Arc<LiveCampaign>,
    /// Index of the chosen creative in the campaign's.
    creative: usize,
    floor_micros: i64,
    deal: Option<String>,
    offer: Offer,
}

impl Engine {
    /// Decides what to show on each slot of `request`.
    pub async fn decide(&self, request: &AdRequest) -> Decision {
        let started = Instant::now();
        let index = self.live.load();
        let now = Utc::now();
        self.pacing.request(now);
        let auction_id = Uuid::now_v7();
        let mut sold = Vec::new();
        let mut winners: HashSet<Uuid> = HashSet::new();
        let mut declines: Declines = [0; BELOW_FLOOR + 1];
        for slot in &request.slots {
            let t = Instant::now();
            let mut candidates =
                self.candidates(&index, request, slot, &winners, now, &mut declines);
            metrics::histogram!("servingd_stage_seconds", "stage" => "candidates")
                .record(t.elapsed().as_secs_f64());
            if let Some(s) = self.sell(request, slot, &mut candidates, auction_id).await {
                winners.insert(s.campaign.id);
                sold.push(s);
            }
        }
        for (i, n) in declines.iter().enumerate() {
            if *n > 0 {
                metrics::counter!("servingd_declines_total", "reason" => label(i)).increment(*n);
            }
        }
        metrics::histogram!("servingd_stage_seconds", "stage" => "decide")
            .record(started.elapsed().as_secs_f64());
        Decision { auction_id, sold }
    }

    /// The best offers for `slot`, at most [`BEST_OFFERS`], best first. Campaigns are scanned
    /// most valuable first (by what an impression can be worth to them at most), and the scan
    /// stops once no campaign left could enter the best offers found.
    fn candidates(
        &self,
        index: &crate::index::CampaignIndex,
        request: &AdRequest,
        slot: &Slot,
        winners: &HashSet<Uuid>,
        now: chrono::DateTime<Utc>,
        declines: &mut Declines,
    ) -> Vec<Candidate> {
        let mut rng = rand::rng();
        let placement = slot
            .tag
            .as_deref()
            .or(request.placements.first().map(String::as_str))
            .unwrap_or("");
        let pace = self.pacing.snapshot();
        // what an impression can be worth to a campaign at most: its CPM bid, or its CPC bid at
        // the highest click rate the model predicts now
        let max_ctr = self.ctr.max_ctr_ppb().min(CTR_CAP_PPB);
        let bound = |c: &LiveCampaign| match c.bid {
            BidPrice::Cpm(_) => c.bid_platform_micros,
            BidPrice::Cpc(_) => Offer {
                bid: BidPrice::Cpc(c.bid_platform_micros),
                ctr_ppb: max_ctr,
            }
            .ecpm(),
        };
        // one pair of lists per media kind and allowed size (any size when the slot names none)
        let mut lists: Vec<&[Arc<LiveCampaign>]> = Vec::new();
        for (media, sizes) in &slot.media {
            if sizes.is_empty() {
                lists.extend(index.lists(request.country.as_deref(), *media, None));
            } else {
                for size in sizes {
                    lists.extend(index.lists(request.country.as_deref(), *media, Some(*size)));
                }
            }
        }
        lists.retain(|l| !l.is_empty());
        // a campaign in several lists (several fitting sizes) is looked at once
        let mut seen: HashSet<Uuid> = HashSet::new();
        let dedupe = slot.media.len() > 1 || slot.media.iter().any(|(_, sizes)| sizes.len() > 1);
        let mut at = vec![0usize; lists.len()];
        let mut best: Vec<Candidate> = Vec::with_capacity(BEST_OFFERS + 1);
        // the most valuable campaign not yet looked at, over all lists
        while let Some((list, campaign)) = lists
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.get(at[i]).map(|c| (i, c)))
            .max_by_key(|(_, c)| bound(c))
        {
            at[list] += 1;
            if best.len() == BEST_OFFERS
                && best
                    .last()
                    .is_some_and(|b| bound(campaign) < b.offer.ecpm())
            {
                break;
            }
            if winners.contains(&campaign.id) || (dedupe && !seen.insert(campaign.id)) {
                continue;
            }
            let eligible = match eligibility::check(
                campaign,
                slot,
                request,
                now,
                &self.rates,
                &self.settings.seat,
                rng.random(),
            ) {
                Ok(e) => e,
                Err(why) => {
                    declines[why as usize] += 1;
                    continue;
                }
            };
            let p = pace.probability(campaign);
            if p < 1.0 && !rng.random_bool(p.clamp(0.0, 1.0)) {
                declines[PACING] += 1;
                continue;
            }
            let bid = match campaign.bid {
                BidPrice::Cpm(m) => self.rates.bid(m, &campaign.currency).map(BidPrice::Cpm),
                BidPrice::Cpc(m) => self.rates.bid(m, &campaign.currency).map(BidPrice::Cpc),
            };
            let Some(bid) = bid else {
                declines[Decline::Currency as usize] += 1;
                continue;
            };
            let ctr_ppb = match bid {
                BidPrice::Cpm(_) => 0,
                BidPrice::Cpc(_) => self.ctr.ctr_ppb(campaign.id, placement).min(CTR_CAP_PPB),
            };
            let creative = campaign
                .creatives
                .iter()
                .position(|c| std::ptr::eq(c, eligible.creative))
                .unwrap_or(0);
            let candidate = Candidate {
                campaign: campaign.clone(),
                creative,
                floor_micros: eligible.floor_micros.max(self.settings.reserve_cpm_micros),
                deal: eligible.deal.map(str::to_owned),
                offer: Offer { bid, ctr_ppb },
            };
            // keep the best, best first; equal offers keep the order they were found in
            let ecpm = candidate.offer.ecpm();
            if ecpm < candidate.floor_micros {
                declines[BELOW_FLOOR] += 1;
                continue;
            }
            let place = best.partition_point(|b| b.offer.ecpm() >= ecpm);
            if place < BEST_OFFERS {
                best.insert(place, candidate);
                best.truncate(BEST_OFFERS);
            }
        }
        best
    }

    /// Runs the slot's auction; a winner that is capped or holds no budget drops out and the
    /// auction runs again among the rest.
    async fn sell(
        &self,
        request: &AdRequest,
        slot: &Slot,
        candidates: &mut Vec<Candidate>,
        auction_id: Uuid,
    ) -> Option<SoldSlot> {
        for _ in 0..MAX_ROUNDS {
            let t = Instant::now();
            let offers: Vec<Offer> = candidates.iter().map(|c| c.offer).collect();
            // The lowest floor finds the leader; its own floor then prices it.
            let lowest = candidates.iter().map(|c| c.floor_micros).min()?;
            let leader = second_price(&offers, lowest)?;
            let floor = candidates[leader.offer].floor_micros;
            let win = second_price(&offers, floor).filter(|w| w.offer == leader.offer);
            metrics::histogram!("servingd_stage_seconds", "stage" => "auction")
                .record(t.elapsed().as_secs_f64());
            let Some(win) = win else {
                candidates.remove(leader.offer);
                continue;
            };
            let c = &candidates[win.offer];
            if !self.admit_cap(c, request, slot, auction_id).await {
                candidates.remove(win.offer);
                continue;
            }
            let t = Instant::now();
            let cost = self.cost(c, win);
            let lease = cost.and_then(|cost| self.wallets.spend(&c.campaign, cost));
            metrics::histogram!("servingd_stage_seconds", "stage" => "spend")
                .record(t.elapsed().as_secs_f64());
            match (cost, lease) {
                (Some(cost), Some(lease)) => {
                    self.pacing.spent(c.campaign.id, cost);
                    let c = candidates.swap_remove(win.offer);
                    return Some(SoldSlot {
                        slot_id: slot.id.clone(),
                        creative: c.campaign.creatives[c.creative].clone(),
                        campaign: c.campaign,
                        win,
                        cost_micros: cost,
                        lease,
                        deal: c.deal,
                    });
                }
                _ => {
                    metrics::counter!("servingd_no_budget_total").increment(1);
                    candidates.remove(win.offer);
                }
            }
        }
        None
    }

    /// Counts the decision against the winner's frequency cap; `false`: capped, or the cap
    /// cannot be checked (Redis away: capped campaigns sit out rather than risk the cap).
    async fn admit_cap(
        &self,
        c: &Candidate,
        request: &AdRequest,
        slot: &Slot,
        auction_id: Uuid,
    ) -> bool {
        let (Some(cap), Some(user)) = (c.campaign.frequency_cap, request.user.as_deref()) else {
            return c.campaign.frequency_cap.is_none();
        };
        let now_ms = Utc::now().timestamp_millis();
        if !self.caps_breaker_allows(now_ms) {
            metrics::counter!("servingd_cap_unavailable_total").increment(1);
            return false;
        }
        let t = Instant::now();
        let decision = format!("{auction_id}:{}", slot.id);
        let admitted = self.caps.admit(c.campaign.id, user, cap, &decision).await;
        metrics::histogram!("servingd_stage_seconds", "stage" => "caps")
            .record(t.elapsed().as_secs_f64());
        match admitted {
            Ok(admitted) => {
                self.caps_breaker_result(true, now_ms);
                if !admitted {
                    metrics::counter!("servingd_capped_total").increment(1);
                }
                admitted
            }
            Err(e) => {
                self.caps_breaker_result(false, now_ms);
                tracing::warn!(error = %e, "frequency cap check failed");
                false
            }
        }
    }

    /// What the advertiser pays for this win, per impression (CPM) or per click (CPC), in its
    /// own currency, micros; impressions rounded up to the micro so the lease covers the bill.
    fn cost(&self, c: &Candidate, win: Win) -> Option<i64> {
        match win.charge {
            Charge::PerMille(cpm) => {
                let per_impression = (cpm + 999) / 1000;
                self.rates.back(per_impression, &c.campaign.currency)
            }
            // A click can follow any impression: the lease holds its whole price until settled.
            Charge::PerClick(cpc) => self.rates.back(cpc, &c.campaign.currency),
        }
        .filter(|m| *m > 0)
    }
}

/// Per request, how many candidates each reason kept out; after the eligibility reasons come
/// the pacing throttle and bids under the floor.
type Declines = [u64; BELOW_FLOOR + 1];
const PACING: usize = Decline::ALL.len();
const BELOW_FLOOR: usize = PACING + 1;

fn label(i: usize) -> &'static str {
    match Decline::ALL.get(i) {
        Some(d) => d.as_str(),
        None if i == PACING => "pacing",
        None => "below_floor",
    }
}
