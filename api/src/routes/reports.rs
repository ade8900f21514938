//! `GET /api/v1/campaigns/{id}/report`: impressions, clicks, spend, refunds, unbilled
//! over-delivery, CTR, eCPM and pace by day or hour in the campaign's time zone, from the event
//! tables and the ledger.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use ledger::reads::ReportSpan;
use ledger::{CampaignId, Currency};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Role;
use crate::campaigns::store;
use crate::error::{ApiError, Problem, Result};
use crate::extract::Auth;
use crate::http::json::{PathParams, QueryParams};
use crate::reports::metrics::{
    Granularity, ReportRow, bucket_totals, paced_target, row, spec_day_budget,
};
use crate::routes::campaigns::CampaignPath;
use crate::state::AppState;
use budget::day_curve::HourProfile;

/// Who may read reports (an advertiser its own campaigns').
pub const READ_ROLES: &[Role] = &[Role::Advertiser, Role::Operator, Role::Billing, Role::Admin];

/// The report's range and buckets.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    #[serde(default)]
    pub granularity: Granularity,
    /// Start (default: 7 days before `to`).
    pub from: Option<DateTime<Utc>>,
    /// End, exclusive (default: now).
    pub to: Option<DateTime<Utc>>,
}

/// A campaign report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Report {
    #[schema(value_type = uuid::Uuid)]
    pub campaign_id: CampaignId,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub time_zone: String,
    pub granularity: Granularity,
    pub rows: Vec<ReportRow>,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(campaign_report))
}

/// A campaign's delivery and money by day or hour (buckets with activity only).
///
/// Roles: advertiser (its own), operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/report", tag = "reports",
    params(CampaignPath, ReportQuery),
    responses(
        (status = 200, description = "The report", body = Report),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read reports", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn campaign_report(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathParams(path): PathParams<CampaignPath>,
    QueryParams(query): QueryParams<ReportQuery>,
) -> Result<Json<Report>> {
    principal.require(READ_ROLES)?;
    let campaign = match store::get(&state.db, CampaignId(path.id)).await? {
        Some(c) if principal.sees(c.advertiser_id) => c,
        _ => return Err(ApiError::NotFound("campaign")),
    };
    let to = query.to.unwrap_or_else(|| state.clock.now());
    let from = query.from.unwrap_or(to - Duration::days(7));
    if from >= to || to - from > Duration::days(400) {
        return Err(ApiError::BadRequest(
            "from must be before to, at most 400 days apart".into(),
        ));
    }
    let unit = match query.granularity {
        Granularity::Day => "day",
        Granularity::Hour => "hour",
    };
    let tz = campaign.spec.schedule.time_zone.clone();
    let zone = crate::error::stored_time_zone(&tz)?;
    let span = ReportSpan {
        unit,
        time_zone: &tz,
        from,
        to,
    };
    // one snapshot: an event counted and its spend posted are in the same report or neither
    let mut tx = ledger::reads::snapshot(&state.db).await?;
    let delivery = events::reads::delivery_by_bucket(&mut *tx, campaign.id, span).await?;
    let money = ledger::reads::money_by_bucket(&mut *tx, campaign.id, span).await?;
    let over = events::reads::over_delivery_by_bucket(&mut *tx, campaign.id, span).await?;
    tx.commit().await.map_err(ledger::Error::from)?;
    let totals = bucket_totals(delivery, money, over);
    let per_day = spec_day_budget(&campaign.spec);
    let started = started_by_day(&state, campaign.id, &tz, from, to).await?;
    let mut buckets = BTreeMap::new();
    for (bucket, totals) in totals {
        let target = per_day
            .and_then(|per_day| bucket_target(per_day, &bucket, query.granularity, zone, &started));
        buckets.insert(bucket.clone(), row(bucket, totals, target));
    }
    Ok(Json(Report {
        campaign_id: campaign.id,
        currency: campaign.currency,
        time_zone: tz,
        granularity: query.granularity,
        rows: buckets.into_values().collect(),
    }))
}

/// When the campaign started running on each local day of the range (`YYYY-MM-DD`), as a
/// fraction of the day: its first hold that day (an activation, or the day's budget held at
/// midnight).
pub(crate) async fn started_by_day(
    state: &AppState,
    campaign: CampaignId,
    tz: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<BTreeMap<String, f64>> {
    let days = ledger::reads::first_hold_by_day(&state.db, campaign, tz, from, to).await?;
    Ok(days.into_iter().collect())
}

/// The pace target of one bucket (`YYYY-MM-DDTHH:MI:SS`, local): along the day's traffic curve
/// pacing starts from (the diurnal one, as servingd shifts it to the campaign's time zone),
/// from when the campaign started running that day.
pub(crate) fn bucket_target(
    per_day: Decimal,
    bucket: &str,
    granularity: Granularity,
    zone: chrono_tz::Tz,
    started: &BTreeMap<String, f64>,
) -> Option<Decimal> {
    use chrono::{Offset, TimeZone, Timelike};
    let local = chrono::NaiveDateTime::parse_from_str(bucket, "%Y-%m-%dT%H:%M:%S").ok()?;
    let offset_hours = zone
        .from_local_datetime(&local)
        .earliest()?
        .offset()
        .fix()
        .local_minus_utc()
        / 3600;
    let profile = HourProfile::diurnal().shifted(offset_hours);
    let day = local.date().format("%Y-%m-%d").to_string();
    let active_from = started.get(&day).copied().unwrap_or(0.0);
    let (from, to) = match granularity {
        Granularity::Day => (0.0, 1.0),
        Granularity::Hour => {
            let hour = f64::from(local.hour());
            (hour / 24.0, (hour + 1.0) / 24.0)
        }
    };
    paced_target(per_day, &profile, from, to, active_from)
}
