//! One ad decision, end to end: candidates from the index, eligibility, the pacing throttle, the
//! auction, the frequency cap of the winner (Redis), and the spend from the lease this instance
//! holds. The pure parts live in their modules; this is where they meet the I/O.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use ledger::{Clock, LeaseId};
use redis::aio::ConnectionManager;
use uuid::Uuid;

use crate::decision::auction::{Charge, Offer, Win, expected_click_cost, second_price};
use crate::decision::breaker::Breaker;
use crate::decision::campaign::{Creative, LiveCampaign};
use crate::decision::ctr::CtrModel;
use crate::decision::eligibility::Rates;
use crate::decision::id_hash::IdSet;
use crate::decision::request::{AdRequest, Slot};
use crate::decision::scan::{
    BEST_OFFERS, Candidate, DECLINE_REASONS, Declines, ScanRules, best_offers,
};
use crate::runtime::caps::FrequencyCaps;
use crate::runtime::feed::LiveIndex;
use crate::runtime::pacing_board::PacingBoard;
use crate::runtime::request_metrics::RequestMetrics;
use crate::runtime::serving_state::ServingState;
use crate::runtime::wallets::Wallets;

/// Most times a slot's auction is run again after its winner could not be served.
const MAX_ROUNDS: usize = BEST_OFFERS;

/// A slot sold.
#[derive(Debug, Clone)]
pub struct SoldSlot {
    pub slot_id: String,
    pub campaign: Arc<LiveCampaign>,
    /// Index of the creative shown in the campaign's (see [`SoldSlot::creative`]).
    pub creative_index: usize,
    pub win: Win,
    /// The clearing price in the campaign's currency, micros: per thousand impressions, or per
    /// click for CPC campaigns (what the tracking URLs carry, and billing divides by 1000).
    pub price_micros: i64,
    /// What the lease paid for the ad, in the campaign's currency, micros: one impression (the
    /// CPM / 1000 rounded up to the micro, never less than billing charges), or for a CPC
    /// campaign what the impression is expected to cost (the charge per click times the
    /// campaign's click rate; the budget controller counts the clicks once they are known).
    pub cost_micros: i64,
    pub lease: LeaseId,
    pub deal: Option<String>,
}

impl SoldSlot {
    /// The creative shown.
    pub fn creative(&self) -> &Creative {
        &self.campaign.creatives[self.creative_index]
    }
}

/// The outcome of a request.
#[derive(Debug, Clone)]
pub struct Decision {
    pub auction_id: Uuid,
    pub sold: Vec<SoldSlot>,
}

/// What one decision reads, counts and spends, and nothing else of the [`ServingState`]: the live
/// index, the clock, rates and click rates, the seat and reserve price, the pacing board, the
/// frequency caps behind their breaker, this instance's wallets and the request path's metrics.
pub struct Decider<'a> {
    pub clock: &'a dyn Clock,
    pub live: &'a LiveIndex,
    pub rates: &'a Rates,
    pub ctr: &'a dyn CtrModel,
    pub seat: &'a str,
    pub reserve_cpm_micros: i64,
    pub pacing: &'a PacingBoard,
    pub caps: &'a FrequencyCaps<ConnectionManager>,
    pub caps_breaker: &'a Mutex<Breaker>,
    pub wallets: &'a Wallets<ConnectionManager>,
    pub metrics: &'a RequestMetrics,
}

impl ServingState {
    /// The parts of the state a decision uses.
    pub fn decider(&self) -> Decider<'_> {
        Decider {
            clock: self.clock.as_ref(),
            live: &self.live,
            rates: &self.rates,
            ctr: self.ctr.as_ref(),
            seat: &self.settings.seat,
            reserve_cpm_micros: self.settings.reserve_cpm_micros,
            pacing: &self.pacing,
            caps: &self.caps,
            caps_breaker: &self.caps_breaker,
            wallets: &self.wallets,
            metrics: &self.metrics,
        }
    }

    /// Decides what to show on each slot of `request`.
    pub async fn decide(&self, request: &AdRequest<'_>) -> Decision {
        self.decider().decide(request).await
    }
}

impl Decider<'_> {
    /// Decides what to show on each slot of `request`.
    pub async fn decide(&self, request: &AdRequest<'_>) -> Decision {
        let started = Instant::now();
        let index = self.live.load();
        let now = self.clock.now();
        self.pacing.request(now);
        let auction_id = Uuid::now_v7();
        let mut sold = Vec::new();
        let mut winners: IdSet<Uuid> = IdSet::default();
        let mut declines: Declines = [0; DECLINE_REASONS];
        let rules = ScanRules {
            ctr: self.ctr,
            rates: self.rates,
            seat: self.seat,
            reserve_cpm_micros: self.reserve_cpm_micros,
        };
        for slot in &request.slots {
            let t = Instant::now();
            let mut candidates = best_offers(
                &rules,
                &index,
                request,
                slot,
                &winners,
                now,
                &mut rand::rng(),
                &mut declines,
            );
            self.metrics.candidates.record(t.elapsed());
            if let Some(s) = self.sell(request, slot, &mut candidates, auction_id).await {
                winners.insert(s.campaign.id);
                sold.push(s);
            }
        }
        for (counter, n) in self.metrics.declines.iter().zip(declines) {
            if n > 0 {
                counter.increment(n);
            }
        }
        self.metrics.decide.record(started.elapsed());
        Decision { auction_id, sold }
    }

    /// Runs the slot's auction; a winner that is capped or holds no budget drops out and the
    /// auction runs again among the rest.
    async fn sell(
        &self,
        request: &AdRequest<'_>,
        slot: &Slot<'_>,
        candidates: &mut Vec<Candidate<'_>>,
        auction_id: Uuid,
    ) -> Option<SoldSlot> {
        // the supply partner's ceiling: a floor above it could not be charged, and no price
        // clears above it
        let ceiling = request.price_ceiling_micros.unwrap_or(i64::MAX);
        candidates.retain(|c| c.floor_micros <= ceiling);
        for _ in 0..MAX_ROUNDS {
            let t = Instant::now();
            let offers: Vec<Offer> = candidates.iter().map(|c| c.offer).collect();
            // The lowest floor finds the leader; its own floor then prices it.
            let lowest = candidates.iter().map(|c| c.floor_micros).min()?;
            let leader = second_price(&offers, lowest)?;
            let floor = candidates[leader.offer].floor_micros;
            let win = second_price(&offers, floor)
                .filter(|w| w.offer == leader.offer)
                .map(|w| w.within(ceiling));
            self.metrics.auction.record(t.elapsed());
            let Some(win) = win else {
                candidates.remove(leader.offer);
                continue;
            };
            let c = &candidates[win.offer];
            // a test request is answered as any other, but counts against no cap, no lease and
            // no pace: its events are never billed
            if !request.test && !self.admit_cap(c, request, slot, auction_id).await {
                candidates.remove(win.offer);
                continue;
            }
            let t = Instant::now();
            let priced = self.price(c, win);
            let lease = match priced {
                Some(_) if request.test => Some(LeaseId(Uuid::nil())),
                Some((_, cost)) => self.wallets.spend(c.campaign, cost),
                None => None,
            };
            self.metrics.spend.record(t.elapsed());
            match (priced, lease) {
                (Some((price, cost)), Some(lease)) => {
                    if !request.test {
                        c.throttle.spend(cost);
                    }
                    let c = candidates.swap_remove(win.offer);
                    return Some(SoldSlot {
                        slot_id: slot.id.to_string(),
                        creative_index: c.creative,
                        campaign: c.campaign.clone(),
                        win,
                        price_micros: price,
                        cost_micros: cost,
                        lease,
                        deal: c.deal.map(str::to_owned),
                    });
                }
                _ => {
                    self.metrics.no_budget.increment(1);
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
        c: &Candidate<'_>,
        request: &AdRequest<'_>,
        slot: &Slot<'_>,
        auction_id: Uuid,
    ) -> bool {
        let (Some(cap), Some(user)) = (c.campaign.frequency_cap, request.user.as_deref()) else {
            return c.campaign.frequency_cap.is_none();
        };
        let now_ms = self.clock.now().timestamp_millis();
        if !self.caps_breaker_allows(now_ms) {
            metrics::counter!("servingd_cap_unavailable_total").increment(1);
            return false;
        }
        let t = Instant::now();
        let decision = format!("{auction_id}:{}", slot.id);
        let admitted = self.caps.admit(c.campaign.id, user, cap, &decision).await;
        self.metrics.caps.record(t.elapsed());
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

    fn caps_breaker_allows(&self, now_ms: i64) -> bool {
        self.caps_breaker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .allow(now_ms)
    }

    fn caps_breaker_result(&self, ok: bool, now_ms: i64) {
        let mut b = self.caps_breaker.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            b.success();
        } else {
            b.failure(now_ms);
        }
    }

    /// The clearing price in the campaign's own currency (per thousand impressions, or per
    /// click) and what the impression costs the lease: never less than what billing charges for
    /// it ([`ledger::impression_micros_at_most`]); for a CPC
    /// campaign the charge per click times its own click rate as learned so far, rounded up.
    fn price(&self, c: &Candidate<'_>, win: Win) -> Option<(i64, i64)> {
        match win.charge {
            Charge::PerMille(cpm) => {
                let cpm = self.rates.back(cpm, c.campaign.currency.code())?;
                Some((cpm, ledger::impression_micros_at_most(cpm)))
            }
            Charge::PerClick(cpc) => {
                let cpc = self.rates.back(cpc, c.campaign.currency.code())?;
                let rate = self.ctr.counting_ppb(c.campaign.id);
                Some((cpc, expected_click_cost(cpc, rate)))
            }
        }
        .filter(|(_, cost)| *cost > 0)
    }
}
