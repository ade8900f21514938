//! Report arithmetic: CTR, eCPM and pace from counts and money. Pure.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
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
    /// Net spend over the even-pace target of the bucket (1 = on pace); absent without a target.
    pub pace: Option<String>,
}

/// The even-pace target of one bucket: a day's budget per day, a 24th of it per hour. A
/// lifetime-only budget with an end date spreads evenly over the schedule's days.
pub fn even_target(
    daily: Option<Decimal>,
    lifetime: Option<Decimal>,
    schedule_days: Option<i64>,
    granularity: Granularity,
) -> Option<Decimal> {
    let per_day = match (daily, lifetime, schedule_days) {
        (Some(d), _, _) => d,
        (None, Some(l), Some(days)) if days > 0 => l / Decimal::from(days),
        _ => return None,
    };
    Some(match granularity {
        Granularity::Day => per_day,
        Granularity::Hour => per_day / Decimal::from(24),
    })
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
        spend: crate::funding::routes::money_text(t.spend),
        refunds: crate::funding::routes::money_text(t.refunds),
        unbilled_over_delivery: crate::funding::routes::money_text(t.unbilled),
        ctr: per(Decimal::from(t.clicks), Decimal::from(t.impressions)),
        ecpm: per(net * Decimal::from(1000), Decimal::from(t.impressions)),
        pace: target.and_then(|target| per(net, target)),
    }
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
    fn targets_spread_budgets_evenly() {
        assert_eq!(
            even_target(Some(d("48")), None, None, Granularity::Hour),
            Some(d("2"))
        );
        assert_eq!(
            even_target(None, Some(d("300")), Some(30), Granularity::Day),
            Some(d("10"))
        );
        assert_eq!(
            even_target(None, Some(d("300")), None, Granularity::Day),
            None
        );
    }
}
