//! `POST /api/v1/servingd/heartbeat` (servingd says it is alive) and `GET /api/v1/system/status`
//! (what an operator's dashboard shows of the platform: servingd instances and how far behind
//! the campaign feed each is, the blocklist, invalid traffic and refunds of the last hour, the
//! audit chain).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Role;
use crate::campaigns::feed_log;
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::extract::Auth;
use crate::http::json::{JsonBody, money_text};
use crate::state::AppState;
use crate::system::heartbeats::{self, Heartbeat, SeenInstance};

/// Who may send heartbeats.
pub const HEARTBEAT_ROLES: &[Role] = &[Role::Service, Role::Admin];
/// Who may read the system's status.
pub const STATUS_ROLES: &[Role] = &[Role::Operator, Role::Billing, Role::Admin];
/// An instance heard from within this many seconds is live.
pub const LIVE_WITHIN_S: i64 = 60;
/// Instances silent longer than this are left out of the status (and forgotten after a day).
const LISTED_WITHIN: Duration = Duration::minutes(15);

/// A servingd instance as the status shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ServingInstance {
    pub instance: String,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
    /// Heard from within the last 60 s.
    pub live: bool,
    /// The feed revision its index is as of, and how many revisions behind the feed that is.
    pub revision: i64,
    pub revisions_behind: i64,
    pub campaigns: i32,
    /// Seconds since the feed last answered it, as it last said.
    pub feed_staleness_s: f64,
}

/// Refunds of one currency.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RefundTotal {
    pub currency: String,
    pub count: i64,
    pub amount: String,
}

/// The audit chain.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChainStatus {
    pub length: u64,
    /// Rows the latest signed checkpoint covers, and when Vault signed it.
    pub signed_checkpoint_size: Option<u64>,
    pub signed_checkpoint_at: Option<DateTime<Utc>>,
}

/// The platform as an operator watches it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SystemStatus {
    pub now: DateTime<Utc>,
    /// The campaign feed's revision.
    pub feed_revision: i64,
    /// servingd instances heard from in the last 15 minutes, most recent first.
    pub servingd: Vec<ServingInstance>,
    /// Sources on the fraud blocklist.
    pub blocklist_size: i64,
    /// Events of the last hour judged invalid traffic.
    pub invalid_events_last_hour: i64,
    /// Refunds posted in the last hour, per currency.
    pub refunds_last_hour: Vec<RefundTotal>,
    pub audit: ChainStatus,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(heartbeat))
        .routes(routes!(system_status))
}

/// A servingd instance says it is alive and which feed revision it serves.
///
/// Roles: service, admin.
#[utoipa::path(post, path = "/api/v1/servingd/heartbeat", tag = "system",
    request_body = Heartbeat,
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not send heartbeats", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid heartbeat (each field named)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn heartbeat(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(beat): JsonBody<Heartbeat>,
) -> Result<StatusCode> {
    principal.require(HEARTBEAT_ROLES)?;
    let errors = invalid_fields(&beat);
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let now = state.clock.now();
    heartbeats::record(&state.db, &beat, now).await?;
    heartbeats::forget_before(&state.db, now - Duration::days(1)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The platform as an operator's dashboard shows it.
///
/// Roles: operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/system/status", tag = "system",
    responses(
        (status = 200, description = "The status", body = SystemStatus),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read the status", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn system_status(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<SystemStatus>> {
    principal.require(STATUS_ROLES)?;
    let now = state.clock.now();
    let hour_ago = now - Duration::hours(1);
    let feed_revision = feed_log::current(&mut *state.db.acquire().await?).await?;
    let seen = heartbeats::seen_since(&state.db, now - LISTED_WITHIN).await?;
    let blocklist_size = fraud::blocklist_store::count(&state.db).await?;
    let invalid_events_last_hour = events::reads::invalid_since(&state.db, hour_ago).await?;
    let refunds = ledger::reads::refund_totals_since(&state.db, hour_ago).await?;
    let chain = state.audit.status().await?;
    Ok(Json(SystemStatus {
        now,
        feed_revision,
        servingd: seen
            .into_iter()
            .map(|s| serving_instance(s, feed_revision, now))
            .collect(),
        blocklist_size,
        invalid_events_last_hour,
        refunds_last_hour: refunds
            .into_iter()
            .map(|(currency, count, amount)| RefundTotal {
                currency: currency.trim().to_owned(),
                count,
                amount: money_text(amount),
            })
            .collect(),
        audit: ChainStatus {
            length: chain.length,
            signed_checkpoint_size: chain.signed_checkpoint.as_ref().map(|c| c.size),
            signed_checkpoint_at: chain.signed_checkpoint.map(|c| c.signed_at),
        },
    }))
}

/// The fields of a heartbeat that do not hold.
fn invalid_fields(beat: &Heartbeat) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let length = beat.instance.chars().count();
    if length == 0 || length > 200 || beat.instance.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "instance",
            "1 to 200 characters, no control characters",
        ));
    }
    if beat.revision < 0 {
        errors.push(FieldError::new("revision", "0 or more"));
    }
    if beat.campaigns < 0 {
        errors.push(FieldError::new("campaigns", "0 or more"));
    }
    if beat.feed_staleness_ms < 0 {
        errors.push(FieldError::new("feed_staleness_ms", "0 or more"));
    }
    if beat.version.chars().count() > 100 || beat.version.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "version",
            "up to 100 characters, no control characters",
        ));
    }
    errors
}

fn serving_instance(seen: SeenInstance, feed_revision: i64, now: DateTime<Utc>) -> ServingInstance {
    ServingInstance {
        live: now - seen.seen_at <= Duration::seconds(LIVE_WITHIN_S),
        revisions_behind: (feed_revision - seen.revision).max(0),
        feed_staleness_s: seen.feed_staleness_ms as f64 / 1000.0,
        instance: seen.instance,
        version: seen.version,
        started_at: seen.started_at,
        seen_at: seen.seen_at,
        revision: seen.revision,
        campaigns: seen.campaigns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat() -> Heartbeat {
        Heartbeat {
            instance: "serving-1:8080".into(),
            revision: 7,
            campaigns: 3,
            feed_staleness_ms: 1200,
            version: "0.1.0".into(),
            started_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_heartbeat_names_each_field_that_does_not_hold() {
        assert!(invalid_fields(&beat()).is_empty());
        let bad = Heartbeat {
            instance: String::new(),
            revision: -1,
            feed_staleness_ms: -5,
            version: "x\n".into(),
            ..beat()
        };
        let fields: Vec<String> = invalid_fields(&bad).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["instance", "revision", "feed_staleness_ms", "version"]
        );
    }

    #[test]
    fn an_instance_is_live_for_a_minute_and_behind_by_the_revisions_it_lacks() {
        let now = DateTime::UNIX_EPOCH + Duration::hours(1);
        let seen = |ago: i64| SeenInstance {
            instance: "s".into(),
            revision: 7,
            campaigns: 3,
            feed_staleness_ms: 1500,
            version: String::new(),
            started_at: DateTime::UNIX_EPOCH,
            seen_at: now - Duration::seconds(ago),
        };
        let fresh = serving_instance(seen(60), 10, now);
        assert!(fresh.live);
        assert_eq!(fresh.revisions_behind, 3);
        assert_eq!(fresh.feed_staleness_s, 1.5);
        assert!(!serving_instance(seen(61), 10, now).live);
        assert_eq!(serving_instance(seen(1), 5, now).revisions_behind, 0);
    }
}
