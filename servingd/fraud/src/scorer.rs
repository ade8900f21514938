//! Fraud level 3 at run time: the recent valid events of the event table judged together (see
//! [`crate::offline`]). For each convicted source: its events are marked invalid with the
//! reason, each of its billed ads is refunded (a refund transfer from the campaign's spend back
//! to the advertiser's cash, its id derived from the ad's event id, so a run repeated refunds
//! nothing twice, and linked to the spend it returns), and the source joins the blocklist.
//! Spend that reaches the ledger after a verdict is refunded by a later run, as long as the ad
//! is still in the window.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use events::EventKind;
use ledger::{
    AccountId, AdvertiserId, Amount, BatchMode, CampaignId, Currency, Ledger, NewTransfer,
    PostStatus, References, TransferId, TransferKind,
};
use rust_decimal::Decimal;
use sqlx::PgPool;

use crate::offline::{Observed, Rules, Source, convict};

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
    /// Refund transfers posted now, and their total in each currency.
    pub refunds: usize,
    pub refunded: BTreeMap<Currency, Decimal>,
}

/// One run over the events of the last `window` before `now`.
pub async fn score_recent(
    db: &PgPool,
    ledger: &Ledger,
    window: Duration,
    rules: &Rules,
    now: DateTime<Utc>,
) -> anyhow::Result<ScoreOutcome> {
    let since = now - chrono::Duration::from_std(window).context("window")?;
    let events: Vec<Observed> = events::reads::valid_events_between(db, since, now)
        .await?
        .into_iter()
        .map(|e| Observed {
            event_id: e.event_id,
            kind: if e.kind == "click" {
                EventKind::Click
            } else {
                EventKind::Impression
            },
            campaign: e.campaign,
            at_ms: e.at.timestamp_millis(),
            ip: e.ip.unwrap_or_default(),
            device: e.device,
            user_agent: e.user_agent,
        })
        .collect();
    let verdicts = convict(&events, rules);
    let mut outcome = ScoreOutcome {
        events: events.len(),
        sources: verdicts.len(),
        ..ScoreOutcome::default()
    };
    for verdict in &verdicts {
        let reason = verdict.reason();
        outcome.invalidated +=
            events::reads::invalidate_events(db, &verdict.events, &reason, since).await?;
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

/// Refunds every billed ad of the window that the scorer judged invalid and that has no refund
/// yet; returns how many refunds it posted and their total in each currency.
async fn refund_invalid(
    db: &PgPool,
    ledger: &Ledger,
    since: DateTime<Utc>,
) -> anyhow::Result<(usize, BTreeMap<Currency, Decimal>)> {
    let reasons: HashMap<String, String> = events::reads::invalid_traffic_since(db, since)
        .await?
        .into_iter()
        .collect();
    let invalid: Vec<String> = reasons.keys().cloned().collect();
    let spends = ledger::reads::unrefunded_spends(db, &invalid).await?;
    let mut seen = HashSet::new();
    let mut refunds = Vec::new();
    for spend in spends {
        let Some(cash) = spend.cash_account else {
            tracing::warn!(event = %spend.event_id, "no cash account to refund into");
            continue;
        };
        if !seen.insert(spend.event_id.clone()) {
            continue;
        }
        let reason = reasons.get(&spend.event_id).cloned().unwrap_or_default();
        let mut refund = NewTransfer::new(
            TransferId::from_key("refund", &spend.event_id),
            AccountId(spend.spend_account),
            AccountId(cash),
            Amount::try_from(spend.amount).context("a spend of no amount")?,
            Currency::parse(spend.currency.trim()).context("currency")?,
            TransferKind::Refund,
        )
        .with_references(References {
            advertiser: spend.advertiser.map(AdvertiserId),
            campaign: spend.campaign.map(CampaignId),
            event: Some(spend.event_id),
            lease: None,
        });
        refund.metadata = serde_json::json!({"reason": reason, "refunds": spend.spend});
        refunds.push(refund);
    }
    let mut posted = 0;
    let mut total: BTreeMap<Currency, Decimal> = BTreeMap::new();
    for chunk in refunds.chunks(1000) {
        let results = ledger.transfer_batch(chunk, BatchMode::Independent).await?;
        for (refund, result) in chunk.iter().zip(results) {
            match result {
                Ok(p) if p.status == PostStatus::Created => {
                    posted += 1;
                    *total.entry(refund.currency).or_default() += refund.amount.as_decimal();
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
