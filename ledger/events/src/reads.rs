//! What other crates read from the event tables, as named queries, and the one write another
//! crate makes here (the fraud scorer marking events invalid): delivery and over-delivery by hour
//! or day for reports, what each lease's refused events came to for the budget controller, and the
//! served events the fraud scorer judges. Each runs one statement on the executor the caller
//! passes, and decides nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ledger::reads::{ReportSpan, by_bucket};
use ledger::{CampaignId, Error, LeaseId, Result};
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgExecutor, PgPool, Row};
use uuid::Uuid;

/// Valid impressions and clicks of the campaign per bucket.
pub async fn delivery_by_bucket<'e>(
    db: impl PgExecutor<'e>,
    campaign: CampaignId,
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

/// What the campaign served beyond its hold (never billed) per bucket, by when it was served.
pub async fn over_delivery_by_bucket<'e>(
    db: impl PgExecutor<'e>,
    campaign: CampaignId,
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

/// The events served at or after `since` that were judged invalid traffic, each once, with why
/// (`invalid_traffic:…`).
pub async fn invalid_traffic_since(
    db: &PgPool,
    since: DateTime<Utc>,
) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        r"select distinct on (event_id) event_id, invalid_reason from ad_events
           where at >= $1 and not valid and invalid_reason like 'invalid_traffic:%'",
    )
    .bind(since)
    .fetch_all(db)
    .await?)
}

/// What the ledger writer recorded as unbilled for each of these leases (refused beyond the
/// campaign's hold), micros; a lease with none is absent.
pub async fn unbilled_by_lease(
    db: &mut PgConnection,
    leases: &[LeaseId],
) -> Result<HashMap<LeaseId, i64>> {
    let ids: Vec<Uuid> = leases.iter().map(|l| l.0).collect();
    let rows = sqlx::query(
        r"select lease_id, sum(amount) as unbilled from unbilled_events
           where lease_id = any($1)
           group by lease_id",
    )
    .bind(&ids)
    .fetch_all(&mut *db)
    .await?;
    by_lease(&rows)
}

/// What the ledger writer recorded as unbilled for each lease of the campaign, micros.
pub async fn unbilled_by_campaign_lease(
    db: &mut PgConnection,
    campaign: CampaignId,
) -> Result<HashMap<LeaseId, i64>> {
    let rows = sqlx::query(
        r"select lease_id, sum(amount) as unbilled from unbilled_events
           where campaign_id = $1 and lease_id is not null
           group by lease_id",
    )
    .bind(campaign.0)
    .fetch_all(&mut *db)
    .await?;
    by_lease(&rows)
}

fn by_lease(rows: &[sqlx::postgres::PgRow]) -> Result<HashMap<LeaseId, i64>> {
    rows.iter()
        .map(|r| {
            let unbilled: Decimal = r.try_get("unbilled")?;
            let micros = ledger::Money::try_from(unbilled)
                .ok()
                .and_then(ledger::Money::to_micros)
                .ok_or_else(|| Error::Corrupt(format!("unbilled {unbilled} in micros")))?;
            Ok((LeaseId(r.try_get("lease_id")?), micros))
        })
        .collect()
}

/// Rows of `event_dead_letters`: stream entries that were not events, waiting for a person.
pub async fn dead_letter_rows(db: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from event_dead_letters")
        .fetch_one(db)
        .await
}

/// How many events served at or after `since` were judged invalid (refused by the tracking
/// endpoint's checks, or convicted by the scorer afterwards).
pub async fn invalid_since(db: &PgPool, since: DateTime<Utc>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select count(*) from ad_events where at >= $1 and not valid and not test",
    )
    .bind(since)
    .fetch_one(db)
    .await?)
}

/// Valid impressions and clicks of each `(campaign, since)` served since, in one statement
/// (`(campaign, impressions, clicks)`; a campaign with none is absent).
pub async fn delivery_since<'e>(
    db: impl PgExecutor<'e>,
    campaigns: &[(CampaignId, DateTime<Utc>)],
) -> Result<Vec<(Uuid, i64, i64)>> {
    let ids: Vec<Uuid> = campaigns.iter().map(|(c, _)| c.0).collect();
    let since: Vec<DateTime<Utc>> = campaigns.iter().map(|(_, s)| *s).collect();
    Ok(sqlx::query_as(
        r"select c.id, count(*) filter (where e.kind = 'impression'),
                 count(*) filter (where e.kind = 'click')
            from unnest($1::uuid[], $2::timestamptz[]) as c(id, since)
            join ad_events e on e.campaign_id = c.id and e.valid and e.at >= c.since
           group by c.id",
    )
    .bind(ids)
    .bind(since)
    .fetch_all(db)
    .await?)
}
