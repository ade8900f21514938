//! `budget_leases` and `budget_log`: the budget controller's memory in PostgreSQL, and what the
//! ledger knows of a campaign's budget and of each lease's spend.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ledger::{CampaignId, LeaseId, Money, Result};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::campaign::Want;

/// A lease PostgreSQL knows to be (possibly) open: granted, or requested with the grant not yet
/// recorded (then `want` bounds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnsettledLease {
    pub lease: LeaseId,
    pub campaign: CampaignId,
    pub server: String,
    pub want: i64,
    pub granted: Option<i64>,
    pub deadline_ms: Option<i64>,
    pub created_ms: i64,
}

/// Remembers a lease before Redis is asked to grant it.
pub(crate) async fn request(
    pool: &PgPool,
    lease: LeaseId,
    campaign: CampaignId,
    server: &str,
    want: Want,
) -> Result<()> {
    sqlx::query(
        r"with lease as (
              insert into budget_leases (lease_id, campaign_id, server, want_micros, state, per_click)
              values ($1, $2, $3, $4, 'requested', $5))
          insert into budget_log (campaign_id, lease_id, action, amount_micros, detail)
          values ($2, $1, 'request', $4, jsonb_build_object('server', $3::text, 'unit', $6::bigint))",
    )
    .bind(lease.0)
    .bind(campaign.0)
    .bind(server)
    .bind(want.amount)
    .bind(want.per_click)
    .bind(want.unit)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records what Redis answered to a request: a grant, or a refusal when nothing was left.
pub(crate) async fn granted(
    pool: &PgPool,
    lease: LeaseId,
    campaign: CampaignId,
    grant: Option<(i64, i64)>,
) -> Result<()> {
    let (state, action, amount, deadline) = match grant {
        Some((amount, deadline)) => ("open", "allocate", Some(amount), Some(deadline)),
        None => ("refused", "refuse", None, None),
    };
    sqlx::query(
        r"with lease as (
              update budget_leases
                 set state = $3, granted_micros = $4, deadline_ms = $5,
                     closed_at = case when $3 = 'refused' then now() end
               where lease_id = $1 and state = 'requested')
          insert into budget_log (campaign_id, lease_id, action, amount_micros, detail)
          values ($2, $1, $6, $4, jsonb_build_object('deadline_ms', $5::bigint))",
    )
    .bind(lease.0)
    .bind(campaign.0)
    .bind(state)
    .bind(amount)
    .bind(deadline)
    .bind(action)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records the close of a lease: settled by its server (`action` settle or late) or reaped.
pub(crate) async fn closed(
    pool: &PgPool,
    lease: LeaseId,
    campaign: CampaignId,
    action: &str,
    granted: i64,
    spent: i64,
) -> Result<()> {
    let state = if action == "reap" {
        "reaped"
    } else {
        "settled"
    };
    sqlx::query(
        r"with lease as (
              update budget_leases
                 set state = $3, granted_micros = coalesce(granted_micros, $4),
                     spent_micros = $5, closed_at = coalesce(closed_at, now())
               where lease_id = $1)
          insert into budget_log (campaign_id, lease_id, action, amount_micros)
          values ($2, $1, $6, $5)",
    )
    .bind(lease.0)
    .bind(campaign.0)
    .bind(state)
    .bind(granted)
    .bind(spent)
    .bind(action)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a renewal's new deadline.
pub(crate) async fn renewed(pool: &PgPool, lease: LeaseId, deadline_ms: i64) -> Result<()> {
    sqlx::query("update budget_leases set deadline_ms = $2 where lease_id = $1 and state = 'open'")
        .bind(lease.0)
        .bind(deadline_ms)
        .execute(pool)
        .await?;
    Ok(())
}

/// Adds a line to the log.
pub(crate) async fn log(
    pool: &PgPool,
    campaign: CampaignId,
    action: &str,
    amount: Option<i64>,
    detail: serde_json::Value,
) -> Result<()> {
    sqlx::query("insert into budget_log (campaign_id, action, amount_micros, detail) values ($1, $2, $3, $4)")
        .bind(campaign.0)
        .bind(action)
        .bind(amount)
        .bind(detail)
        .execute(pool)
        .await?;
    Ok(())
}

/// Logs spend reported after its lease was reaped: `late` in all, `over` of it beyond the pool.
pub(crate) async fn log_late(
    pool: &PgPool,
    campaign: CampaignId,
    late: i64,
    over: i64,
) -> Result<()> {
    log(
        pool,
        campaign,
        "late",
        Some(late),
        serde_json::json!({ "over": over }),
    )
    .await
}

fn unsettled(row: &sqlx::postgres::PgRow) -> Result<UnsettledLease> {
    Ok(UnsettledLease {
        lease: LeaseId(row.try_get("lease_id")?),
        campaign: CampaignId(row.try_get("campaign_id")?),
        server: row.try_get("server")?,
        want: row.try_get("want_micros")?,
        granted: row.try_get("granted_micros")?,
        deadline_ms: row.try_get("deadline_ms")?,
        created_ms: row.try_get("created_ms")?,
    })
}

const UNSETTLED_COLUMNS: &str = "lease_id, campaign_id, server, want_micros, granted_micros, deadline_ms, \
     (extract(epoch from created_at) * 1000)::bigint as created_ms";

/// The campaign's leases that may still be open.
pub(crate) async fn unsettled_of(
    db: &mut PgConnection,
    campaign: CampaignId,
) -> Result<Vec<UnsettledLease>> {
    let sql = format!(
        "select {UNSETTLED_COLUMNS} from budget_leases where campaign_id = $1 and state in ('requested', 'open')"
    );
    let rows = sqlx::query(&sql)
        .bind(campaign.0)
        .fetch_all(&mut *db)
        .await?;
    rows.iter().map(unsettled).collect()
}

/// Leases past their deadline by `grace_ms` at `now_ms`, and requests whose grant was never
/// recorded that are as old: what the reaper closes.
pub(crate) async fn overdue(
    pool: &PgPool,
    now_ms: i64,
    ttl_ms: i64,
    grace_ms: i64,
    limit: i64,
) -> Result<Vec<UnsettledLease>> {
    let sql = format!(
        r"select {UNSETTLED_COLUMNS} from budget_leases
           where (state = 'open' and deadline_ms + $2 <= $1)
              or (state = 'requested' and (extract(epoch from created_at) * 1000)::bigint + $3 + $2 <= $1)
           order by deadline_ms nulls first
           limit $4"
    );
    let rows = sqlx::query(&sql)
        .bind(now_ms)
        .bind(grace_ms)
        .bind(ttl_ms)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(unsettled).collect()
}

/// Campaigns that have leases on record.
pub(crate) async fn campaigns(pool: &PgPool) -> Result<Vec<CampaignId>> {
    let rows = sqlx::query("select distinct campaign_id from budget_leases")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok(CampaignId(r.try_get("campaign_id")?)))
        .collect()
}

/// Spend that closed leases count (what servers reported when they settled, what the reaper
/// counted, or a per-click lease's count) beyond what the ledger has billed for those leases so
/// far: events still on their way to the ledger, or clicks still to come. A rebuild counts it
/// as spent, as Redis did.
pub(crate) async fn reported_unbilled(db: &mut PgConnection, campaign: CampaignId) -> Result<i64> {
    let counts: Vec<(Uuid, Option<i64>)> = sqlx::query_as(
        r"select lease_id, coalesce(counted_micros, spent_micros) from budget_leases
           where campaign_id = $1 and state in ('settled', 'reaped')",
    )
    .bind(campaign.0)
    .fetch_all(&mut *db)
    .await?;
    let billed = ledger::reads::campaign_spend_by_lease(db, campaign).await?;
    let refused = events::reads::unbilled_by_campaign_lease(db, campaign).await?;
    // per lease: the more of its count and what its events came to (billed, or refused beyond
    // the budget), less what was billed (in the ledger's spend already)
    Ok(counts
        .into_iter()
        .map(|(lease, count)| {
            let billed = billed.get(&LeaseId(lease)).copied().unwrap_or(0);
            let refused = refused.get(&LeaseId(lease)).copied().unwrap_or(0);
            count.unwrap_or(0).max(billed + refused) - billed
        })
        .sum())
}

/// A closed lease's state (settled or reaped) and recorded spend, if PostgreSQL has it closed.
pub(crate) async fn closed_record(pool: &PgPool, lease: LeaseId) -> Result<Option<(String, i64)>> {
    Ok(sqlx::query_as(
        r"select state, spent_micros from budget_leases
           where lease_id = $1 and state in ('settled', 'reaped')",
    )
    .bind(lease.0)
    .fetch_optional(pool)
    .await?)
}

/// A closed per-click lease whose count may still change: its click window is open, or closing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClickLease {
    pub lease: LeaseId,
    pub campaign: CampaignId,
    pub granted: i64,
    /// What its server reported spent (the impressions' expected cost), or the reaper counted.
    pub reported: i64,
    /// What the controller counts as its spend now.
    pub counted: i64,
    /// What its clicks came to so far: billed by the ledger, or refused beyond the budget
    /// (delivered all the same, so counted).
    pub clicked: i64,
    pub closed_ms: i64,
}

const CLICK_LEASE_SQL: &str = r"select l.lease_id, l.campaign_id, l.granted_micros, l.spent_micros,
            coalesce(l.counted_micros, l.spent_micros) as counted,
            (extract(epoch from l.closed_at) * 1000)::bigint as closed_ms
       from budget_leases l
      where l.per_click and not l.clicks_final and l.state in ('settled', 'reaped')";

/// What each lease's events came to, micros: its spend in the ledger and what the ledger writer
/// recorded as unbilled for it (beyond the campaign's hold).
async fn delivered(db: &mut PgConnection, leases: &[LeaseId]) -> Result<HashMap<LeaseId, i64>> {
    let mut delivered = ledger::reads::spend_by_lease(db, leases).await?;
    for (lease, unbilled) in events::reads::unbilled_by_lease(db, leases).await? {
        *delivered.entry(lease).or_default() += unbilled;
    }
    Ok(delivered)
}

/// The click leases of these rows, with what their clicks came to so far.
async fn click_leases(db: &mut PgConnection, rows: &[PgRow]) -> Result<Vec<ClickLease>> {
    let ids = rows
        .iter()
        .map(|r| Ok(LeaseId(r.try_get("lease_id")?)))
        .collect::<Result<Vec<_>>>()?;
    let clicked = delivered(db, &ids).await?;
    rows.iter()
        .map(|row| {
            let lease = LeaseId(row.try_get("lease_id")?);
            Ok(ClickLease {
                lease,
                campaign: CampaignId(row.try_get("campaign_id")?),
                granted: row.try_get("granted_micros")?,
                reported: row.try_get("spent_micros")?,
                counted: row.try_get("counted")?,
                clicked: clicked.get(&lease).copied().unwrap_or(0),
                closed_ms: row.try_get("closed_ms")?,
            })
        })
        .collect()
}

/// Up to `limit` closed per-click leases whose count may still change, in lease order after
/// `after`, locked for the caller's transaction; rows another transaction holds are skipped.
pub(crate) async fn lock_click_leases(
    db: &mut PgConnection,
    after: Option<LeaseId>,
    limit: i64,
) -> Result<Vec<ClickLease>> {
    let sql = format!(
        "{CLICK_LEASE_SQL} and l.lease_id > $1 order by l.lease_id limit $2 for update of l skip locked"
    );
    let rows = sqlx::query(&sql)
        .bind(after.map_or(Uuid::nil(), |l| l.0))
        .bind(limit)
        .fetch_all(&mut *db)
        .await?;
    click_leases(db, &rows).await
}

/// The campaign's closed per-click leases whose count may still change (for a rebuild).
pub(crate) async fn click_leases_of(
    db: &mut PgConnection,
    campaign: CampaignId,
) -> Result<Vec<ClickLease>> {
    let sql = format!("{CLICK_LEASE_SQL} and l.campaign_id = $1");
    let rows = sqlx::query(&sql)
        .bind(campaign.0)
        .fetch_all(&mut *db)
        .await?;
    click_leases(db, &rows).await
}

/// Records a per-click lease's new count (and, with `last`, that its click window has passed),
/// with a line in the log when the count moved.
pub(crate) async fn counted(
    db: &mut PgConnection,
    lease: &ClickLease,
    counted: i64,
    last: bool,
) -> Result<()> {
    sqlx::query(
        r"update budget_leases set counted_micros = $2, clicks_final = $3 where lease_id = $1",
    )
    .bind(lease.lease.0)
    .bind(counted)
    .bind(last)
    .execute(&mut *db)
    .await?;
    if counted != lease.counted {
        sqlx::query(
            r"insert into budget_log (campaign_id, lease_id, action, amount_micros, detail)
              values ($1, $2, 'true_up', $3, jsonb_build_object(
                  'was', $4::bigint, 'reported', $5::bigint, 'clicked', $6::bigint, 'final', $7::boolean))",
        )
        .bind(lease.campaign.0)
        .bind(lease.lease.0)
        .bind(counted)
        .bind(lease.counted)
        .bind(lease.reported)
        .bind(lease.clicked)
        .bind(last)
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

/// Open per-click leases whose clicks already came to more than they were granted: (lease,
/// campaign, what the clicks came to).
pub(crate) async fn open_click_leases_over_grant(
    pool: &PgPool,
) -> Result<Vec<(LeaseId, CampaignId, i64)>> {
    let mut conn = pool.acquire().await?;
    let open: Vec<(Uuid, Uuid, i64)> = sqlx::query_as(
        r"select lease_id, campaign_id, granted_micros from budget_leases
           where per_click and state = 'open'",
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<LeaseId> = open.iter().map(|(lease, ..)| LeaseId(*lease)).collect();
    let clicked = delivered(&mut conn, &ids).await?;
    Ok(open
        .into_iter()
        .filter_map(|(lease, campaign, granted)| {
            let clicked = clicked.get(&LeaseId(lease)).copied().unwrap_or(0);
            (clicked > granted).then_some((LeaseId(lease), CampaignId(campaign), clicked))
        })
        .collect())
}

/// A line of the budget controller's log, as the audit trail chains it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub campaign: Uuid,
    pub lease: Option<Uuid>,
    pub action: String,
    pub amount_micros: Option<i64>,
    pub detail: serde_json::Value,
}

/// The log's lines with these numbers.
pub async fn log_entries(db: &mut PgConnection, seqs: &[i64]) -> Result<HashMap<i64, LogEntry>> {
    let rows = sqlx::query(
        r"select seq, at, campaign_id, lease_id, action, amount_micros, detail
            from budget_log where seq = any($1)",
    )
    .bind(seqs)
    .fetch_all(&mut *db)
    .await?;
    rows.iter()
        .map(|r| {
            let seq: i64 = r.try_get("seq")?;
            Ok((
                seq,
                LogEntry {
                    seq,
                    at: r.try_get("at")?,
                    campaign: r.try_get("campaign_id")?,
                    lease: r.try_get("lease_id")?,
                    action: r.try_get("action")?,
                    amount_micros: r.try_get("amount_micros")?,
                    detail: r.try_get("detail")?,
                },
            ))
        })
        .collect()
}

/// Budget leased to servers and not yet settled (asked for, or granted): it may still be spent.
pub async fn leased(conn: &mut PgConnection, campaign: CampaignId) -> Result<Money> {
    let micros: i64 = sqlx::query_scalar(
        r"select coalesce(sum(coalesce(granted_micros, want_micros)), 0)::bigint
            from budget_leases where campaign_id = $1 and state in ('requested', 'open')",
    )
    .bind(campaign.0)
    .fetch_one(conn)
    .await?;
    Ok(Money::from_micros(micros))
}
