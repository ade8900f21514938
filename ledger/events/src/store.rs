//! `ad_events`, `unbilled_events` and `event_dead_letters`: what the ledger writer records
//! beside the ledger's transfers.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{EventKind, ServedEvent};
use ledger::currency::Currency;
use ledger::error::Result;
use ledger::ids::{CampaignId, LeaseId};

/// An ad the ledger refused to bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unbilled {
    pub event: String,
    pub campaign: CampaignId,
    pub lease: LeaseId,
    pub amount: Decimal,
    pub currency: Option<Currency>,
    pub reason: &'static str,
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// Which of `events` are recorded as unbilled.
pub(crate) async fn unbilled_among(pool: &PgPool, events: &[&str]) -> Result<HashSet<String>> {
    if events.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<&str> = events.to_vec();
    let rows: Vec<String> =
        sqlx::query_scalar("select event_id from unbilled_events where event_id = any($1)")
            .bind(&ids)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Records refused ads (each once; a repeat changes nothing).
pub(crate) async fn record_unbilled(pool: &PgPool, rows: &[Unbilled]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
    let campaigns: Vec<Uuid> = rows.iter().map(|r| r.campaign.0).collect();
    let leases: Vec<Uuid> = rows.iter().map(|r| r.lease.0).collect();
    let amounts: Vec<Decimal> = rows.iter().map(|r| r.amount).collect();
    let currencies: Vec<Option<String>> = rows
        .iter()
        .map(|r| r.currency.map(|c| c.code().to_owned()))
        .collect();
    let reasons: Vec<&str> = rows.iter().map(|r| r.reason).collect();
    let details: Vec<&str> = rows.iter().map(|r| r.detail.as_str()).collect();
    let ats: Vec<DateTime<Utc>> = rows.iter().map(|r| r.at).collect();
    sqlx::query(
        r"insert into unbilled_events
              (event_id, campaign_id, lease_id, amount, currency, reason, detail, event_at)
          select * from unnest($1::text[], $2::uuid[], $3::uuid[], $4::numeric[], $5::text[],
                               $6::text[], $7::text[], $8::timestamptz[])
          on conflict (event_id) do nothing",
    )
    .bind(&events)
    .bind(&campaigns)
    .bind(&leases)
    .bind(&amounts)
    .bind(&currencies)
    .bind(&reasons)
    .bind(&details)
    .bind(&ats)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records served events for reports, valid or not (each once; a repeat changes nothing).
pub(crate) async fn record_events(pool: &PgPool, events: &[ServedEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let campaigns: Vec<Uuid> = events.iter().map(|e| e.campaign.0).collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e.kind {
            EventKind::Impression => "impression",
            EventKind::Click => "click",
        })
        .collect();
    let ats: Vec<DateTime<Utc>> = events
        .iter()
        .map(|e| DateTime::from_timestamp_millis(e.at_ms).unwrap_or(DateTime::<Utc>::UNIX_EPOCH))
        .collect();
    // a test request's events are no delivery: recorded, marked, never valid
    let valid: Vec<bool> = events
        .iter()
        .map(|e| e.invalid.is_none() && !e.test)
        .collect();
    let ips: Vec<Option<&str>> = events
        .iter()
        .map(|e| Some(e.ip.as_str()).filter(|ip| !ip.is_empty()))
        .collect();
    let devices: Vec<Option<&str>> = events.iter().map(|e| e.device.as_deref()).collect();
    let agents: Vec<Option<&str>> = events.iter().map(|e| e.user_agent.as_deref()).collect();
    let reasons: Vec<Option<&str>> = events
        .iter()
        .map(|e| match (&e.invalid, e.test) {
            (Some(why), _) => Some(why.as_str()),
            (None, true) => Some("test_request"),
            (None, false) => None,
        })
        .collect();
    let partners: Vec<Option<Uuid>> = events.iter().map(|e| e.partner).collect();
    let tests: Vec<bool> = events.iter().map(|e| e.test).collect();
    sqlx::query(
        r"insert into ad_events
              (event_id, campaign_id, kind, at, valid, ip, device, user_agent, invalid_reason,
               partner_id, test)
          select * from unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::bool[],
                               $6::text[], $7::text[], $8::text[], $9::text[], $10::uuid[],
                               $11::bool[])
          on conflict do nothing",
    )
    .bind(&ids)
    .bind(&campaigns)
    .bind(&kinds)
    .bind(&ats)
    .bind(&valid)
    .bind(&ips)
    .bind(&devices)
    .bind(&agents)
    .bind(&reasons)
    .bind(&partners)
    .bind(&tests)
    .execute(pool)
    .await?;
    Ok(())
}

/// Keeps a stream entry that is not an event.
pub(crate) async fn record_dead_letter(
    pool: &PgPool,
    stream: &str,
    entry: &str,
    fields: &serde_json::Value,
    error: &str,
) -> Result<()> {
    sqlx::query(
        r"insert into event_dead_letters (stream, entry_id, fields, error)
          values ($1, $2, $3, $4) on conflict do nothing",
    )
    .bind(stream)
    .bind(entry)
    .bind(fields)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}
