//! The scan of one slot, pure: the campaigns of the index that may bid on it, most valuable
//! first, through the pacing throttle and eligibility, into the few best offers the auction
//! takes. Campaigns are visited by what an impression can be worth to them at most, and the
//! scan stops once no campaign left could enter the best offers found.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::Rng;
use uuid::Uuid;

use crate::decision::auction::{BidPrice, Offer};
use crate::decision::campaign::LiveCampaign;
use crate::decision::ctr::{CTR_CAP_PPB, CtrModel};
use crate::decision::eligibility::{self, Decline, Rates};
use crate::decision::id_hash::IdSet;
use crate::decision::index::{CampaignIndex, Entry};
use crate::decision::request::{AdRequest, Slot};
use crate::decision::throttle::Throttle;

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
    /// Its pacing throttle (a sale adds its cost to it).
    pub throttle: &'a Throttle,
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
    request: &'a AdRequest<'a>,
    slot: &'a Slot<'a>,
    winners: &IdSet<Uuid>,
    now: DateTime<Utc>,
    rng: &mut impl Rng,
    declines: &mut Declines,
) -> Vec<Candidate<'a>> {
    let placement = slot
        .tag
        .as_deref()
        .or(request.placements.first().map(|p| &**p))
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
            lists.extend(index.lists(request.country, *media, None));
        } else {
            for size in sizes {
                lists.extend(index.lists(request.country, *media, Some(*size)));
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
        if (!winners.is_empty() && winners.contains(&entry.id))
            || (dedupe && !seen.insert(entry.id))
        {
            continue;
        }
        // the throttle first: one atomic read beside the entry turns most even-paced
        // campaigns away before their targeting is read
        if !entry.passes_throttle(rng.random()) {
            declines[PACING] += 1;
            continue;
        }
        let eligible = match eligibility::check_gated(
            &entry.gate,
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
        let offer = if entry.cpc {
            Offer {
                bid: BidPrice::Cpc(entry.bid_platform_micros),
                ctr_ppb: rules.ctr.ctr_ppb(entry.id, placement).min(CTR_CAP_PPB),
            }
        } else {
            Offer {
                bid: BidPrice::Cpm(entry.bid_platform_micros),
                ctr_ppb: 0,
            }
        };
        let floor_micros = eligible.floor_micros.max(rules.reserve_cpm_micros);
        // keep the best, best first; equal offers keep the order they were found in
        let ecpm = offer.ecpm();
        if ecpm < floor_micros {
            declines[BELOW_FLOOR] += 1;
            continue;
        }
        let place = best.partition_point(|b| b.offer.ecpm() >= ecpm);
        if place < BEST_OFFERS {
            best.insert(
                place,
                Candidate {
                    campaign,
                    throttle: &entry.throttle,
                    creative: eligible.creative,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::ctr::SmoothedCtr;
    use domain::campaign::Campaign;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::json;

    /// A campaign with a CPM bid, banner 300×250, every country unless `countries` says.
    fn feed(id: u128, cpm: &str, countries: &[&str], pacing: &str) -> Campaign {
        serde_json::from_value(json!({
            "id": Uuid::from_u128(id), "advertiser_id": Uuid::from_u128(999),
            "status": "active", "currency": "USD", "revision": 1,
            "name": "c", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "schedule": {"start": "2026-01-01T00:00:00Z", "time_zone": "UTC"},
            "budget": {"daily": "10"}, "bid": {"kind": "cpm", "amount": cpm}, "pacing": pacing,
            "targeting": {"countries": countries}, "frequency_cap": null,
            "creatives": [{"id": "c", "format": "banner", "w": 300, "h": 250,
                           "click_url": "https://a.example", "markup": "x", "adomain": "a.example"}]
        }))
        .expect("feed")
    }

    fn request(country: &str, floor: f64) -> AdRequest<'static> {
        let body = json!({"id": "r", "imp": [{"id": "1", "bidfloor": floor,
                          "banner": {"w": 300, "h": 250}}],
                          "device": {"geo": {"country": country}}});
        crate::decision::openrtb::parse(body.to_string().as_bytes())
            .expect("request")
            .into_owned()
    }

    fn scan(index: &CampaignIndex, request: &AdRequest<'_>) -> (Vec<u128>, Declines) {
        let ctr = SmoothedCtr::new(10_000_000, 100);
        let rates = Rates::default();
        let rules = ScanRules {
            ctr: &ctr,
            rates: &rates,
            seat: "seat",
            reserve_cpm_micros: 0,
        };
        let mut declines = [0; DECLINE_REASONS];
        let now = "2026-06-01T12:00:00Z".parse().expect("time");
        let best = best_offers(
            &rules,
            index,
            request,
            &request.slots[0],
            &IdSet::default(),
            now,
            &mut StdRng::seed_from_u64(7),
            &mut declines,
        );
        let ids = best.iter().map(|c| c.campaign.id.as_u128()).collect();
        (ids, declines)
    }

    #[test]
    fn the_best_offers_come_best_first_over_both_lists_and_the_scan_stops_early() {
        // 20 campaigns for every country, 20 for France, bids 1.00 to 4.90
        let mut campaigns: Vec<Campaign> = (0..40)
            .map(|n| {
                let countries: &[&str] = if n % 2 == 0 { &[] } else { &["FR"] };
                feed(
                    n,
                    &format!("{}.{}0", 1 + n / 10, n % 10),
                    countries,
                    "accelerated",
                )
            })
            .collect();
        // the cheapest bids under the floor: looked at, they would be counted
        campaigns.push(feed(100, "0.40", &[], "accelerated"));
        campaigns.push(feed(101, "0.40", &["FR"], "accelerated"));
        let (index, _) = CampaignIndex::empty(Rates::default()).from_snapshot(1, campaigns);
        let (ids, declines) = scan(&index, &request("FRA", 0.5));
        assert_eq!(ids, [39, 38, 37, 36, 35, 34]);
        assert_eq!(
            declines.iter().sum::<u64>(),
            0,
            "the scan stopped before the campaigns that could not place"
        );
        // outside France only the campaigns for every country bid
        let (ids, _) = scan(&index, &request("DEU", 0.5));
        assert_eq!(ids, [38, 36, 34, 32, 30, 28]);
    }

    #[test]
    fn closed_throttles_and_floors_turn_campaigns_away_and_are_counted() {
        let (index, _) = CampaignIndex::empty(Rates::default()).from_snapshot(
            1,
            vec![
                feed(1, "5", &[], "even"),
                feed(2, "4", &[], "even"),
                feed(3, "3", &[], "accelerated"),
                feed(4, "0.40", &[], "accelerated"),
            ],
        );
        let throttle = |id| index.throttle(Uuid::from_u128(id)).expect("live");
        throttle(1).set_probability(0.0);
        throttle(2).set_probability(1.0);
        // an accelerated campaign is never throttled, whatever its cell holds
        throttle(3).set_probability(0.0);
        // the scan reads the copies in the index's entries, refreshed by each pacing step
        index.refresh_throttles();
        let (ids, declines) = scan(&index, &request("USA", 0.5));
        assert_eq!(ids, [2, 3]);
        assert_eq!(declines[PACING], 1);
        assert_eq!(declines[BELOW_FLOOR], 1);
        assert_eq!(decline_label(PACING), "pacing");
        assert_eq!(decline_label(BELOW_FLOOR), "below_floor");
    }
}
