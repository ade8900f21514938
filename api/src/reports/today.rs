//! A campaign's day so far in one row, for a dashboard: spend against the day's budget and
//! against the pace target up to now, delivery, CTR and refunds. Pure.

use budget::day_curve::HourProfile;
use chrono::{DateTime, Offset, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use domain::campaign::Campaign;

use crate::http::json::money_text;
use crate::reports::metrics::paced_target;

/// A campaign's day so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TodayRow {
    pub campaign_id: uuid::Uuid,
    pub name: String,
    pub status: String,
    #[schema(example = "USD")]
    pub currency: String,
    /// What the campaign should spend today (absent without a daily budget or a lifetime
    /// budget with an end date).
    pub day_budget: Option<String>,
    /// Net spend since local midnight.
    pub spent: String,
    /// `spent` over `day_budget`, 4 decimals.
    pub used: Option<String>,
    /// What even pacing aims to have spent by now.
    pub target_so_far: Option<String>,
    /// `spent` over `target_so_far` (1 = on pace), 4 decimals.
    pub pace: Option<String>,
    pub impressions: i64,
    pub clicks: i64,
    /// Clicks per impression, 6 decimals.
    pub ctr: Option<String>,
    /// Invalid-traffic refunds since local midnight.
    pub refunds: String,
}

/// What the ledger and the events say of a campaign's day so far.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DaySoFar {
    pub spend: Decimal,
    pub refunds: Decimal,
    pub impressions: i64,
    pub clicks: i64,
    /// When its first hold of the day was posted (it started running then).
    pub first_hold_at: Option<DateTime<Utc>>,
}

/// Where `now` is in the local day that began at `midnight` and ends at `next_midnight`, as a
/// fraction (0 to 1).
pub fn day_fraction(
    at: DateTime<Utc>,
    midnight: DateTime<Utc>,
    next_midnight: DateTime<Utc>,
) -> f64 {
    let length = (next_midnight - midnight).num_milliseconds() as f64;
    if length <= 0.0 {
        return 0.0;
    }
    ((at - midnight).num_milliseconds() as f64 / length).clamp(0.0, 1.0)
}

/// What even pacing aims to have spent of `per_day` by `now` (a fraction of the local day), on
/// the day's traffic curve in the zone `zone` (UTC offset at `at`), from when the campaign
/// started that day (`active_from`).
pub fn target_so_far(
    per_day: Decimal,
    zone: Tz,
    at: DateTime<Utc>,
    now: f64,
    active_from: f64,
) -> Option<Decimal> {
    let offset_hours = at.with_timezone(&zone).offset().fix().local_minus_utc() / 3600;
    let profile = HourProfile::diurnal().shifted(offset_hours);
    paced_target(per_day, &profile, 0.0, now, active_from)
}

/// The campaign's row from its day so far, its day's budget and its target by now.
pub fn today_row(
    campaign: &Campaign,
    day: &DaySoFar,
    per_day: Option<Decimal>,
    target: Option<Decimal>,
) -> TodayRow {
    let net = day.spend - day.refunds;
    let ratio = |n: Decimal, d: Decimal, dp: u32| {
        (d > Decimal::ZERO).then(|| (n / d).round_dp(dp).normalize().to_string())
    };
    TodayRow {
        campaign_id: campaign.id.0,
        name: campaign.spec.name.clone(),
        status: campaign.status.as_str().to_owned(),
        currency: campaign.currency.to_string(),
        day_budget: per_day.map(money_text),
        spent: money_text(net),
        used: per_day.and_then(|d| ratio(net, d, 4)),
        target_so_far: target.map(money_text),
        pace: target.and_then(|t| ratio(net, t, 4)),
        impressions: day.impressions,
        clicks: day.clicks,
        ctr: ratio(Decimal::from(day.clicks), Decimal::from(day.impressions), 6),
        refunds: money_text(day.refunds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn campaign() -> Campaign {
        let mut example = crate::openapi::examples::all()
            .into_iter()
            .find(|(name, _)| *name == "Campaign")
            .map(|(_, example)| example)
            .expect("the Campaign example");
        example["name"] = serde_json::json!("Boots");
        serde_json::from_value(example).expect("a campaign")
    }

    #[test]
    fn the_day_so_far_gives_spend_use_pace_and_ctr() {
        let day = DaySoFar {
            spend: d("6"),
            refunds: d("1"),
            impressions: 2000,
            clicks: 3,
            first_hold_at: None,
        };
        let campaign = campaign();
        let row = today_row(&campaign, &day, Some(d("20")), Some(d("4")));
        assert_eq!(row.name, "Boots");
        assert_eq!(row.status, "active");
        assert_eq!(row.spent, "5.000000");
        assert_eq!(row.used.as_deref(), Some("0.25"));
        assert_eq!(row.target_so_far.as_deref(), Some("4.000000"));
        assert_eq!(row.pace.as_deref(), Some("1.25"));
        assert_eq!(row.ctr.as_deref(), Some("0.0015"));
        assert_eq!(row.refunds, "1.000000");
        let quiet = today_row(&campaign, &DaySoFar::default(), None, None);
        assert_eq!((quiet.used, quiet.pace, quiet.ctr), (None, None, None));
    }

    #[test]
    fn the_target_grows_through_the_day_to_the_whole_budget() {
        let utc: Tz = "UTC".parse().expect("zone");
        let at = DateTime::UNIX_EPOCH;
        let half = target_so_far(d("24"), utc, at, 0.5, 0.0).expect("target");
        let whole = target_so_far(d("24"), utc, at, 1.0, 0.0).expect("target");
        assert!(half > Decimal::ZERO && half < whole, "{half} {whole}");
        assert_eq!(whole, d("24"));
        // started at noon: nothing was due before
        assert_eq!(target_so_far(d("24"), utc, at, 0.25, 0.5), None);
        let midnight = DateTime::UNIX_EPOCH;
        let next = midnight + chrono::Duration::hours(24);
        assert_eq!(
            day_fraction(midnight + chrono::Duration::hours(6), midnight, next),
            0.25
        );
        assert_eq!(
            day_fraction(next + chrono::Duration::hours(1), midnight, next),
            1.0
        );
    }
}
