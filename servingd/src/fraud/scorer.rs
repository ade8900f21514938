//! Fraud level 3 at run time: the recent valid events of the event table judged together (see
//! [`crate::fraud::offline`]). For each convicted source: its events are marked invalid with the
//! reason, each of its billed ads is refunded (a refund transfer from the campaign's spend back
//! to the advertiser's cash, its id derived from the ad's event id, so a run repeated refunds
//! nothing twice, and linked to the spend it returns), and the source joins the blocklist.
//! Spend that reaches the ledger after a verdict is refunded by a later run, as long as the ad
//! is still in the window.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use ledger::events::EventKind;
use ledger::{
    AccountId, AdvertiserId, Amount, BatchMode, CampaignId, Currency, Ledger, NewTransfer,
    PostStatus, References, TransferId, TransferKind,
};
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use crate::fraud::offline::{Observed, Rules, Source, convict};

/// Who the blocklist says added the scorer's convictions.
pub const SCORER: &str = "fraud-scorer";

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreOutcome {
    /// Events judged.
    pub events: usize,
    /// Sources convicted.
    pub sources: usize,
    /// Events newly marked invalid.
    pub invalidated: u64,
    /// Refund transfers posted now, and their total.
    pub refunds: usize,
    pub refunded: Decimal,
}

type EventRow = (
    String,
    String,
    Uuid,
    DateTime<Utc>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// One run over the events of the last `window` before `now`.
pub async fn score_recent(
    db: &PgPool,
    ledger: &Ledger,
    window: Duration,
    rules: &Rules,
    now: DateTime<Utc>,
) -> anyhow::Result<ScoreOutcome> {
    let since = now - chrono::Duration::from_std(window).context("window")?;
    let rows: Vec<EventRow> = sqlx::query_as(
        r"select event_id, kind, campaign_id, at, ip, device, user_agent
            from ad_events where at >= $1 and at <= $2 and valid",
    )
    .bind(since)
    .bind(now)
    .fetch_all(db)
    .await?;
    let events: Vec<Observed> = rows
        .into_iter()
        .map(
            |(event_id, kind, campaign, at, ip, device, user_agent)| Observed {
                event_id,
                kind: if kind == "click" {
                    EventKind::Click
                } else {
                    EventKind::Impression
                },
                campaign,
                at_ms: at.timestamp_millis(),
                ip: ip.unwrap_or_default(),
                device,
                user_agent,
            },
        )
        .collect();
    let verdicts = convict(&events, rules);
    let mut outcome = ScoreOutcome {
        events: events.len(),
        sources: verdicts.len(),
        ..ScoreOutcome::default()
    };
    for verdict in &verdicts {
        let reason = verdict.reason();
        let marked = sqlx::query(
            r"update ad_events set valid = false, invalid_reason = $2
               where event_id = any($1) and valid and at >= $3",
        )
        .bind(&verdict.events)
        .bind(&reason)
        .bind(since)
        .execute(db)
        .await?;
        outcome.invalidated += marked.rows_affected();
        let (kind, value) = match &verdict.source {
            Source::Ip(ip) => ("ip", ip.as_str()),
            Source::Device(d) => ("device", d.as_str()),
        };
        sqlx::query(
            r"insert into blocked_sources (kind, value, reason, added_by)
              values ($1, $2, $3, $4) on conflict do nothing",
        )
        .bind(kind)
        .bind(value)
        .bind(&reason)
        .bind(SCORER)
        .execute(db)
        .await?;
    }
    let (refunds, refunded) = refund_invalid(db, ledger, since).await?;
    outcome.refunds = refunds;
    outcome.refunded = refunded;
    Ok(outcome)
}

type SpendRow = (
    Uuid,
    String,
    Decimal,
    String,
    Option<Uuid>,
    Option<Uuid>,
    i64,
    Option<i64>,
    String,
);

/// Refunds every billed ad of the window that the scorer judged invalid and that has no refund
/// yet; returns how many refunds it posted and their total.
async fn refund_invalid(
    db: &PgPool,
    ledger: &Ledger,
    since: DateTime<Utc>,
) -> anyhow::Result<(usize, Decimal)> {
    let rows: Vec<SpendRow> = sqlx::query_as(
        r"select t.id, t.event_id, t.amount, t.currency, t.campaign_id, t.advertiser_id,
                 t.credit_account_id, cash.id, e.invalid_reason
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
    .await?;
    let mut seen = HashSet::new();
    let mut refunds = Vec::new();
    for (spend, event, amount, currency, campaign, advertiser, spend_account, cash, reason) in rows
    {
        let Some(cash) = cash else {
            tracing::warn!(%event, "no cash account to refund into");
            continue;
        };
        if !seen.insert(event.clone()) {
            continue;
        }
        let mut refund = NewTransfer::new(
            TransferId::from_key("refund", &event),
            AccountId(spend_account),
            AccountId(cash),
            Amount::try_from(amount).context("a spend of no amount")?,
            Currency::parse(currency.trim()).context("currency")?,
            TransferKind::Refund,
        )
        .with_references(References {
            advertiser: advertiser.map(AdvertiserId),
            campaign: campaign.map(CampaignId),
            event: Some(event),
            lease: None,
        });
        refund.metadata = serde_json::json!({"reason": reason, "refunds": spend});
        refunds.push(refund);
    }
    let mut posted = 0;
    let mut total = Decimal::ZERO;
    for chunk in refunds.chunks(1000) {
        let results = ledger.transfer_batch(chunk, BatchMode::Independent).await?;
        for (refund, result) in chunk.iter().zip(results) {
            match result {
                Ok(p) if p.status == PostStatus::Created => {
                    posted += 1;
                    total += refund.amount.as_decimal();
                }
                Ok(_) => {}
                Err(rejection) => {
                    tracing::warn!(id = %refund.id, %rejection, "a refund was refused")
                }
            }
        }
    }
    Ok((posted, total))
}
