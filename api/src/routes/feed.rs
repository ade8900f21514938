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
/// Most campaigns in one page of a snapshot (and the default).
const MAX_SNAPSHOT_PAGE: i64 = 1000;

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
    /// With `since=0`: the next page of a snapshot, as the last page's `next_cursor` said.
    pub cursor: Option<String>,
    /// With `since=0`: most campaigns in the page, 1 to 1000 (default 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(feed))
}

/// The campaign feed.
///
/// Roles: service, admin. A snapshot when `since=0`: every campaign not archived, in pages of
/// `limit` (follow `next_cursor`); else every change after `since`, in revision order, waiting
/// up to `wait_s` seconds for one.
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
        let limit = query.limit.unwrap_or(MAX_SNAPSHOT_PAGE);
        if !(1..=MAX_SNAPSHOT_PAGE).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit: 1 to {MAX_SNAPSHOT_PAGE}"
            )));
        }
        return Ok(Json(
            snapshot(&state, query.cursor.as_deref(), limit).await?,
        ));
    }
    if query.cursor.is_some() || query.limit.is_some() {
        return Err(ApiError::BadRequest(
            "cursor and limit page a snapshot: only with since=0".into(),
        ));
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
        next_cursor: None,
    }
}

/// A page of a snapshot: the first (`cursor` absent) at the current revision, read from one
/// consistent snapshot; each next one after the last page's campaign, at the first page's
/// revision (campaigns changed meanwhile come newer, and the changes after the revision put
/// them right).
async fn snapshot(state: &AppState, cursor: Option<&str>, limit: i64) -> Result<FeedPage> {
    let (revision, mut campaigns) = match cursor {
        None => store::snapshot_start(&state.db, limit + 1).await?,
        Some(cursor) => {
            let (revision, after) = parse_cursor(cursor)
                .ok_or_else(|| ApiError::BadRequest("cursor: not one this feed gave".into()))?;
            let mut conn = state.db.acquire().await?;
            if revision > store::current(&mut conn).await? {
                return Err(ApiError::Gone(
                    "the cursor is ahead of the feed; take a new snapshot".into(),
                ));
            }
            let campaigns =
                crate::campaigns::store::live_page(&mut conn, Some(after), limit + 1).await?;
            (revision, campaigns)
        }
    };
    let more = campaigns.len() > limit as usize;
    campaigns.truncate(limit as usize);
    let next_cursor = more
        .then(|| campaigns.last().map(|c| format!("{revision}.{}", c.id.0)))
        .flatten();
    Ok(FeedPage {
        revision,
        snapshot: true,
        campaigns,
        changes: Vec::new(),
        more,
        next_cursor,
    })
}

/// `<revision>.<campaign id>`.
fn parse_cursor(cursor: &str) -> Option<(i64, uuid::Uuid)> {
    let (revision, after) = cursor.split_once('.')?;
    let revision: i64 = revision.parse().ok().filter(|r| *r >= 0)?;
    Some((revision, uuid::Uuid::try_parse(after).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_a_revision_and_a_campaign_id() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(parse_cursor(&format!("42.{id}")), Some((42, id)));
        for bad in [
            "",
            "42",
            "x.{id}",
            "-1.0193a5f0-0000-7000-8000-00000000c001",
            "42.x",
        ] {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
    }
}
