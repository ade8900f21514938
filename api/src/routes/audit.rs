//! `/api/v1/audit` and `/api/v1/audit/verifications`.

use audit::AuditEntry;
use audit::verifications::{self, Verification};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit_records::entry::seen_by;
use crate::audit_records::verify_job;
use crate::auth::Role;
use crate::error::{ApiError, Problem, Result};
use crate::extract::{Actor, Auth};
use crate::http::json::{JsonBody, PathParams, QueryParams};
use crate::state::AppState;

/// Who may list entries (an advertiser sees those about its own objects).
pub const LIST_ROLES: &[Role] = &[Role::Advertiser, Role::Operator, Role::Billing, Role::Admin];
/// Who may have the chain verified.
pub const VERIFY_ROLES: &[Role] = &[Role::Operator, Role::Billing, Role::Admin];
const MAX_PAGE: i64 = 1000;

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

/// A verification to start.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationRequest {
    /// Walk from the first row (default: resume from the latest signed checkpoint up to the
    /// head the last intact verification reached).
    #[serde(default)]
    pub full: bool,
}

/// The path of one verification.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VerificationPath {
    pub id: Uuid,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(start_verification))
        .routes(routes!(get_verification))
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

/// Start a verification of the audit chain.
///
/// One runs at a time, in the background: follow it at its `id`. It resumes from the latest
/// signed checkpoint up to the head the last intact verification reached (`full` walks from
/// the first row), holds the chain to every signed checkpoint, in the database and in the
/// witness file, and checks signatures with the key's public halves. Roles: operator, billing,
/// admin.
#[utoipa::path(post, path = "/api/v1/audit/verifications", tag = "audit",
    request_body = VerificationRequest,
    responses(
        (status = 202, description = "Started; follow it at its id", body = Verification),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not verify the audit trail", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A verification is running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn start_verification(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(body): JsonBody<VerificationRequest>,
) -> Result<(StatusCode, Json<Verification>)> {
    actor.principal.require(VERIFY_ROLES)?;
    let id = verify_job::start(&state, body.full, &actor.principal.id.to_string()).await?;
    let verification = verifications::get(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound("verification"))?;
    Ok((StatusCode::ACCEPTED, Json(verification)))
}

/// A verification of the audit chain: how far it got, what it found.
///
/// Roles: operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/audit/verifications/{id}", tag = "audit",
    params(VerificationPath),
    responses(
        (status = 200, description = "The verification", body = Verification),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not verify the audit trail", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such verification", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn get_verification(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathParams(path): PathParams<VerificationPath>,
) -> Result<Json<Verification>> {
    principal.require(VERIFY_ROLES)?;
    verifications::get(&state.db, path.id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("verification"))
}
