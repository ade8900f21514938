//! `GET /api/v1/feed/campaigns?since=<revision>&wait_s=<seconds>` (service, admin).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Role;
use crate::campaigns::feed_log as store;
use crate::error::{ApiError, Problem, Result};
use crate::extract::Auth;
use crate::http::json::QueryParams;
use crate::state::AppState;
use domain::campaign::Campaign;
use domain::feed::{FeedChange, FeedPage};

/// Who may read the feed.
pub const FEED_ROLES: &[Role] = &[Role::Service, Role::Admin];

/// Most changes in one answer; `more` says when there are others.
const MAX_CHANGES: i64 = 1000;

/// What the feed is asked.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// 0 for a full snapshot; else the revision the caller has.
    #[param(minimum = 0)]
    pub since: i64,
    /// How long to wait for a change when there is none yet (long-poll), 0 to 25 s.
    #[serde(default)]
    pub wait_s: u64,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(feed))
}

/// The campaign feed.
///
/// Roles: service, admin. A full snapshot when `since=0`; else every change after `since`, in
/// revision order, waiting up to `wait_s` seconds for one.
#[utoipa::path(get, path = "/api/v1/feed/campaigns", tag = "feed",
    params(FeedQuery),
    responses(
        (status = 200, description = "Snapshot or changes", body = FeedPage),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read the feed", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Revision unknown here: take a new snapshot", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(since = query.since), err(level = "info"))]
pub async fn feed(
    State(state): State<AppState>,
    Auth(principal): Auth,
    QueryParams(query): QueryParams<FeedQuery>,
) -> Result<Json<FeedPage>> {
    principal.require(FEED_ROLES)?;
    if query.since < 0 {
        return Err(ApiError::BadRequest(
            "since: 0 for a snapshot, or a revision the caller has".into(),
        ));
    }
    if query.since == 0 {
        return Ok(Json(snapshot(&state).await?));
    }
    let wait = Duration::from_secs(query.wait_s.min(state.settings.feed_wait_max_s));
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let mut conn = state.db.acquire().await?;
        let current = store::current(&mut conn).await?;
        if query.since > current {
            return Err(ApiError::Gone(format!(
                "revision {} is ahead of the feed ({current}); take a new snapshot with since=0",
                query.since
            )));
        }
        let changes = store::changes_since(&mut conn, query.since, MAX_CHANGES + 1).await?;
        drop(conn);
        let now = tokio::time::Instant::now();
        if !changes.is_empty() || now >= deadline {
            return Ok(Json(page(query.since, changes)));
        }
        let step = (deadline - now).min(Duration::from_secs(1));
        state.feed.wait_after(query.since, step).await;
    }
}

fn page(since: i64, mut changes: Vec<(i64, Campaign)>) -> FeedPage {
    let more = changes.len() > MAX_CHANGES as usize;
    changes.truncate(MAX_CHANGES as usize);
    FeedPage {
        revision: changes.last().map_or(since, |(r, _)| *r),
        snapshot: false,
        campaigns: Vec::new(),
        changes: changes
            .into_iter()
            .map(|(revision, campaign)| FeedChange { revision, campaign })
            .collect(),
        more,
    }
}

/// Every campaign and the revision they are as of, read from one consistent snapshot.
async fn snapshot(state: &AppState) -> Result<FeedPage> {
    let (revision, campaigns) = store::snapshot(&state.db).await?;
    Ok(FeedPage {
        revision,
        snapshot: true,
        campaigns,
        changes: Vec::new(),
        more: false,
    })
}
