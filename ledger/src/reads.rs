//! What other crates read from the tables this crate owns, as named queries: a campaign's spend,
//! what its leases hold, which campaigns hold money, an advertiser's balance, a campaign's
//! delivery and money by hour or day, the audit trail's entries, and the served events the fraud
//! scorer judges; and the one write another crate makes here, the scorer marking events invalid
//! ([`invalidate_events`]). Each runs one statement on the executor the caller passes (a pool, a
//! [`snapshot`], or a connection inside the caller's own transaction), and decides nothing.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgExecutor, PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use crate::audit::ChainHash;
use crate::error::Result;

/// A read-only transaction on one snapshot, for reads that must agree with one another (end it
/// with `commit`).
pub async fn snapshot(db: &PgPool) -> Result<Transaction<'static, Postgres>> {
    let mut tx = db.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// What a campaign has spent: in all, and since a moment (the start of its local day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignSpend {
    pub total: Decimal,
    pub since: Decimal,
}

/// The campaign's spend transfers, in all and posted at or after `since`.
pub async fn campaign_spend(
    conn: &mut PgConnection,
    campaign: Uuid,
    since: DateTime<Utc>,
) -> Result<CampaignSpend> {
    let row = sqlx::query(
        r"select coalesce(sum(t.amount), 0) as total,
                 coalesce(sum(t.amount) filter (where t.posted_at >= $2), 0) as since
            from ledger_transfers t
           where t.campaign_id = $1 and t.kind = 'spend'",
    )
    .bind(campaign)
    .bind(since)
    .fetch_one(conn)
    .await?;
    Ok(CampaignSpend {
        total: row.try_get("total")?,
        since: row.try_get("since")?,
    })
}

/// Budget leased to servers and not yet settled, micros: it may still be spent.
pub async fn leased_micros(conn: &mut PgConnection, campaign: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar(
        r"select coalesce(sum(coalesce(granted_micros, want_micros)), 0)::bigint
            from budget_leases where campaign_id = $1 and state in ('requested', 'open')",
    )
    .bind(campaign)
    .fetch_one(conn)
    .await?)
}

/// The campaigns whose hold account holds money (its posted balance above zero).
pub async fn campaigns_holding_money<'e>(db: impl PgExecutor<'e>) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        r"select campaign_id from ledger_accounts
           where kind = 'campaign_hold' and posted > 0 and campaign_id is not null",
    )
    .fetch_all(db)
    .await?)
}

/// An advertiser's money across its accounts (every currency it has summed, as it has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvertiserBalance {
    /// Cash posted.
    pub cash: Decimal,
    /// Cash posted less what two-phase transfers reserve.
    pub available: Decimal,
    /// Held for its campaigns.
    pub held: Decimal,
}

/// The advertiser's cash, available cash and campaign holds.
pub async fn advertiser_balance(db: &PgPool, advertiser: Uuid) -> Result<AdvertiserBalance> {
    let (cash, available, held): (Decimal, Decimal, Decimal) = sqlx::query_as(
        r"select coalesce(sum(posted) filter (where kind = 'advertiser_cash'), 0),
                 coalesce(sum(posted - reserved) filter (where kind = 'advertiser_cash'), 0),
                 coalesce(sum(posted) filter (where kind = 'campaign_hold'), 0)
            from ledger_accounts where advertiser_id = $1",
    )
    .bind(advertiser)
    .fetch_one(db)
    .await?;
    Ok(AdvertiserBalance {
        cash,
        available,
        held,
    })
}

/// A span of a report: `date_trunc` unit (`day` or `hour`), the campaign's time zone (IANA
/// name), and `[from, to)`. Buckets are local times written `YYYY-MM-DDTHH:MI:SS`.
#[derive(Debug, Clone, Copy)]
pub struct ReportSpan<'a> {
    pub unit: &'a str,
    pub time_zone: &'a str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Runs a per-bucket report query: `$1` the campaign, `$2` the `date_trunc` unit, `$3` the time
/// zone, `[$4, $5)` the span.
async fn by_bucket<'e, O>(
    db: impl PgExecutor<'e>,
    campaign: Uuid,
    span: ReportSpan<'_>,
    sql: &'static str,
) -> Result<Vec<O>>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    Ok(sqlx::query_as(sql)
        .bind(campaign)
        .bind(span.unit)
        .bind(span.time_zone)
        .bind(span.from)
        .bind(span.to)
        .fetch_all(db)
        .await?)
}

/// Valid impressions and clicks of the campaign per bucket.
pub async fn delivery_by_bucket<'e>(
    db: impl PgExecutor<'e>,
    campaign: Uuid,
    span: ReportSpan<'_>,
) -> Result<Vec<(String, i64, i64)>> {
    by_bucket(
        db,
        campaign,
        span,
        r#"select to_char(date_trunc($2, at at time zone $3), 'YYYY-MM-DD"T"HH24:MI:SS'),
                  count(*) filter (where kind = 'impression'),
                  count(*) filter (where kind = 'click')
             from ad_events
            where campaign_id = $1 and valid and at >= $4 and at < $5
            group by 1"#,
    )
    .await
}

/// The campaign's spend and refunds posted per bucket.
pub async fn money_by_bucket<'e>(
    db: impl PgExecutor<'e>,
    campaign: Uuid,
    span: ReportSpan<'_>,
) -> Result<Vec<(String, Decimal, Decimal)>> {
    by_bucket(
        db,
        campaign,
        span,
        r#"select to_char(date_trunc($2, posted_at at time zone $3), 'YYYY-MM-DD"T"HH24:MI:SS'),
                  coalesce(sum(amount) filter (where kind = 'spend'), 0),
                  coalesce(sum(amount) filter (where kind = 'refund'), 0)
             from ledger_transfers
            where campaign_id = $1 and kind in ('spend', 'refund')
              and posted_at >= $4 and posted_at < $5
            group by 1"#,
    )
    .await
}

/// What the campaign served beyond its hold (never billed) per bucket, by when it was served.
pub async fn over_delivery_by_bucket<'e>(
    db: impl PgExecutor<'e>,
    campaign: Uuid,
    span: ReportSpan<'_>,
) -> Result<Vec<(String, Decimal)>> {
    by_bucket(
        db,
        campaign,
        span,
        r#"select to_char(date_trunc($2, event_at at time zone $3), 'YYYY-MM-DD"T"HH24:MI:SS'),
                  sum(amount)
             from unbilled_events
            where campaign_id = $1 and reason = 'over_delivery'
              and event_at >= $4 and event_at < $5
            group by 1"#,
    )
    .await
}

/// When the campaign's first hold was posted on each local day (`YYYY-MM-DD`) from the day
/// before `from` to `to`, as a fraction of the day.
pub async fn first_hold_by_day<'e>(
    db: impl PgExecutor<'e>,
    campaign: Uuid,
    time_zone: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, f64)>> {
    Ok(sqlx::query_as(
        r"select to_char(t.posted_at at time zone $2, 'YYYY-MM-DD'),
                 min(extract(epoch from (t.posted_at at time zone $2)::time))::float8 / 86400
            from ledger_transfers t
            join ledger_accounts h on h.id = t.credit_account_id and h.kind = 'campaign_hold'
           where h.campaign_id = $1 and t.kind = 'hold'
             and t.posted_at >= $3 - interval '1 day' and t.posted_at < $4
           group by 1",
    )
    .bind(campaign)
    .bind(time_zone)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?)
}

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

/// A served event as the fraud scorer judges it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ServedEventSeen {
    pub event_id: String,
    /// `impression` or `click`.
    pub kind: String,
    pub campaign: Uuid,
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
    pub device: Option<String>,
    pub user_agent: Option<String>,
}

/// The valid served events at or after `since` and at or before `until`.
pub async fn valid_events_between(
    db: &PgPool,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<ServedEventSeen>> {
    Ok(sqlx::query_as(
        r"select event_id, kind, campaign_id as campaign, at, ip, device, user_agent
            from ad_events where at >= $1 and at <= $2 and valid",
    )
    .bind(since)
    .bind(until)
    .fetch_all(db)
    .await?)
}

/// A billed ad judged invalid traffic that has no refund yet: its spend transfer, and the cash
/// account a refund goes back to (`None` when the advertiser has none in that currency).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UnrefundedSpend {
    pub spend: Uuid,
    pub event_id: String,
    pub amount: Decimal,
    pub currency: String,
    pub campaign: Option<Uuid>,
    pub advertiser: Option<Uuid>,
    pub spend_account: i64,
    pub cash_account: Option<i64>,
    /// Why the event was judged invalid (`invalid_traffic:…`).
    pub reason: String,
}

/// The spends of events served at or after `since`, judged invalid traffic, not refunded yet.
pub async fn unrefunded_invalid_spends(
    db: &PgPool,
    since: DateTime<Utc>,
) -> Result<Vec<UnrefundedSpend>> {
    Ok(sqlx::query_as(
        r"select t.id as spend, t.event_id, t.amount, t.currency, t.campaign_id as campaign,
                 t.advertiser_id as advertiser, t.credit_account_id as spend_account,
                 cash.id as cash_account, e.invalid_reason as reason
            from ledger_transfers t
            join (select distinct on (event_id) event_id, invalid_reason from ad_events
                   where at >= $1 and not valid and invalid_reason like 'invalid_traffic:%') e
              on e.event_id = t.event_id
            left join ledger_accounts cash
              on cash.kind = 'advertiser_cash' and cash.advertiser_id = t.advertiser_id
             and cash.currency = t.currency
           where t.kind = 'spend'
             and not exists (select 1 from ledger_transfers r
                              where r.kind = 'refund' and r.event_id = t.event_id)",
    )
    .bind(since)
    .fetch_all(db)
    .await?)
}

/// Marks the events as invalid for `reason` (those still valid, served at or after `since`);
/// how many it marked.
pub async fn invalidate_events(
    db: &PgPool,
    events: &[String],
    reason: &str,
    since: DateTime<Utc>,
) -> Result<u64> {
    let marked = sqlx::query(
        r"update ad_events set valid = false, invalid_reason = $2
           where event_id = any($1) and valid and at >= $3",
    )
    .bind(events)
    .bind(reason)
    .bind(since)
    .execute(db)
    .await?;
    Ok(marked.rows_affected())
}
