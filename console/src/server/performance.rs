//! A campaign's performance from the API's pacing, report and refunds (pure): exact decimal
//! sums, percentages, the pace badge, and the charts' coordinates (the only place money turns
//! into pixels, rounded to whole ones).

use std::str::FromStr;

use domain::Status;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::json_text::text;
use crate::performance::{
    BAR_HEIGHT, CHART_BOTTOM, CHART_HEIGHT, CHART_LEFT, CHART_WIDTH, DayRow, HourPoint, PaceBadge,
    Performance, RefundRow,
};

/// A decimal the API wrote as text (`None`: absent, or not a number).
pub fn decimal(v: &Value) -> Option<Decimal> {
    v.as_str().and_then(|s| Decimal::from_str(s).ok())
}

/// `value` of `top` as a length of `span` pixels, rounded (0 when `top` is not above zero).
fn scaled(value: Decimal, top: Decimal, span: u32) -> u32 {
    if top <= Decimal::ZERO || value <= Decimal::ZERO {
        return 0;
    }
    let length = (value.min(top) / top * Decimal::from(span)).round();
    u32::try_from(length.mantissa() / 10_i128.pow(length.scale())).unwrap_or(span)
}

/// A ratio as a percentage: `0.964` is `96 %` (`places` decimals).
fn percent(ratio: Decimal, places: u32) -> String {
    format!("{} %", (ratio * Decimal::ONE_HUNDRED).round_dp(places))
}

/// The badge of a day: exhausted when the campaign is, or its day's budget is spent; else by
/// the pace (within 10 % is on pace).
pub fn badge(
    status: Status,
    spent: Decimal,
    day_budget: Option<Decimal>,
    pace: Option<Decimal>,
) -> PaceBadge {
    let tenth = Decimal::new(1, 1);
    if status == Status::Exhausted || day_budget.is_some_and(|b| b > Decimal::ZERO && spent >= b) {
        return PaceBadge::Exhausted;
    }
    match pace {
        None => PaceBadge::NoTarget,
        Some(p) if p < Decimal::ONE - tenth => PaceBadge::Behind,
        Some(p) if p > Decimal::ONE + tenth => PaceBadge::Ahead,
        Some(_) => PaceBadge::OnPace,
    }
}

/// The campaign's performance from the API's `pacing` (today), `report` (30 days by day) and
/// `refunds` (newest first).
pub fn build(status: Status, pacing: &Value, report: &Value, refunds: &Value) -> Performance {
    let spent = decimal(&pacing["spent"]).unwrap_or_default();
    let day_budget = decimal(&pacing["day_budget"]);
    let pace = decimal(&pacing["pace"]);
    let (hours, hours_top) = hours(pacing, day_budget);
    let (days, days_top, totals) = days(report);
    Performance {
        currency: text(&pacing["currency"]),
        time_zone: text(&pacing["time_zone"]),
        today: text(&pacing["day"]),
        spent_today: text(&pacing["spent"]),
        day_budget: day_budget.map(|b| b.to_string()),
        pace: pace.map(|p| percent(p, 0)),
        badge: badge(status, spent, day_budget, pace),
        hours,
        hours_top: hours_top.to_string(),
        days,
        days_top: days_top.to_string(),
        totals,
        refunds: refunds["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|r| RefundRow {
                        posted_at: text(&r["posted_at"]),
                        amount: text(&r["amount"]),
                        reason: text(&r["reason"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Today's hours with their chart points, and the amount at the chart's top.
fn hours(pacing: &Value, day_budget: Option<Decimal>) -> (Vec<HourPoint>, Decimal) {
    let empty = Vec::new();
    let hours = pacing["hours"].as_array().unwrap_or(&empty);
    let now = text(&pacing["current_hour"]);
    let top = hours
        .iter()
        .flat_map(|h| [decimal(&h["spent_so_far"]), decimal(&h["target_so_far"])])
        .flatten()
        .chain(day_budget)
        .max()
        .unwrap_or_default();
    let plot = CHART_HEIGHT - CHART_BOTTOM - 10;
    let count = u32::try_from(hours.len().max(1)).unwrap_or(24);
    let points = hours
        .iter()
        .zip(1u32..)
        .map(|(h, i)| {
            let hour = text(&h["hour"]);
            let past = hour <= now;
            let y = |v: Decimal| CHART_HEIGHT - CHART_BOTTOM - scaled(v, top, plot);
            let target = decimal(&h["target_so_far"]);
            let actual = past.then(|| decimal(&h["spent_so_far"])).flatten();
            HourPoint {
                label: hour.get(11..16).unwrap_or(&hour).to_owned(),
                spend: text(&h["spend"]),
                spent_so_far: actual.map(|a| a.to_string()).unwrap_or_default(),
                target_so_far: target.map(|t| t.to_string()).unwrap_or_default(),
                x: CHART_LEFT + i * (CHART_WIDTH - CHART_LEFT) / count,
                actual_y: actual.map(y),
                target_y: target.map(y),
            }
        })
        .collect();
    (points, top)
}

/// The report's days with their bars, the amount at the chart's top, and the totals.
fn days(report: &Value) -> (Vec<DayRow>, Decimal, DayRow) {
    let empty = Vec::new();
    let rows = report["rows"].as_array().unwrap_or(&empty);
    let top = rows
        .iter()
        .filter_map(|r| decimal(&r["spend"]))
        .max()
        .unwrap_or_default();
    let (mut impressions, mut clicks) = (0i64, 0i64);
    let (mut spend, mut refunds) = (Decimal::ZERO, Decimal::ZERO);
    let days = rows
        .iter()
        .map(|r| {
            let day_spend = decimal(&r["spend"]).unwrap_or_default();
            impressions += r["impressions"].as_i64().unwrap_or(0);
            clicks += r["clicks"].as_i64().unwrap_or(0);
            spend += day_spend;
            refunds += decimal(&r["refunds"]).unwrap_or_default();
            DayRow {
                day: text(&r["bucket"]).get(..10).unwrap_or_default().to_owned(),
                impressions: r["impressions"].as_i64().unwrap_or(0),
                clicks: r["clicks"].as_i64().unwrap_or(0),
                spend: text(&r["spend"]),
                refunds: text(&r["refunds"]),
                ctr: decimal(&r["ctr"])
                    .map(|c| percent(c, 2))
                    .unwrap_or_default(),
                ecpm: text(&r["ecpm"]),
                bar: scaled(day_spend, top, BAR_HEIGHT),
            }
        })
        .collect();
    let per = |n: Decimal, d: i64| (d > 0).then(|| n / Decimal::from(d));
    let totals = DayRow {
        day: "30 days".to_owned(),
        impressions,
        clicks,
        spend: spend.to_string(),
        refunds: refunds.to_string(),
        ctr: per(Decimal::from(clicks), impressions)
            .map(|c| percent(c, 2))
            .unwrap_or_default(),
        ecpm: per((spend - refunds) * Decimal::from(1000), impressions)
            .map(|e| e.round_dp(6).to_string())
            .unwrap_or_default(),
        bar: 0,
    };
    (days, top, totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pacing() -> Value {
        json!({
            "currency": "EUR", "time_zone": "Europe/Paris", "day": "2026-11-30",
            "day_budget": "100.000000", "spent": "40.000000", "target_so_far": "50.000000",
            "pace": "0.8", "current_hour": "2026-11-30T01:00:00",
            "hours": [
                {"hour": "2026-11-30T00:00:00", "spend": "10.000000", "target": "25.000000",
                 "spent_so_far": "10.000000", "target_so_far": "25.000000"},
                {"hour": "2026-11-30T01:00:00", "spend": "30.000000", "target": "25.000000",
                 "spent_so_far": "40.000000", "target_so_far": "50.000000"},
                {"hour": "2026-11-30T02:00:00", "spend": "0.000000", "target": "50.000000",
                 "spent_so_far": "40.000000", "target_so_far": "100.000000"},
            ],
        })
    }

    #[test]
    fn today_is_charted_against_its_target_and_badged() {
        let p = build(
            Status::Active,
            &pacing(),
            &json!({"rows": []}),
            &json!({"items": []}),
        );
        assert_eq!(p.badge, PaceBadge::Behind);
        assert_eq!(p.pace.as_deref(), Some("80 %"));
        assert_eq!(p.hours_top, "100.000000", "the day's budget tops the chart");
        let plot = CHART_HEIGHT - CHART_BOTTOM - 10;
        let base = CHART_HEIGHT - CHART_BOTTOM;
        assert_eq!(p.hours[0].target_y, Some(base - plot / 4));
        assert_eq!(p.hours[1].actual_y, Some(base - plot * 2 / 5));
        assert_eq!(p.hours[2].actual_y, None, "an hour to come has no actual");
        assert_eq!(p.hours[2].target_y, Some(base - plot));
        assert_eq!(
            p.hours[2].x, CHART_WIDTH,
            "the last hour ends at the right edge"
        );
        assert_eq!(p.hours[1].label, "01:00");
    }

    #[test]
    fn badges_follow_the_pace_and_the_budget() {
        let d = |s: &str| Decimal::from_str(s).expect("decimal");
        let budget = Some(d("100"));
        assert_eq!(
            badge(Status::Active, d("50"), budget, Some(d("0.95"))),
            PaceBadge::OnPace
        );
        assert_eq!(
            badge(Status::Active, d("50"), budget, Some(d("1.2"))),
            PaceBadge::Ahead
        );
        assert_eq!(
            badge(Status::Active, d("100"), budget, Some(d("1"))),
            PaceBadge::Exhausted
        );
        assert_eq!(
            badge(Status::Exhausted, d("0"), None, None),
            PaceBadge::Exhausted
        );
        assert_eq!(
            badge(Status::Active, d("0"), None, None),
            PaceBadge::NoTarget
        );
    }

    #[test]
    fn thirty_days_sum_exactly_with_bars_and_refunds() {
        let report = json!({"rows": [
            {"bucket": "2026-11-28T00:00:00", "impressions": 1000, "clicks": 3,
             "spend": "0.100001", "refunds": "0.000001", "ctr": "0.003", "ecpm": "0.1"},
            {"bucket": "2026-11-29T00:00:00", "impressions": 3000, "clicks": 1,
             "spend": "0.200002", "refunds": "0", "ctr": "0.000333", "ecpm": "0.066667"},
        ]});
        let refunds = json!({"items": [{"posted_at": "2026-11-29T10:00:00Z", "amount": "0.000001",
                                        "reason": "invalid_traffic:datacenter_ip"}]});
        let p = build(Status::Paused, &pacing(), &report, &refunds);
        assert_eq!(p.days[0].day, "2026-11-28");
        assert_eq!(p.days[0].ctr, "0.30 %");
        assert_eq!(p.days[1].bar, BAR_HEIGHT, "the biggest day fills the chart");
        assert_eq!(p.days[0].bar, BAR_HEIGHT / 2);
        assert_eq!(p.totals.spend, "0.300003", "summed exactly");
        assert_eq!(p.totals.impressions, 4000);
        assert_eq!(p.totals.ctr, "0.10 %");
        // net of refunds, per thousand: 0.0750005, rounded half to even as the API rounds
        assert_eq!(p.totals.ecpm, "0.075000");
        assert_eq!(p.refunds[0].reason, "invalid_traffic:datacenter_ip");
    }
}
