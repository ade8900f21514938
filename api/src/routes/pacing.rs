//! `GET /api/v1/campaigns/{id}/pacing`: today's spend hour by hour against the pace target, in
//! the campaign's time zone.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use ledger::reads::ReportSpan;
use ledger::{CampaignId, Currency};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Role;
use crate::campaigns::store;
use crate::error::{ApiError, Problem, Result};
use crate::extract::Auth;
use crate::http::json::{PathParams, money_text};
use crate::reports::metrics::{Granularity, spec_day_budget};
use crate::reports::pacing::{PacingHour, pacing_hours};
use crate::reports::today::{day_fraction, target_so_far};
use crate::routes::campaigns::CampaignPath;
use crate::routes::reports::{bucket_target, started_by_day};
use crate::state::AppState;

/// Who may read pacing (an advertiser its own campaigns').
pub const READ_ROLES: &[Role] = &[Role::Advertiser, Role::Operator, Role::Billing, Role::Admin];

/// A campaign's day so far against its pace.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PacingToday {
    #[schema(value_type = uuid::Uuid)]
    pub campaign_id: CampaignId,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub time_zone: String,
    /// The local day (`2026-11-30`).
    pub day: String,
    /// What the campaign should spend today (absent without a daily budget or a lifetime
    /// budget with an end date).
    pub day_budget: Option<String>,
    /// Net spend today so far.
    pub spent: String,
    /// What even pacing aims to have spent by now.
    pub target_so_far: Option<String>,
    /// `spent` over `target_so_far` (1 = on pace).
    pub pace: Option<String>,
    /// The hour now is in (`2026-11-30T14:00:00`, local).
    pub current_hour: String,
    /// Every hour of the local day: 23 on the day the clocks go forward; on the day they go back,
    /// the repeated hour is one bucket (24).
    pub hours: Vec<PacingHour>,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(campaign_pacing))
}

/// Today's spend per hour against the pace target, in the campaign's time zone.
///
/// Roles: advertiser (its own), operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/pacing", tag = "reports",
    params(CampaignPath),
    responses(
        (status = 200, description = "Today's pacing", body = PacingToday),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read pacing", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn campaign_pacing(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathParams(path): PathParams<CampaignPath>,
) -> Result<Json<PacingToday>> {
    principal.require(READ_ROLES)?;
    let campaign = match store::get(&state.db, CampaignId(path.id)).await? {
        Some(c) if principal.sees(c.advertiser_id) => c,
        _ => return Err(ApiError::NotFound("campaign")),
    };
    let tz_name = campaign.spec.schedule.time_zone.clone();
    let zone = crate::error::stored_time_zone(&tz_name)?;
    let now = state.clock.now();
    let day = store::local_day(now, zone);
    let (from, to) = day_bounds(day, zone);
    let span = ReportSpan {
        unit: "hour",
        time_zone: &tz_name,
        from,
        to,
    };
    let money = ledger::reads::money_by_bucket(&state.db, campaign.id, span).await?;
    let spend: BTreeMap<String, Decimal> = money
        .into_iter()
        .map(|(hour, spend, refunds)| (hour, spend - refunds))
        .collect();
    let per_day = spec_day_budget(&campaign.spec);
    let started = started_by_day(&state, campaign.id, &tz_name, from, to).await?;
    let labels = hour_labels(from, to, zone);
    let hours = pacing_hours(&labels, &spend, |hour| {
        per_day.and_then(|d| bucket_target(d, hour, Granularity::Hour, zone, &started))
    });
    let spent: Decimal = spend.values().sum();
    // the target up to now (not to the end of this hour), as the dashboard's row has it
    let active_from = started
        .get(&day.format("%Y-%m-%d").to_string())
        .copied()
        .unwrap_or(0.0);
    let target =
        per_day.and_then(|d| target_so_far(d, zone, now, day_fraction(now, from, to), active_from));
    let pace = target
        .filter(|t| *t > Decimal::ZERO)
        .map(|t| (spent / t).round_dp(4).normalize().to_string());
    Ok(Json(PacingToday {
        campaign_id: campaign.id,
        currency: campaign.currency,
        time_zone: tz_name,
        day: day.format("%Y-%m-%d").to_string(),
        day_budget: per_day.map(money_text),
        spent: money_text(spent),
        target_so_far: target.map(money_text),
        pace,
        current_hour: local_hour_label(now, zone),
        hours,
    }))
}

/// The local day's start and end as instants (a midnight the clocks skip starts at the first
/// local time there is).
pub(crate) fn day_bounds(day: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |date: NaiveDate| {
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        (0..4)
            .find_map(|h| {
                zone.from_local_datetime(&(midnight + Duration::hours(h)))
                    .earliest()
            })
            .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
    };
    let next = day.succ_opt().unwrap_or(day);
    (start(day), start(next))
}

/// The local hour (`YYYY-MM-DDTHH:00:00`) an instant falls in.
fn local_hour_label(at: DateTime<Utc>, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    format!(
        "{}T{:02}:00:00",
        local.date_naive().format("%Y-%m-%d"),
        local.hour()
    )
}

/// The local hours from `from` to `to`, each once (an hour the clocks repeat is one bucket, as
/// the ledger's `date_trunc` has it).
fn hour_labels(from: DateTime<Utc>, to: DateTime<Utc>, zone: Tz) -> Vec<String> {
    let mut labels: Vec<String> = Vec::with_capacity(25);
    let mut at = from;
    while at < to {
        let label = local_hour_label(at, zone);
        if labels.last() != Some(&label) {
            labels.push(label);
        }
        at += Duration::hours(1);
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_has_24_hours_23_or_25_when_the_clocks_change() {
        let paris: Tz = "Europe/Paris".parse().expect("zone");
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        let count = |d: &str| {
            let (from, to) = day_bounds(day(d), paris);
            hour_labels(from, to, paris)
        };
        let plain = count("2026-11-30");
        assert_eq!(plain.len(), 24);
        assert_eq!(plain[0], "2026-11-30T00:00:00");
        assert_eq!(plain[23], "2026-11-30T23:00:00");
        // spring forward: 02:00 does not exist
        let spring = count("2026-03-29");
        assert_eq!(spring.len(), 23);
        assert!(!spring.contains(&"2026-03-29T02:00:00".to_owned()));
        // fall back: 02:00 happens twice, one bucket
        let fall = count("2026-10-25");
        assert_eq!(fall.len(), 24, "{fall:?}");
        let (from, to) = day_bounds(day("2026-10-25"), paris);
        assert_eq!(to - from, Duration::hours(25));
    }

    #[test]
    fn a_midnight_the_clocks_skip_starts_the_day_at_the_first_local_time() {
        // Santiago moved to summer time at midnight: 00:00 on 2026-09-06 does not exist
        let santiago: Tz = "America/Santiago".parse().expect("zone");
        let day = NaiveDate::from_ymd_opt(2026, 9, 6).expect("date");
        let (from, to) = day_bounds(day, santiago);
        assert!(from < to);
        assert_eq!(local_hour_label(from, santiago), "2026-09-06T01:00:00");
    }
}
