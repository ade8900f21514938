//! What a campaign's ads cost: the most one impression costs its lease, and its budget for a day.

use chrono::TimeZone;

use crate::decision::auction::{BidPrice, expected_click_cost};
use crate::decision::campaign::LiveCampaign;
use crate::decision::ctr::CTR_CAP_PPB;

/// The most one impression of `campaign` costs its lease, micros: one impression at its CPM
/// bid (rounded down to the micro, exactly what billing charges), or for a CPC campaign its bid
/// per click at the highest click rate its count gives. A clearing price is at most the bid
/// (converted to the platform's currency and back, both rounded down), so a lease of this size
/// always pays for an impression (one that could not would come back unspent, and be asked
/// for again, at once).
pub fn unit_cost(campaign: &LiveCampaign) -> i64 {
    match campaign.bid {
        BidPrice::Cpm(cpm) => ledger::impression_micros_at_most(cpm),
        BidPrice::Cpc(cpc) => expected_click_cost(cpc, CTR_CAP_PPB),
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
