//! `/api/v1/audit` and `/api/v1/audit/verify`.

use std::time::Duration;

use audit::AuditEntry;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit_records::entry::seen_by;
use crate::auth::Role;
use crate::error::{ApiError, Problem, Result};
use crate::extract::Auth;
use crate::http::json::QueryParams;
use crate::state::AppState;

/// Who may list entries (an advertiser sees those about its own objects).
pub const LIST_ROLES: &[Role] = &[Role::Advertiser, Role::Operator, Role::Billing, Role::Admin];
/// Who may have the chain verified.
pub const VERIFY_ROLES: &[Role] = &[Role::Operator, Role::Billing, Role::Admin];
const MAX_PAGE: i64 = 1000;
/// How long a call to Vault may take during a verification.
const VAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Filters and position of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries about this advertiser's objects (staff; an advertiser sees only its own).
    pub advertiser_id: Option<Uuid>,
    /// Only entries by this actor.
    pub actor: Option<String>,
    /// Only entries of this action (`ledger.post`, `campaign.pause`...).
    pub action: Option<String>,
    /// Only entries about this object (`transfer:<id>`, `campaign:<id>`...).
    pub object: Option<String>,
    /// From this time on (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// A page of entries, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// Where the chain fails.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditFault {
    /// The first entry where it fails.
    pub position: u64,
    pub message: String,
}

/// What a verification found.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    /// Every entry links to the one before and matches its hash, and every signed checkpoint
    /// verified.
    pub intact: bool,
    /// Entries walked (all of them when intact).
    pub rows: u64,
    /// Signed checkpoints whose signature Vault verified.
    pub checkpoints_verified: usize,
    /// Whether signatures were checked (false without Vault settings: the chain alone was).
    pub signatures_checked: bool,
    /// The chain's last hash, hex (when intact).
    pub head_hash: Option<String>,
    /// The first failure (when not intact).
    pub fault: Option<AuditFault>,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(verify_audit))
}

/// Audit entries, newest first.
///
/// Roles: operator, billing, admin (all entries); advertiser (those about its own objects).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page", body = AuditPage),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read the audit trail", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn list_audit(
    State(state): State<AppState>,
    Auth(principal): Auth,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Json<AuditPage>> {
    principal.require(LIST_ROLES)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit: 1 to {MAX_PAGE}")));
    }
    let before =
        match &query.cursor {
            None => None,
            Some(cursor) => Some(cursor.parse::<i64>().ok().filter(|p| *p > 0).ok_or_else(
                || ApiError::BadRequest("cursor: a next_cursor from an earlier page".into()),
            )?),
        };
    let advertiser = match principal.role {
        Role::Advertiser => {
            let own = principal.advertiser.map(|a| a.0);
            if query.advertiser_id.is_some() && query.advertiser_id != own {
                // another advertiser's entries: there are none to see
                return Ok(Json(AuditPage {
                    items: Vec::new(),
                    next_cursor: None,
                }));
            }
            own
        }
        _ => query.advertiser_id,
    };
    let filter = audit::AuditFilter {
        advertiser,
        actor: query.actor,
        action: query.action,
        object: query.object,
        since: query.since,
        until: query.until,
    };
    let mut items = audit::audit_entries(&state.db, &filter, before, limit).await?;
    if let (Role::Advertiser, Some(own)) = (principal.role, advertiser) {
        items = items.into_iter().map(|e| seen_by(e, own)).collect();
    }
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|e| e.position.to_string()))
        .flatten();
    Ok(Json(AuditPage { items, next_cursor }))
}

/// Verify the audit chain.
///
/// Walks the whole chain and checks every signed checkpoint through Vault; names the first entry
/// where anything fails. Roles: operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses(
        (status = 200, description = "What the verification found", body = AuditVerification),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not verify the audit trail", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Vault could not be reached to check signatures", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn verify_audit(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<AuditVerification>> {
    principal.require(VERIFY_ROLES)?;
    let (outcome, signatures_checked) = match &state.settings.vault {
        Some(vault) => {
            let signer = vault
                .audit_signer(VAULT_TIMEOUT)
                .map_err(|e| ApiError::Unavailable(format!("vault: {e}")))?;
            let outcome = state
                .audit
                .verify_signed(&signer)
                .await
                .map_err(|e| match e {
                    audit::CheckpointError::Vault(e) => {
                        ApiError::Unavailable(format!("vault: {e}"))
                    }
                    audit::CheckpointError::Ledger(e) => ApiError::from(e),
                })?;
            (outcome, true)
        }
        None => (state.audit.verify(Vec::new()).await?, false),
    };
    Ok(Json(match outcome {
        Ok(summary) => AuditVerification {
            intact: true,
            rows: summary.rows,
            checkpoints_verified: summary.checkpoints,
            signatures_checked,
            head_hash: Some(summary.head.to_hex()),
            fault: None,
        },
        Err(fault) => AuditVerification {
            intact: false,
            rows: fault.position().saturating_sub(1),
            checkpoints_verified: 0,
            signatures_checked,
            head_hash: None,
            fault: Some(AuditFault {
                position: fault.position(),
                message: fault.to_string(),
            }),
        },
    }))
}
