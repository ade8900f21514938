//! `GET /api/v1/fraud/refunds`: the refunds the ledger posted, newest first, with why (the fraud
//! scorer's `invalid_traffic:...` reason for an ad it convicted afterwards).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use ledger::reads::{RefundFilter, RefundRow};
use ledger::{AdvertiserId, CampaignId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Role;
use crate::error::{ApiError, Problem, Result};
use crate::extract::Auth;
use crate::http::json::{QueryParams, money_text};
use crate::state::AppState;

/// Who may list refunds (an advertiser its own).
pub const READ_ROLES: &[Role] = &[Role::Advertiser, Role::Operator, Role::Billing, Role::Admin];
const MAX_PAGE: i64 = 1000;

/// Filters and position of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RefundQuery {
    /// Only this advertiser's (an advertiser sees only its own).
    pub advertiser_id: Option<Uuid>,
    /// Only this campaign's.
    pub campaign_id: Option<Uuid>,
    /// Posted at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// A refund.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Refund {
    pub transfer_id: Uuid,
    #[schema(example = "0.002500")]
    pub amount: String,
    #[schema(example = "USD")]
    pub currency: String,
    pub advertiser_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    /// The refunded ad's event.
    pub event_id: Option<String>,
    /// Why (`invalid_traffic:datacenter_ip`...); empty when none was given.
    pub reason: String,
    pub posted_at: DateTime<Utc>,
}

/// A page of refunds, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RefundPage {
    pub items: Vec<Refund>,
    /// Pass as `cursor` for the next (older) page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_refunds))
}

/// Refunds, newest first, with why (invalid traffic given back to advertisers).
///
/// Roles: advertiser (its own), operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/fraud/refunds", tag = "fraud",
    params(RefundQuery),
    responses(
        (status = 200, description = "A page", body = RefundPage),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not list refunds", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn list_refunds(
    State(state): State<AppState>,
    Auth(principal): Auth,
    QueryParams(query): QueryParams<RefundQuery>,
) -> Result<Json<RefundPage>> {
    principal.require(READ_ROLES)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit: 1 to {MAX_PAGE}")));
    }
    let before =
        match &query.cursor {
            None => None,
            Some(cursor) => Some(cursor.parse::<i64>().ok().filter(|c| *c > 0).ok_or_else(
                || ApiError::BadRequest("cursor: a next_cursor from an earlier page".into()),
            )?),
        };
    let advertiser = principal.scope(query.advertiser_id.map(AdvertiserId));
    let rows = ledger::reads::refunds(
        &state.db,
        RefundFilter {
            advertiser,
            campaign: query.campaign_id.map(CampaignId),
            since: query.since,
            before,
            limit,
        },
    )
    .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.seq.to_string()))
        .flatten();
    Ok(Json(RefundPage {
        items: rows.into_iter().map(refund).collect(),
        next_cursor,
    }))
}

fn refund(row: RefundRow) -> Refund {
    Refund {
        transfer_id: row.id,
        amount: money_text(row.amount),
        currency: row.currency.trim().to_owned(),
        advertiser_id: row.advertiser_id,
        campaign_id: row.campaign_id,
        event_id: row.event_id,
        reason: row.reason,
        posted_at: row.posted_at,
    }
}
