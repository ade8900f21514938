//! The scan of one slot, pure: the campaigns of the index that may bid on it, most valuable
//! first, through the pacing throttle and eligibility, into the few best offers the auction
//! takes. Campaigns are visited by what an impression can be worth to them at most, and the
//! scan stops once no campaign left could enter the best offers found.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::Rng;
use uuid::Uuid;

use crate::auction::{BidPrice, Offer};
use crate::campaign::LiveCampaign;
use crate::ctr::{CTR_CAP_PPB, CtrModel};
use crate::eligibility::{self, Decline, Rates};
use crate::id_hash::IdSet;
use crate::index::{CampaignIndex, Entry};
use crate::request::{AdRequest, Slot};

/// How many offers a slot's auction takes: the winner, the runner-up that prices it, and
/// stand-ins for winners that cannot be served (capped, or no budget held). If every one of
/// them drops out the slot goes unsold.
pub const BEST_OFFERS: usize = 6;

/// What the scan needs besides the index and the request.
#[derive(Clone, Copy)]
pub struct ScanRules<'a> {
    pub ctr: &'a dyn CtrModel,
    pub rates: &'a Rates,
    /// This platform's buyer seat (for deals).
    pub seat: &'a str,
    /// The least CPM any impression sells for, platform micros.
    pub reserve_cpm_micros: i64,
}

/// A campaign that may bid on the slot, with its offer.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub campaign: &'a Arc<LiveCampaign>,
    /// Index of the chosen creative in the campaign's.
    pub creative: usize,
    /// The floor that applies to it (the slot's or its deal's, at least the reserve), platform
    /// micros.
    pub floor_micros: i64,
    pub deal: Option<&'a str>,
    pub offer: Offer,
}

/// Per request, how many candidates each reason kept out: the eligibility reasons, then the
/// pacing throttle and bids under the floor.
pub type Declines = [u64; DECLINE_REASONS];
/// Where the pacing throttle is counted in [`Declines`].
pub const PACING: usize = Decline::ALL.len();
/// Where bids under the floor are counted in [`Declines`].
pub const BELOW_FLOOR: usize = PACING + 1;
/// How many reasons [`Declines`] counts.
pub const DECLINE_REASONS: usize = BELOW_FLOOR + 1;

/// The metric label of a [`Declines`] position.
pub fn decline_label(i: usize) -> &'static str {
    match Decline::ALL.get(i) {
        Some(d) => d.as_str(),
        None if i == PACING => "pacing",
        None => "below_floor",
    }
}

/// The best offers for `slot` of `request` at `now`, at most [`BEST_OFFERS`], best first
/// (equal offers in the order found). Campaigns in `winners` (already sold a slot of this
/// request) are passed over; each campaign turned away is counted in `declines`.
#[allow(clippy::too_many_arguments)]
pub fn best_offers<'a>(
    rules: &ScanRules<'_>,
    index: &'a CampaignIndex,
    request: &'a AdRequest,
    slot: &'a Slot,
    winners: &IdSet<Uuid>,
    now: DateTime<Utc>,
    rng: &mut impl Rng,
    declines: &mut Declines,
) -> Vec<Candidate<'a>> {
    let placement = slot
        .tag
        .as_deref()
        .or(request.placements.first().map(String::as_str))
        .unwrap_or("");
    // what an impression can be worth to a campaign at most: its CPM bid, or its CPC bid at
    // the highest click rate the model predicts now
    let max_ctr = rules.ctr.max_ctr_ppb().min(CTR_CAP_PPB);
    let bound = |e: &Entry| {
        if e.cpc {
            Offer {
                bid: BidPrice::Cpc(e.bid_platform_micros),
                ctr_ppb: max_ctr,
            }
            .ecpm()
        } else {
            e.bid_platform_micros
        }
    };
    // one pair of lists per media kind and allowed size (any size when the slot names none)
    let mut lists: Vec<&[Entry]> = Vec::new();
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
    let mut seen: IdSet<Uuid> = IdSet::default();
    let dedupe = slot.media.len() > 1 || slot.media.iter().any(|(_, sizes)| sizes.len() > 1);
    let mut heads: Vec<(i64, usize)> = lists
        .iter()
        .enumerate()
        .map(|(i, l)| (bound(&l[0]), i))
        .collect();
    let mut at = vec![0usize; lists.len()];
    let mut best: Vec<Candidate<'a>> = Vec::with_capacity(BEST_OFFERS + 1);
    // the most valuable campaign not yet looked at, over all lists (the first list wins ties)
    while let Some(head) = heads
        .iter()
        .enumerate()
        .max_by(|(_, a), (_, b)| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        .map(|(h, _)| h)
    {
        let (value, list) = heads[head];
        let entry = &lists[list][at[list]];
        at[list] += 1;
        match lists[list].get(at[list]) {
            Some(next) => heads[head].0 = bound(next),
            None => {
                heads.swap_remove(head);
            }
        }
        if best.len() == BEST_OFFERS && best.last().is_some_and(|b| value < b.offer.ecpm()) {
            break;
        }
        let campaign = &entry.campaign;
        if (!winners.is_empty() && winners.contains(&campaign.id))
            || (dedupe && !seen.insert(campaign.id))
        {
            continue;
        }
        // the throttle first: one atomic read beside the entry turns most even-paced
        // campaigns away before their targeting is read
        if !entry.passes_throttle(rng.random()) {
            declines[PACING] += 1;
            continue;
        }
        let eligible = match eligibility::check(
            campaign,
            slot,
            request,
            now,
            rules.rates,
            rules.seat,
            rng.random(),
        ) {
            Ok(e) => e,
            Err(why) => {
                declines[why as usize] += 1;
                continue;
            }
        };
        let bid = match campaign.bid {
            BidPrice::Cpm(_) => BidPrice::Cpm(entry.bid_platform_micros),
            BidPrice::Cpc(_) => BidPrice::Cpc(entry.bid_platform_micros),
        };
        let ctr_ppb = match bid {
            BidPrice::Cpm(_) => 0,
            BidPrice::Cpc(_) => rules.ctr.ctr_ppb(campaign.id, placement).min(CTR_CAP_PPB),
        };
        let offer = Offer { bid, ctr_ppb };
        let floor_micros = eligible.floor_micros.max(rules.reserve_cpm_micros);
        // keep the best, best first; equal offers keep the order they were found in
        let ecpm = offer.ecpm();
        if ecpm < floor_micros {
            declines[BELOW_FLOOR] += 1;
            continue;
        }
        let place = best.partition_point(|b| b.offer.ecpm() >= ecpm);
        if place < BEST_OFFERS {
            let creative = campaign
                .creatives
                .iter()
                .position(|c| std::ptr::eq(c, eligible.creative))
                .unwrap_or(0);
            best.insert(
                place,
                Candidate {
                    campaign,
                    creative,
                    floor_micros,
                    deal: eligible.deal,
                    offer,
                },
            );
            best.truncate(BEST_OFFERS);
        }
    }
    best
}
