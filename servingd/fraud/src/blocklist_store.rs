//! `blocked_sources`: the blocklist in PostgreSQL.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

/// What a blocked source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A client address (IPv4 or IPv6).
    Ip,
    /// A device id (an advertising id, `device.ifa`).
    Device,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Ip => "ip",
            SourceKind::Device => "device",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ip" => Some(SourceKind::Ip),
            "device" => Some(SourceKind::Device),
            _ => None,
        }
    }
}

/// One blocked source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockedSource {
    pub kind: SourceKind,
    pub value: String,
    pub reason: String,
    /// Who added it (a user or API key id).
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

type Row = (String, String, String, String, DateTime<Utc>);

fn from_row((kind, value, reason, added_by, added_at): Row) -> Option<BlockedSource> {
    Some(BlockedSource {
        kind: SourceKind::parse(&kind)?,
        value,
        reason,
        added_by,
        added_at,
    })
}

/// Adds sources (those already listed stay as they are); returns those that were new.
pub async fn add(
    conn: &mut PgConnection,
    entries: &[(SourceKind, String, String)],
    added_by: &str,
) -> sqlx::Result<Vec<BlockedSource>> {
    let kinds: Vec<&str> = entries.iter().map(|(k, _, _)| k.as_str()).collect();
    let values: Vec<&str> = entries.iter().map(|(_, v, _)| v.as_str()).collect();
    let reasons: Vec<&str> = entries.iter().map(|(_, _, r)| r.as_str()).collect();
    let rows: Vec<Row> = sqlx::query_as(
        r"insert into blocked_sources (kind, value, reason, added_by)
          select k, v, r, $4 from unnest($1::text[], $2::text[], $3::text[]) as t(k, v, r)
          on conflict do nothing
          returning kind, value, reason, added_by, added_at",
    )
    .bind(&kinds)
    .bind(&values)
    .bind(&reasons)
    .bind(added_by)
    .fetch_all(conn)
    .await?;
    let mut added: Vec<BlockedSource> = rows.into_iter().filter_map(from_row).collect();
    added.sort_by(|a, b| (a.kind, &a.value).cmp(&(b.kind, &b.value)));
    Ok(added)
}

/// Removes a source: what was listed, or `None`.
pub async fn remove(
    conn: &mut PgConnection,
    kind: SourceKind,
    value: &str,
) -> sqlx::Result<Option<BlockedSource>> {
    let row: Option<Row> = sqlx::query_as(
        "delete from blocked_sources where kind = $1 and value = $2
         returning kind, value, reason, added_by, added_at",
    )
    .bind(kind.as_str())
    .bind(value)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(from_row))
}

/// A page in (kind, value) order after `after`, of one kind or all.
pub async fn page(
    pool: &PgPool,
    kind: Option<SourceKind>,
    after: Option<(SourceKind, String)>,
    limit: i64,
) -> sqlx::Result<Vec<BlockedSource>> {
    let (after_kind, after_value) = match &after {
        Some((k, v)) => (Some(k.as_str()), Some(v.as_str())),
        None => (None, None),
    };
    let rows: Vec<Row> = sqlx::query_as(
        r"select kind, value, reason, added_by, added_at from blocked_sources
           where ($1::text is null or kind = $1)
             and ($2::text is null or (kind, value) > ($2, $3))
           order by kind, value
           limit $4",
    )
    .bind(kind.map(SourceKind::as_str))
    .bind(after_kind)
    .bind(after_value)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(from_row).collect())
}

/// How many sources are listed.
pub async fn count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from blocked_sources")
        .fetch_one(pool)
        .await
}
