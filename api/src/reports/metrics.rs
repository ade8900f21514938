//! Report arithmetic: CTR, eCPM and pace from counts and money. Pure.

use budget::day_curve::HourProfile;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Day or hour buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    #[default]
    Day,
    Hour,
}

/// What was counted and billed in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub impressions: i64,
    pub clicks: i64,
    pub spend: Decimal,
    pub refunds: Decimal,
    /// Delivered but refused by the ledger (beyond the campaign's budget): never billed.
    pub unbilled: Decimal,
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportRow {
    /// Start of the bucket as local time in the campaign's time zone (`2026-11-29T00:00:00`).
    pub bucket: String,
    pub impressions: i64,
    pub clicks: i64,
    pub spend: String,
    pub refunds: String,
    /// What was delivered beyond the campaign's budget, which the ledger refused to bill (the
    /// advertiser does not pay for it).
    pub unbilled_over_delivery: String,
    /// Clicks per impression, 6 decimals; absent without impressions.
    pub ctr: Option<String>,
    /// Net spend per thousand impressions; absent without impressions.
    pub ecpm: Option<String>,
    /// Net spend over the pace target of the bucket (1 = on pace): the share of the day's
    /// budget that even pacing aims to spend in the bucket, along the curve of a day's traffic
    /// it starts from, and from when the campaign started running that day; absent without a
    /// target.
    pub pace: Option<String>,
}

/// What the campaign should spend in a day: its daily budget, or a lifetime-only budget with
/// an end date spread evenly over the schedule's days.
pub fn day_budget(
    daily: Option<Decimal>,
    lifetime: Option<Decimal>,
    schedule_days: Option<i64>,
) -> Option<Decimal> {
    match (daily, lifetime, schedule_days) {
        (Some(d), _, _) => Some(d),
        (None, Some(l), Some(days)) if days > 0 => Some(l / Decimal::from(days)),
        _ => None,
    }
}

/// What a campaign of these settings should spend in a day ([`day_budget`] of its budgets and
/// its schedule's length).
pub fn spec_day_budget(spec: &domain::campaign::CampaignSpec) -> Option<Decimal> {
    let days = (spec.schedule.end).map(|end| (end - spec.schedule.start).num_days().max(1));
    day_budget(
        spec.budget.daily.map(|a| a.as_decimal()),
        spec.budget.lifetime.map(|a| a.as_decimal()),
        days,
    )
}

/// The pace target of the part of a local day from `from` to `to` (fractions of the day): the
/// share of the day's budget that even pacing aims to spend there, along the same curve of the
/// day's traffic pacing follows. A campaign that started running at `active_from` that day is
/// judged against what was left of its day: its whole day's budget over the traffic from then
/// on. `None` where the part lies wholly before it started.
pub fn paced_target(
    per_day: Decimal,
    profile: &HourProfile,
    from: f64,
    to: f64,
    active_from: f64,
) -> Option<Decimal> {
    let left = 1.0 - profile.before(active_from);
    let share = profile.between(from.max(active_from), to) / left;
    if !(share.is_finite() && share > 0.0) {
        return None;
    }
    let share = Decimal::try_from(share).ok()?.round_dp(9);
    Some((per_day * share).round_dp(6))
}

/// A row from a bucket's totals.
pub fn row(bucket: String, t: Totals, target: Option<Decimal>) -> ReportRow {
    let net = t.spend - t.refunds;
    let per = |n: Decimal, d: Decimal| {
        (d > Decimal::ZERO).then(|| (n / d).round_dp(6).normalize().to_string())
    };
    ReportRow {
        bucket,
        impressions: t.impressions,
        clicks: t.clicks,
        spend: crate::http::json::money_text(t.spend),
        refunds: crate::http::json::money_text(t.refunds),
        unbilled_over_delivery: crate::http::json::money_text(t.unbilled),
        ctr: per(Decimal::from(t.clicks), Decimal::from(t.impressions)),
        ecpm: per(net * Decimal::from(1000), Decimal::from(t.impressions)),
        pace: target.and_then(|target| per(net, target)),
    }
}

/// Each bucket's delivery, money and over-delivery, merged: a bucket any of them has, with
/// zero for what the others lack.
pub fn bucket_totals(
    delivery: Vec<(String, i64, i64)>,
    money: Vec<(String, Decimal, Decimal)>,
    over_delivery: Vec<(String, Decimal)>,
) -> BTreeMap<String, Totals> {
    let mut buckets: BTreeMap<String, Totals> = BTreeMap::new();
    for (bucket, impressions, clicks) in delivery {
        let t = buckets.entry(bucket).or_default();
        t.impressions = impressions;
        t.clicks = clicks;
    }
    for (bucket, spend, refunds) in money {
        let t = buckets.entry(bucket).or_default();
        t.spend = spend;
        t.refunds = refunds;
    }
    for (bucket, unbilled) in over_delivery {
        buckets.entry(bucket).or_default().unbilled = unbilled;
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn rates_come_from_counts_and_net_spend() {
        let t = Totals {
            impressions: 4000,
            clicks: 10,
            spend: d("10.000000"),
            refunds: d("2.000000"),
            unbilled: d("0.5"),
        };
        let r = row("2026-11-29T00:00:00+01:00".into(), t, Some(d("16")));
        assert_eq!(r.ctr.as_deref(), Some("0.0025"));
        assert_eq!(r.ecpm.as_deref(), Some("2"));
        assert_eq!(r.pace.as_deref(), Some("0.5"));
        assert_eq!(
            r.unbilled_over_delivery, "0.500000",
            "shown, not netted from spend"
        );
        let empty = row("x".into(), Totals::default(), None);
        assert_eq!((empty.ctr, empty.ecpm, empty.pace), (None, None, None));
    }

    #[test]
    fn a_day_budget_is_the_daily_one_or_the_lifetime_spread_over_the_days() {
        assert_eq!(
            day_budget(Some(d("48")), Some(d("500")), None),
            Some(d("48"))
        );
        assert_eq!(day_budget(None, Some(d("300")), Some(30)), Some(d("10")));
        assert_eq!(day_budget(None, Some(d("300")), None), None);
    }

    #[test]
    fn targets_follow_the_curve_and_what_was_left_of_the_day() {
        let flat = HourProfile::flat();
        // a flat day: an hour is a 24th, the whole day all of it
        assert_eq!(
            paced_target(d("48"), &flat, 10.0 / 24.0, 11.0 / 24.0, 0.0),
            Some(d("2"))
        );
        assert_eq!(paced_target(d("48"), &flat, 0.0, 1.0, 0.0), Some(d("48")));
        // started at 18:00: its hour from 19:00 gets a sixth of the day's budget
        let six_pm = 18.0 / 24.0;
        assert_eq!(
            paced_target(d("48"), &flat, 19.0 / 24.0, 20.0 / 24.0, six_pm),
            Some(d("8"))
        );
        // started at 18:30: half of its first hour is left
        assert_eq!(
            paced_target(d("48"), &flat, 18.0 / 24.0, 19.0 / 24.0, 18.5 / 24.0),
            Some(d("4.363636"))
        );
        // before it started: no target
        assert_eq!(paced_target(d("48"), &flat, 0.5, 0.6, 0.75), None);
        // the diurnal curve: the evening hours weigh more than the night ones
        let day = HourProfile::diurnal();
        let night = paced_target(d("48"), &day, 3.0 / 24.0, 4.0 / 24.0, 0.0).expect("night");
        let evening = paced_target(d("48"), &day, 20.0 / 24.0, 21.0 / 24.0, 0.0).expect("eve");
        assert!(evening > night * d("8"), "{evening} vs {night}");
    }

    #[test]
    fn buckets_merge_with_zero_for_what_a_source_lacks() {
        let totals = bucket_totals(
            vec![("2026-01-02T00:00:00".into(), 10, 1)],
            vec![
                ("2026-01-01T00:00:00".into(), d("0.5"), d("0")),
                ("2026-01-02T00:00:00".into(), d("1.25"), d("0.25")),
            ],
            vec![("2026-01-03T00:00:00".into(), d("0.002"))],
        );
        let rows: Vec<_> = totals.into_iter().collect();
        assert_eq!(
            rows,
            vec![
                (
                    "2026-01-01T00:00:00".to_string(),
                    Totals {
                        spend: d("0.5"),
                        ..Totals::default()
                    }
                ),
                (
                    "2026-01-02T00:00:00".to_string(),
                    Totals {
                        impressions: 10,
                        clicks: 1,
                        spend: d("1.25"),
                        refunds: d("0.25"),
                        unbilled: d("0"),
                    }
                ),
                (
                    "2026-01-03T00:00:00".to_string(),
                    Totals {
                        unbilled: d("0.002"),
                        ..Totals::default()
                    }
                ),
            ]
        );
    }
}
