//! What the audit trail shows: its entries, newest first, narrowed by advertiser, actor, action,
//! object or time.

use chrono::{DateTime, Utc};
use ledger::Result;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::ChainHash;

/// What a listing of the audit trail is narrowed to.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Entries about this advertiser's objects (or a ledger entry listing it).
    pub advertiser: Option<Uuid>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Its place in the chain, from 1.
    pub position: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: String,
    /// `noun.verb`: `ledger.post`, `budget.allocate`, `campaign.pause`...
    pub action: String,
    /// `kind:id`.
    pub object: String,
    /// The advertiser the object belongs to (a ledger statement's entry names one only when all
    /// its transfers are that advertiser's; `after.advertisers` lists them all).
    pub advertiser_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub before: Option<serde_json::Value>,
    /// For `ledger.post`: the transfers' `count`, the `digest` of their contents, and their
    /// `advertisers`.
    pub after: Option<serde_json::Value>,
    /// SHA-256 of the entry (its position, the previous entry's hash and its content), hex.
    pub hash: String,
    /// The previous entry's hash, hex.
    pub prev_hash: String,
}

/// Audit entries before position `before` (newest first), at most `limit`.
pub async fn audit_entries(
    db: &PgPool,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        r"select position, at, actor, role, action, object, advertiser_id, request_id, before,
                 after, hash, prev_hash
            from audit_log
           where ($1::bigint is null or position < $1)
             and ($2::uuid is null or advertiser_id = $2 or advertisers @> array[$2::uuid])
             and ($3::text is null or actor = $3)
             and ($4::text is null or action = $4)
             and ($5::text is null or object = $5)
             and ($6::timestamptz is null or at >= $6)
             and ($7::timestamptz is null or at < $7)
           order by position desc
           limit $8",
    )
    .bind(before)
    .bind(filter.advertiser)
    .bind(&filter.actor)
    .bind(&filter.action)
    .bind(&filter.object)
    .bind(filter.since)
    .bind(filter.until)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                position: r.try_get("position")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                role: r.try_get("role")?,
                action: r.try_get("action")?,
                object: r.try_get("object")?,
                advertiser_id: r.try_get("advertiser_id")?,
                request_id: r.try_get("request_id")?,
                before: r.try_get("before")?,
                after: r.try_get("after")?,
                hash: hash_hex(&r.try_get::<Vec<u8>, _>("hash")?),
                prev_hash: hash_hex(&r.try_get::<Vec<u8>, _>("prev_hash")?),
            })
        })
        .collect()
}

/// A stored hash as hex ([`ChainHash`]'s form; any other length shown as is).
fn hash_hex(bytes: &[u8]) -> String {
    ChainHash::from_slice(bytes).map_or_else(|| format!("{bytes:02x?}"), |h| h.to_hex())
}
