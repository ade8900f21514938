//! `GET /api/v1/reports/today`: each campaign's day so far in its own time zone (spend against
//! the day's budget and the pace target by now, delivery, CTR, refunds), a page of campaigns at
//! a time, in three statements whatever the page's size: what `adctl top` shows.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use ledger::CampaignId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Role;
use crate::campaigns::store;
use crate::error::{Problem, Result};
use crate::extract::Auth;
use crate::http::json::QueryParams;
use crate::reports::metrics::spec_day_budget;
use crate::reports::today::{DaySoFar, TodayRow, day_fraction, target_so_far, today_row};
use crate::routes::campaigns::{CampaignPage, ListQuery, campaign_page};
use crate::routes::pacing::day_bounds;
use crate::state::AppState;

/// Who may read it (an advertiser its own campaigns).
pub const READ_ROLES: &[Role] = &[Role::Advertiser, Role::Operator, Role::Billing, Role::Admin];

/// A page of campaigns' days so far, by campaign id.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TodayPage {
    pub items: Vec<TodayRow>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<Uuid>,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(today))
}

/// Each campaign's day so far: spend against budget and pace, delivery, refunds.
///
/// Days are the campaigns' own, in their time zones. Roles: advertiser (its own), operator,
/// billing, admin.
#[utoipa::path(get, path = "/api/v1/reports/today", tag = "reports",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = TodayPage),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read reports", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn today(
    State(state): State<AppState>,
    Auth(principal): Auth,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<TodayPage>> {
    principal.require(READ_ROLES)?;
    let CampaignPage {
        items: campaigns,
        next_cursor,
    } = campaign_page(&state, &principal, &query).await?;
    let now = state.clock.now();
    let mut days = Vec::with_capacity(campaigns.len());
    for campaign in &campaigns {
        let zone = crate::error::stored_time_zone(&campaign.spec.schedule.time_zone)?;
        days.push((zone, day_bounds(store::local_day(now, zone), zone)));
    }
    let since: Vec<(CampaignId, DateTime<Utc>)> = campaigns
        .iter()
        .zip(&days)
        .map(|(c, (_, (midnight, _)))| (c.id, *midnight))
        .collect();
    let mut tx = ledger::reads::snapshot(&state.db).await?;
    let money = ledger::reads::money_since(&mut *tx, &since).await?;
    let delivery = events::reads::delivery_since(&mut *tx, &since).await?;
    tx.commit().await.map_err(ledger::Error::from)?;
    let mut so_far: HashMap<Uuid, DaySoFar> = HashMap::new();
    for m in money {
        let day = so_far.entry(m.campaign_id).or_default();
        day.spend = m.spend;
        day.refunds = m.refunds;
        day.first_hold_at = m.first_hold_at;
    }
    for (campaign, impressions, clicks) in delivery {
        let day = so_far.entry(campaign).or_default();
        day.impressions = impressions;
        day.clicks = clicks;
    }
    let items = campaigns
        .iter()
        .zip(&days)
        .map(|(campaign, (zone, (midnight, next)))| {
            let day = so_far.get(&campaign.id.0).copied().unwrap_or_default();
            let per_day = spec_day_budget(&campaign.spec);
            let active_from = day
                .first_hold_at
                .map_or(0.0, |at| day_fraction(at, *midnight, *next));
            let target = per_day.and_then(|d| {
                target_so_far(
                    d,
                    *zone,
                    now,
                    day_fraction(now, *midnight, *next),
                    active_from,
                )
            });
            today_row(campaign, &day, per_day, target)
        })
        .collect();
    Ok(Json(TodayPage {
        items,
        next_cursor: next_cursor.map(|c| c.0),
    }))
}
