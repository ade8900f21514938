//! `servingd_heartbeats`: each servingd instance's last word that it is alive, and the feed
//! revision it serves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgPool};
use utoipa::ToSchema;

/// What a servingd instance says of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The instance's name (servingd's `SERVINGD_SERVER_ID`, the name its leases carry), 1 to
    /// 200 characters.
    #[schema(min_length = 1, max_length = 200, example = "serving-1:8080")]
    pub instance: String,
    /// The campaign feed revision its index is as of.
    #[schema(minimum = 0)]
    pub revision: i64,
    /// Campaigns in its index.
    #[schema(minimum = 0)]
    pub campaigns: i32,
    /// Milliseconds since the feed last answered it.
    #[schema(minimum = 0)]
    pub feed_staleness_ms: i64,
    /// Its version (up to 100 characters).
    #[serde(default)]
    #[schema(max_length = 100)]
    pub version: String,
    pub started_at: DateTime<Utc>,
}

/// A heartbeat as stored, with when it came.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct SeenInstance {
    pub instance: String,
    pub revision: i64,
    pub campaigns: i32,
    pub feed_staleness_ms: i64,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
}

/// Records `beat` as seen at `at` (replacing the instance's previous one).
pub async fn record(db: &PgPool, beat: &Heartbeat, at: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query(
        r"insert into servingd_heartbeats
              (instance, revision, campaigns, feed_staleness_ms, version, started_at, seen_at)
          values ($1, $2, $3, $4, $5, $6, $7)
          on conflict (instance) do update set
              revision = excluded.revision, campaigns = excluded.campaigns,
              feed_staleness_ms = excluded.feed_staleness_ms, version = excluded.version,
              started_at = excluded.started_at, seen_at = excluded.seen_at",
    )
    .bind(&beat.instance)
    .bind(beat.revision)
    .bind(beat.campaigns)
    .bind(beat.feed_staleness_ms)
    .bind(&beat.version)
    .bind(beat.started_at)
    .bind(at)
    .execute(db)
    .await?;
    Ok(())
}

/// The instances heard from at or after `since`, most recently heard first.
pub async fn seen_since(db: &PgPool, since: DateTime<Utc>) -> sqlx::Result<Vec<SeenInstance>> {
    sqlx::query_as(
        r"select instance, revision, campaigns, feed_staleness_ms, version, started_at, seen_at
            from servingd_heartbeats where seen_at >= $1 order by seen_at desc, instance",
    )
    .bind(since)
    .fetch_all(db)
    .await
}

/// Forgets the instances last heard from before `before` (gone for good).
pub async fn forget_before(db: &PgPool, before: DateTime<Utc>) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("delete from servingd_heartbeats where seen_at < $1")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
