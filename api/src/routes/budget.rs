//! `/api/v1/budget/status` and `/api/v1/budget/reconcile`: the budget controller's Redis state
//! beside the ledger's, campaign by campaign, and the repair that puts Redis back in line with
//! the ledger.

use axum::Json;
use axum::extract::State;
use budget::{CampaignDrift, ControllerError};
use ledger::{CampaignId, Currency, Money};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit_records::{self, Change};
use crate::auth::Role;
use crate::campaigns::store;
use crate::error::{ApiError, Problem, Result};
use crate::extract::{Actor, Auth};
use crate::http::json::{JsonBody, QueryParams};
use crate::state::AppState;

/// Who may read the budgets' state and reconcile them.
pub const ROLES: &[Role] = &[Role::Operator, Role::Billing, Role::Admin];

/// Which campaigns to compare.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    /// Only this campaign (default: every campaign with leases on record).
    pub campaign_id: Option<uuid::Uuid>,
}

/// What a reconciliation is asked to do.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileRequest {
    /// Replace Redis's state of each campaign out of line with the ledger's (default: only
    /// compare).
    #[serde(default)]
    pub repair: bool,
}

/// One campaign's budget as the ledger has it beside Redis's.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BudgetDrift {
    pub campaign_id: uuid::Uuid,
    #[schema(example = "USD")]
    pub currency: String,
    /// What the ledger holds for the campaign plus what it spent from the hold.
    #[schema(example = "100.000000")]
    pub ledger_budget: String,
    /// Billed spend from the hold.
    pub ledger_spent: String,
    /// What the ledger leaves to hand out: the budget less spend and open leases.
    pub ledger_remaining: String,
    /// Leases handed out and not settled, as the ledger's lease records have them.
    pub ledger_open_leases: u64,
    /// Redis's view (absent: Redis has no state for the campaign; the next lease rebuilds it).
    pub redis_budget: Option<String>,
    pub redis_spent: Option<String>,
    pub redis_remaining: Option<String>,
    pub redis_open_leases: Option<u64>,
    /// Redis's remaining less the ledger's (absent without Redis state): above zero, Redis
    /// would hand out money the ledger does not hold.
    pub drift: Option<String>,
    /// Spend and open grants beyond the budget (late spend after a lease was reaped).
    pub overcommitted: String,
    pub in_sync: bool,
    /// Whether this call put Redis back in line with the ledger.
    pub repaired: bool,
}

/// Campaigns' budgets, ledger beside Redis.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BudgetStatus {
    pub campaigns: Vec<BudgetDrift>,
    /// How many are out of sync (before any repair).
    pub out_of_sync: u64,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(budget_status))
        .routes(routes!(reconcile))
}

/// The budget controller's state beside the ledger's.
///
/// Roles: operator, billing, admin. Reads only.
#[utoipa::path(get, path = "/api/v1/budget/status", tag = "budget",
    params(StatusQuery),
    responses(
        (status = 200, description = "The campaigns' budgets", body = BudgetStatus),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read budgets", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign, or it has no budget in the ledger", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Redis is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn budget_status(
    State(state): State<AppState>,
    Auth(principal): Auth,
    QueryParams(query): QueryParams<StatusQuery>,
) -> Result<Json<BudgetStatus>> {
    principal.require(ROLES)?;
    let drifts = match query.campaign_id {
        Some(id) => vec![
            state
                .budgets
                .drift(CampaignId(id))
                .await
                .map_err(controller_error)?,
        ],
        None => state
            .budgets
            .reconcile(false)
            .await
            .map_err(controller_error)?,
    };
    Ok(Json(described(&state, drifts).await?))
}

/// Compare Redis with the ledger per campaign; `repair` mends those out of line.
///
/// Every campaign with leases on record is compared. A repair replaces the campaign's Redis state
/// with the ledger's; the audit trail records who asked for it and what it found. Roles: operator, billing, admin.
#[utoipa::path(post, path = "/api/v1/budget/reconcile", tag = "budget",
    request_body = ReconcileRequest,
    responses(
        (status = 200, description = "What was compared (and repaired)", body = BudgetStatus),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not reconcile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Redis is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn reconcile(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(body): JsonBody<ReconcileRequest>,
) -> Result<Json<BudgetStatus>> {
    actor.principal.require(ROLES)?;
    let drifts = state
        .budgets
        .reconcile(body.repair)
        .await
        .map_err(controller_error)?;
    let status = described(&state, drifts).await?;
    let repaired: Vec<&BudgetDrift> = status.campaigns.iter().filter(|c| c.repaired).collect();
    if !repaired.is_empty() {
        let now = state.clock.now();
        let records = repaired
            .iter()
            .map(|drift| {
                Ok(Change::of(
                    "budget.reconcile",
                    format!("campaign:{}", drift.campaign_id),
                    None,
                )
                .before(drift)?
                .by(&actor, now))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut tx = state.db.begin().await?;
        audit_records::change::record_all(&state, &mut tx, &records).await?;
        tx.commit().await?;
    }
    Ok(Json(status))
}

/// The drifts with each campaign's currency, amounts as decimal strings.
async fn described(state: &AppState, drifts: Vec<CampaignDrift>) -> Result<BudgetStatus> {
    let mut campaigns = Vec::with_capacity(drifts.len());
    for drift in drifts {
        let currency = match store::get(&state.db, drift.campaign).await? {
            Some(campaign) => campaign.currency,
            None => return Err(ApiError::NotFound("campaign")),
        };
        campaigns.push(budget_drift(&drift, currency));
    }
    let out_of_sync = campaigns.iter().filter(|c| !c.in_sync).count() as u64;
    Ok(BudgetStatus {
        campaigns,
        out_of_sync,
    })
}

/// One campaign's drift as the API shows it.
fn budget_drift(drift: &CampaignDrift, currency: Currency) -> BudgetDrift {
    let money = |micros: i64| Money::from_micros(micros).to_string();
    BudgetDrift {
        campaign_id: drift.campaign.0,
        currency: currency.to_string(),
        ledger_budget: money(drift.ledger_budget),
        ledger_spent: money(drift.ledger_spent),
        ledger_remaining: money(drift.ledger_remaining),
        ledger_open_leases: drift.ledger_open as u64,
        redis_budget: drift.redis_budget.map(money),
        redis_spent: drift.redis_spent.map(money),
        redis_remaining: drift.redis_remaining.map(money),
        redis_open_leases: drift.redis_open.map(|n| n as u64),
        drift: drift
            .redis_remaining
            .map(|r| money(r - drift.ledger_remaining)),
        overcommitted: money(drift.overcommitted),
        in_sync: drift.in_sync(),
        repaired: drift.repaired,
    }
}

/// A campaign without a budget is not found; Redis away is unavailable.
fn controller_error(error: ControllerError) -> ApiError {
    match error {
        ControllerError::NoBudget(_) => ApiError::NotFound("campaign budget"),
        ControllerError::Store(e) => ApiError::Unavailable(format!("Redis: {e}")),
        other => ApiError::Internal(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_is_redis_remaining_less_the_ledgers_in_the_campaigns_currency() {
        let drift = CampaignDrift {
            campaign: CampaignId(uuid::Uuid::nil()),
            ledger_budget: 100_000_000,
            ledger_remaining: 40_000_000,
            ledger_spent: 55_000_000,
            ledger_open: 1,
            redis_budget: Some(100_000_000),
            redis_remaining: Some(42_500_000),
            redis_spent: Some(52_500_000),
            redis_open: Some(1),
            overcommitted: 0,
            repaired: false,
        };
        let shown = budget_drift(&drift, Currency::parse("EUR").expect("code"));
        assert_eq!(shown.currency, "EUR");
        assert_eq!(shown.ledger_budget, "100.000000");
        assert_eq!(shown.drift.as_deref(), Some("2.500000"));
        assert!(!shown.in_sync);
        let missing = CampaignDrift {
            redis_budget: None,
            redis_remaining: None,
            redis_spent: None,
            redis_open: None,
            ..drift
        };
        let shown = budget_drift(&missing, Currency::parse("EUR").expect("code"));
        assert_eq!(shown.drift, None);
        assert!(!shown.in_sync);
    }
}
