//! What other crates read from the tables this crate owns, as named queries: a campaign's spend
//! and its budget as the hold has it, spend by lease, which campaigns hold money, an advertiser's
//! balance, a campaign's money by hour or day, a campaign's spend and hold accounts, the spends
//! of given events not refunded yet, refunds newest first and those of the last hour, and transfers as text for the audit trail's verifier. Each
//! runs one statement on the executor the caller passes (a pool, a [`snapshot`], or a
//! connection inside the caller's own transaction), and decides nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use crate::currency::Currency;
use crate::error::{Error, Result};
use crate::ids::{AccountId, AdvertiserId, CampaignId, LeaseId};
use crate::money::Money;

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
    campaign: CampaignId,
    since: DateTime<Utc>,
) -> Result<CampaignSpend> {
    let row = sqlx::query(
        r"select coalesce(sum(t.amount), 0) as total,
                 coalesce(sum(t.amount) filter (where t.posted_at >= $2), 0) as since
            from ledger_transfers t
           where t.campaign_id = $1 and t.kind = 'spend'",
    )
    .bind(campaign.0)
    .bind(since)
    .fetch_one(conn)
    .await?;
    Ok(CampaignSpend {
        total: row.try_get("total")?,
        since: row.try_get("since")?,
    })
}

/// The campaigns whose hold account holds money (its posted balance above zero).
pub async fn campaigns_holding_money<'e>(db: impl PgExecutor<'e>) -> Result<Vec<CampaignId>> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        r"select campaign_id from ledger_accounts
           where kind = 'campaign_hold' and posted > 0 and campaign_id is not null",
    )
    .fetch_all(db)
    .await?;
    Ok(ids.into_iter().map(CampaignId).collect())
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
pub async fn advertiser_balance(
    db: &PgPool,
    advertiser: AdvertiserId,
) -> Result<AdvertiserBalance> {
    let (cash, available, held): (Decimal, Decimal, Decimal) = sqlx::query_as(
        r"select coalesce(sum(posted) filter (where kind = 'advertiser_cash'), 0),
                 coalesce(sum(posted - reserved) filter (where kind = 'advertiser_cash'), 0),
                 coalesce(sum(posted) filter (where kind = 'campaign_hold'), 0)
            from ledger_accounts where advertiser_id = $1",
    )
    .bind(advertiser.0)
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
pub async fn by_bucket<'e, O>(
    db: impl PgExecutor<'e>,
    campaign: CampaignId,
    span: ReportSpan<'_>,
    sql: &'static str,
) -> Result<Vec<O>>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    Ok(sqlx::query_as(sql)
        .bind(campaign.0)
        .bind(span.unit)
        .bind(span.time_zone)
        .bind(span.from)
        .bind(span.to)
        .fetch_all(db)
        .await?)
}

/// The campaign's spend and refunds posted per bucket.
pub async fn money_by_bucket<'e>(
    db: impl PgExecutor<'e>,
    campaign: CampaignId,
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

/// When the campaign's first hold was posted on each local day (`YYYY-MM-DD`) from the day
/// before `from` to `to`, as a fraction of the day.
pub async fn first_hold_by_day<'e>(
    db: impl PgExecutor<'e>,
    campaign: CampaignId,
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
    .bind(campaign.0)
    .bind(time_zone)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?)
}

/// A billed ad with no refund yet: its spend transfer, and the cash account a refund goes back to
/// (`None` when the advertiser has none in that currency).
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
}

/// The spends billed for these events that have no refund yet.
pub async fn unrefunded_spends(db: &PgPool, events: &[String]) -> Result<Vec<UnrefundedSpend>> {
    Ok(sqlx::query_as(
        r"select t.id as spend, t.event_id, t.amount, t.currency, t.campaign_id as campaign,
                 t.advertiser_id as advertiser, t.credit_account_id as spend_account,
                 cash.id as cash_account
            from ledger_transfers t
            left join ledger_accounts cash
              on cash.kind = 'advertiser_cash' and cash.advertiser_id = t.advertiser_id
             and cash.currency = t.currency
           where t.kind = 'spend' and t.event_id = any($1)
             and not exists (select 1 from ledger_transfers r
                              where r.kind = 'refund' and r.event_id = t.event_id)",
    )
    .bind(events)
    .fetch_all(db)
    .await?)
}

/// A campaign's budget as its hold account has it, micros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldBudget {
    /// What its hold still holds plus what was spent from it.
    pub total: i64,
    /// What was spent from the hold.
    pub spent: i64,
    /// The commit position of the last hold or release on the hold account (0: none): a later
    /// budget change has a higher one.
    pub version: i64,
}

/// The campaign's budget as its hold account has it; `None` when the campaign has no hold
/// account.
pub async fn hold_budget(
    db: &mut PgConnection,
    campaign: CampaignId,
) -> Result<Option<HoldBudget>> {
    let row = sqlx::query(
        r"select h.posted as held,
                 coalesce(d.spent, 0) as spent,
                 greatest(coalesce(d.released, 0),
                          coalesce((select max(t.seq) from ledger_transfers t
                                     where t.credit_account_id = h.id), 0)) as version
            from ledger_accounts h
            left join lateral (
                 select sum(t.amount) filter (where t.kind = 'spend') as spent,
                        max(t.seq) filter (where t.kind = 'release') as released
                   from ledger_transfers t
                  where t.debit_account_id = h.id) d on true
           where h.campaign_id = $1 and h.kind = 'campaign_hold'",
    )
    .bind(campaign.0)
    .fetch_optional(&mut *db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let spent = micros(row.try_get("spent")?)?;
    Ok(Some(HoldBudget {
        total: micros(row.try_get("held")?)? + spent,
        spent,
        version: row.try_get("version")?,
    }))
}

/// What the ledger has billed for each of these leases (their spend transfers), micros; a lease
/// with nothing billed is absent.
pub async fn spend_by_lease(
    db: &mut PgConnection,
    leases: &[LeaseId],
) -> Result<HashMap<LeaseId, i64>> {
    let ids: Vec<Uuid> = leases.iter().map(|l| l.0).collect();
    let rows = sqlx::query(
        r"select lease_id, sum(amount) as spent from ledger_transfers
           where lease_id = any($1) and kind = 'spend'
           group by lease_id",
    )
    .bind(&ids)
    .fetch_all(&mut *db)
    .await?;
    lease_micros(&rows, "spent")
}

/// What the ledger has billed for each lease of the campaign from its hold, micros.
pub async fn campaign_spend_by_lease(
    db: &mut PgConnection,
    campaign: CampaignId,
) -> Result<HashMap<LeaseId, i64>> {
    let rows = sqlx::query(
        r"select t.lease_id, sum(t.amount) as spent
            from ledger_transfers t
            join ledger_accounts h on h.id = t.debit_account_id
           where h.campaign_id = $1 and h.kind = 'campaign_hold'
             and t.kind = 'spend' and t.lease_id is not null
           group by t.lease_id",
    )
    .bind(campaign.0)
    .fetch_all(&mut *db)
    .await?;
    lease_micros(&rows, "spent")
}

fn lease_micros(rows: &[PgRow], column: &str) -> Result<HashMap<LeaseId, i64>> {
    rows.iter()
        .map(|r| Ok((LeaseId(r.try_get("lease_id")?), micros(r.try_get(column)?)?)))
        .collect()
}

/// An amount of the ledger in micros, as the budget controller counts.
fn micros(value: Decimal) -> Result<i64> {
    Money::try_from(value)
        .ok()
        .and_then(Money::to_micros)
        .ok_or_else(|| Error::Corrupt(format!("{value} does not fit in micros")))
}

/// A transfer as the audit trail's verifier reads it back: every field as PostgreSQL writes it
/// out (`amount`, `currency` and `metadata` as text), so nothing is re-formatted on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferText {
    pub id: Uuid,
    pub kind: String,
    pub debit_account: i64,
    pub credit_account: i64,
    /// `amount::text` (six decimals).
    pub amount: String,
    /// `currency::text`.
    pub currency: String,
    pub advertiser: Option<Uuid>,
    pub campaign: Option<Uuid>,
    pub event: Option<String>,
    pub lease: Option<Uuid>,
    pub pending: Option<Uuid>,
    /// `metadata::text` (jsonb's own normal form).
    pub metadata: String,
    /// `posted_at` in microseconds since 2000-01-01 UTC (PostgreSQL's own epoch).
    pub posted_micros: i64,
}

/// 2000-01-01 UTC in microseconds since 1970: PostgreSQL's epoch for `timestamptz_send`.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// The transfers with these ids, as text.
pub async fn transfer_texts(
    db: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, TransferText>> {
    let rows = sqlx::query(
        r"select id, kind, debit_account_id, credit_account_id, amount::text as amount,
                 currency::text as currency, advertiser_id, campaign_id, event_id, lease_id,
                 pending_id, metadata::text as metadata, posted_at
            from ledger_transfers where id = any($1)",
    )
    .bind(ids)
    .fetch_all(&mut *db)
    .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for r in rows {
        let id: Uuid = r.try_get("id")?;
        found.insert(
            id,
            TransferText {
                id,
                kind: r.try_get("kind")?,
                debit_account: r.try_get("debit_account_id")?,
                credit_account: r.try_get("credit_account_id")?,
                amount: r.try_get("amount")?,
                currency: r.try_get("currency")?,
                advertiser: r.try_get("advertiser_id")?,
                campaign: r.try_get("campaign_id")?,
                event: r.try_get("event_id")?,
                lease: r.try_get("lease_id")?,
                pending: r.try_get("pending_id")?,
                metadata: r.try_get("metadata")?,
                posted_micros: r
                    .try_get::<DateTime<Utc>, _>("posted_at")?
                    .timestamp_micros()
                    - POSTGRES_EPOCH_MICROS,
            },
        );
    }
    Ok(found)
}

/// How many transfers the ledger holds.
pub async fn transfer_count(db: &mut PgConnection) -> Result<u64> {
    let count: i64 = sqlx::query_scalar("select count(*) from ledger_transfers")
        .fetch_one(&mut *db)
        .await?;
    Ok(count as u64)
}

/// The accounts a campaign's spend moves between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignAccounts {
    pub hold: AccountId,
    pub spend: AccountId,
    pub currency: Currency,
    pub advertiser: Option<AdvertiserId>,
}

/// The hold and spend accounts of each of `campaigns` that has both.
pub async fn campaign_accounts(
    pool: &PgPool,
    campaigns: &[CampaignId],
) -> Result<HashMap<CampaignId, CampaignAccounts>> {
    let ids: Vec<Uuid> = campaigns.iter().map(|c| c.0).collect();
    let rows = sqlx::query(
        r"select h.campaign_id, h.id as hold, s.id as spend, h.currency, h.advertiser_id
            from ledger_accounts h
            join ledger_accounts s on s.campaign_id = h.campaign_id and s.kind = 'campaign_spend'
           where h.campaign_id = any($1) and h.kind = 'campaign_hold'",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        let code: String = row.try_get("currency")?;
        let currency = Currency::parse(code.trim())
            .map_err(|e| Error::Corrupt(format!("account currency {code:?}: {e}")))?;
        found.insert(
            CampaignId(row.try_get("campaign_id")?),
            CampaignAccounts {
                hold: AccountId(row.try_get("hold")?),
                spend: AccountId(row.try_get("spend")?),
                currency,
                advertiser: row
                    .try_get::<Option<Uuid>, _>("advertiser_id")?
                    .map(AdvertiserId),
            },
        );
    }
    Ok(found)
}

/// A refund as the ledger posted it (invalid traffic's have the event and a reason).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RefundRow {
    /// Commit position, newest highest (the page cursor).
    pub seq: i64,
    pub id: Uuid,
    pub amount: Decimal,
    pub currency: String,
    pub advertiser_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub event_id: Option<String>,
    /// The `reason` of the refund's metadata (`invalid_traffic:...`), empty without one.
    pub reason: String,
    pub posted_at: DateTime<Utc>,
}

/// Which refunds to read: newest first, before the position `before`, at most `limit`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefundFilter {
    pub advertiser: Option<AdvertiserId>,
    pub campaign: Option<CampaignId>,
    pub since: Option<DateTime<Utc>>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// Refund transfers, newest first.
pub async fn refunds<'e>(db: impl PgExecutor<'e>, filter: RefundFilter) -> Result<Vec<RefundRow>> {
    Ok(sqlx::query_as(
        r"select seq, id, amount, currency, advertiser_id, campaign_id, event_id,
                 coalesce(metadata->>'reason', '') as reason, posted_at
            from ledger_transfers
           where kind = 'refund'
             and ($1::uuid is null or advertiser_id = $1)
             and ($2::uuid is null or campaign_id = $2)
             and ($3::timestamptz is null or posted_at >= $3)
             and ($4::bigint is null or seq < $4)
           order by seq desc
           limit $5",
    )
    .bind(filter.advertiser.map(|a| a.0))
    .bind(filter.campaign.map(|c| c.0))
    .bind(filter.since)
    .bind(filter.before)
    .bind(filter.limit)
    .fetch_all(db)
    .await?)
}

/// The refunds posted at or after `since`: how many, and their total in each currency.
pub async fn refund_totals_since<'e>(
    db: impl PgExecutor<'e>,
    since: DateTime<Utc>,
) -> Result<Vec<(String, i64, Decimal)>> {
    Ok(sqlx::query_as(
        r"select currency::text, count(*), sum(amount) from ledger_transfers
           where kind = 'refund' and posted_at >= $1
           group by currency order by currency",
    )
    .bind(since)
    .fetch_all(db)
    .await?)
}

/// Each campaign's money since its own moment (the start of its local day): spend and refunds
/// posted since, and when its first hold since was posted. A campaign with none is absent.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MoneySince {
    pub campaign_id: Uuid,
    pub spend: Decimal,
    pub refunds: Decimal,
    pub first_hold_at: Option<DateTime<Utc>>,
}

/// [`MoneySince`] of each `(campaign, since)`, in one statement.
pub async fn money_since<'e>(
    db: impl PgExecutor<'e>,
    campaigns: &[(CampaignId, DateTime<Utc>)],
) -> Result<Vec<MoneySince>> {
    let ids: Vec<Uuid> = campaigns.iter().map(|(c, _)| c.0).collect();
    let since: Vec<DateTime<Utc>> = campaigns.iter().map(|(_, s)| *s).collect();
    Ok(sqlx::query_as(
        r"select c.id as campaign_id,
                 coalesce(sum(t.amount) filter (where t.kind = 'spend'), 0) as spend,
                 coalesce(sum(t.amount) filter (where t.kind = 'refund'), 0) as refunds,
                 min(t.posted_at) filter (where t.kind = 'hold') as first_hold_at
            from unnest($1::uuid[], $2::timestamptz[]) as c(id, since)
            join ledger_transfers t
              on t.campaign_id = c.id and t.kind in ('spend', 'refund', 'hold')
             and t.posted_at >= c.since
           group by c.id",
    )
    .bind(ids)
    .bind(since)
    .fetch_all(db)
    .await?)
}
