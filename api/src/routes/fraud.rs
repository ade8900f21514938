//! `/api/v1/fraud/blocklist`: list, add to and remove from the known-bad sources servingd
//! neither bids for nor bills. servingd reloads the list within seconds of a change.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit_records::{self, Change};
use crate::auth::Role;
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::extract::{Actor, Auth};
use crate::http::json::{JsonBody, PathParams, QueryParams};
use crate::state::AppState;
use fraud::blocklist_store::{self as store, BlockedSource, SourceKind};

/// Who may read the list.
pub const READ_ROLES: &[Role] = &[Role::Operator, Role::Billing, Role::Admin];
/// Who may change it.
pub const WRITE_ROLES: &[Role] = &[Role::Operator, Role::Admin];
/// Most entries added at once.
pub const MAX_ADD: usize = 1000;
const MAX_PAGE: i64 = 1000;

/// A source to block.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBlockedSource {
    pub kind: SourceKind,
    /// An IPv4 or IPv6 address (`ip`), or a device id of 1 to 200 characters (`device`).
    #[schema(min_length = 1, max_length = 200)]
    pub value: String,
    /// Why (up to 500 characters).
    #[schema(max_length = 500)]
    #[serde(default)]
    pub reason: String,
}

/// Sources to block.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBlockedSources {
    /// 1 to 1000 entries.
    #[schema(min_items = 1, max_items = 1000)]
    pub entries: Vec<NewBlockedSource>,
}

/// What adding did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Added {
    /// Entries new to the list.
    pub added: u64,
    /// Entries that were listed already (left as they were).
    pub already_listed: u64,
}

/// Filters and position of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BlocklistQuery {
    pub kind: Option<SourceKind>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// A page of the list, in (kind, value) order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlocklistPage {
    pub items: Vec<BlockedSource>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The path of one listed source.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SourcePath {
    pub kind: SourceKind,
    pub value: String,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_blocked, add_blocked))
        .routes(routes!(remove_blocked))
}

/// The value as stored: an address in its canonical form, a device id trimmed.
pub fn normalized(kind: SourceKind, value: &str) -> std::result::Result<String, &'static str> {
    let value = value.trim();
    match kind {
        SourceKind::Ip => value
            .parse::<IpAddr>()
            .map(|ip| ip.to_canonical().to_string())
            .map_err(|_| "an IPv4 or IPv6 address"),
        SourceKind::Device => {
            if value.is_empty()
                || value.chars().count() > 200
                || value.chars().any(char::is_control)
            {
                Err("1 to 200 characters, no control characters")
            } else {
                Ok(value.to_owned())
            }
        }
    }
}

/// The known-bad sources, a page at a time.
///
/// Roles: operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/fraud/blocklist", tag = "fraud",
    params(BlocklistQuery),
    responses(
        (status = 200, description = "A page", body = BlocklistPage),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read the list", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn list_blocked(
    State(state): State<AppState>,
    Auth(principal): Auth,
    QueryParams(query): QueryParams<BlocklistQuery>,
) -> Result<Json<BlocklistPage>> {
    principal.require(READ_ROLES)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit: 1 to {MAX_PAGE}")));
    }
    let after = match &query.cursor {
        None => None,
        Some(cursor) => {
            let parsed = cursor
                .split_once('/')
                .and_then(|(k, v)| Some((SourceKind::parse(k)?, v.to_owned())));
            Some(parsed.ok_or_else(|| {
                ApiError::BadRequest("cursor: a next_cursor from an earlier page".into())
            })?)
        }
    };
    let items = store::page(&state.db, query.kind, after, limit).await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| {
            items
                .last()
                .map(|s| format!("{}/{}", s.kind.as_str(), s.value))
        })
        .flatten();
    Ok(Json(BlocklistPage { items, next_cursor }))
}

/// Add sources to the list (those listed already stay as they were).
///
/// servingd stops bidding for them and billing their events within seconds. Roles: operator, admin.
#[utoipa::path(post, path = "/api/v1/fraud/blocklist", tag = "fraud",
    request_body = NewBlockedSources,
    responses(
        (status = 200, description = "Added", body = Added),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not change the list", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid entries (each named)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn add_blocked(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(body): JsonBody<NewBlockedSources>,
) -> Result<Json<Added>> {
    actor.principal.require(WRITE_ROLES)?;
    if body.entries.is_empty() || body.entries.len() > MAX_ADD {
        return Err(ApiError::field(
            "entries",
            format!("1 to {MAX_ADD} entries"),
        ));
    }
    let mut errors = Vec::new();
    let mut entries = Vec::with_capacity(body.entries.len());
    for (i, entry) in body.entries.into_iter().enumerate() {
        if entry.reason.chars().count() > 500 {
            errors.push(FieldError::new(
                format!("entries[{i}].reason"),
                "at most 500 characters",
            ));
        }
        match normalized(entry.kind, &entry.value) {
            Ok(value) => entries.push((entry.kind, value, entry.reason)),
            Err(message) => errors.push(FieldError::new(format!("entries[{i}].value"), message)),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    entries.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    entries.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    let given = entries.len() as u64;
    let mut tx = state.db.begin().await?;
    let added = store::add(&mut tx, &entries, &actor.principal.id.to_string()).await?;
    let records = added
        .iter()
        .map(|source| {
            Ok(Change::of("fraud.block", object(source), None)
                .after(source)?
                .by(&actor, source.added_at))
        })
        .collect::<Result<Vec<_>>>()?;
    audit_records::change::record_all(&state, &mut tx, &records).await?;
    tx.commit().await?;
    let added = added.len() as u64;
    Ok(Json(Added {
        added,
        already_listed: given - added,
    }))
}

/// Take a source off the list.
///
/// Roles: operator, admin.
#[utoipa::path(delete, path = "/api/v1/fraud/blocklist/{kind}/{value}", tag = "fraud",
    params(SourcePath),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not change the list", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not listed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn remove_blocked(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<SourcePath>,
) -> Result<StatusCode> {
    actor.principal.require(WRITE_ROLES)?;
    let value = normalized(path.kind, &path.value).map_err(|_| ApiError::NotFound("source"))?;
    let mut tx = state.db.begin().await?;
    let Some(removed) = store::remove(&mut tx, path.kind, &value).await? else {
        return Err(ApiError::NotFound("source"));
    };
    let entry = Change::of("fraud.unblock", object(&removed), None)
        .before(&removed)?
        .by(&actor, state.clock.now());
    audit_records::change::record(&state, &mut tx, &entry).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A blocked source as the audit trail names it.
fn object(source: &BlockedSource) -> String {
    format!("source:{}/{}", source.kind.as_str(), source.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_stored_canonical_and_device_ids_trimmed() {
        assert_eq!(
            normalized(SourceKind::Ip, " 203.0.113.9 "),
            Ok("203.0.113.9".into())
        );
        assert_eq!(
            normalized(SourceKind::Ip, "::ffff:203.0.113.9"),
            Ok("203.0.113.9".into()),
            "a mapped IPv4 address is the IPv4 address"
        );
        assert_eq!(
            normalized(SourceKind::Ip, "2001:DB8::1"),
            Ok("2001:db8::1".into())
        );
        assert!(normalized(SourceKind::Ip, "203.0.113").is_err());
        assert_eq!(
            normalized(SourceKind::Device, " ifa-1 "),
            Ok("ifa-1".into())
        );
        assert!(normalized(SourceKind::Device, "").is_err());
        assert!(normalized(SourceKind::Device, &"x".repeat(201)).is_err());
        assert!(normalized(SourceKind::Device, "a\nb").is_err());
    }
}
