//! Moving a campaign's budget between the advertiser's cash and the campaign's hold, inside the
//! transaction that changes the campaign, so the status and the money never disagree.

use chrono::{DateTime, TimeZone, Utc};
use ledger::{
    AccountOwner, Amount, BatchMode, CampaignId, Ledger, NewTransfer, References, Rejection,
    TransferId, TransferKind,
};
use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::holds::{HoldChange, Spent, hold_change, target_hold};
use super::model::StoredCampaign;
use super::store::local_day;
use crate::error::ApiError;

/// What a hold sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    pub change: HoldChange,
    /// What the campaign has spent (for the exhausted check).
    pub spent: Spent,
}

/// The campaign's time zone (validated when the campaign was written). One that no longer
/// parses (a zone the time zone database dropped) is an error, never UTC in its place: the
/// campaign's days would start at the wrong hour.
pub fn time_zone(stored: &StoredCampaign) -> Result<chrono_tz::Tz, ApiError> {
    crate::error::stored_time_zone(&stored.campaign.spec.schedule.time_zone)
}

/// Start of the local day containing `now`, in UTC.
fn day_start(now: DateTime<Utc>, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let midnight = local_day(now, tz).and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight)
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// What the campaign has spent in all and today, from the ledger.
async fn spent(
    conn: &mut PgConnection,
    campaign: CampaignId,
    since: DateTime<Utc>,
) -> Result<Spent, ledger::Error> {
    let spend = ledger::reads::campaign_spend(conn, campaign, since).await?;
    Ok(Spent {
        total: spend.total,
        today: spend.since,
    })
}

/// Budget leased to servers and not yet settled: it may still be spent, so it stays held.
async fn leased(conn: &mut PgConnection, campaign: CampaignId) -> Result<Decimal, ledger::Error> {
    Ok(budget::leased(conn, campaign).await?.as_decimal())
}

/// Brings the campaign's hold to what its status and budgets call for, at `now`. Updates the
/// campaign's hold bookkeeping (the caller saves it). Not enough cash is a 409 stating the
/// shortfall, and nothing is written.
pub async fn sync_hold(
    ledger: &Ledger,
    conn: &mut PgConnection,
    stored: &mut StoredCampaign,
    now: DateTime<Utc>,
) -> Result<Synced, ApiError> {
    let campaign = &stored.campaign;
    let tz = time_zone(stored)?;
    let currency = campaign.currency;
    let advertiser = campaign.advertiser_id;
    let id = campaign.id;
    let cash = ledger
        .open_account_in(conn, AccountOwner::AdvertiserCash { advertiser }, currency)
        .await?;
    let hold = ledger
        .open_account_in(
            conn,
            AccountOwner::CampaignHold {
                advertiser,
                campaign: id,
            },
            currency,
        )
        .await?;
    let spent = spent(conn, id, day_start(now, tz)).await?;
    let target = target_hold(&campaign.spec.budget, campaign.status, spent);
    let held = hold.posted.as_decimal() - hold.reserved.as_decimal();
    let change = hold_change(target, held, leased(conn, id).await?);
    let (kind, debit, credit, amount) = match change {
        HoldChange::Hold(a) => (TransferKind::Hold, cash.id, hold.id, a),
        HoldChange::Release(a) => (TransferKind::Release, hold.id, cash.id, a),
        HoldChange::None => {
            if campaign.spec.budget.daily.is_some()
                && campaign.status == domain::campaign_status::Status::Active
            {
                stored.held_day = Some(local_day(now, tz));
            }
            return Ok(Synced { change, spent });
        }
    };
    let amount = Amount::try_from(amount)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("hold amount {amount}: {e}")))?;
    let key = format!("{}:{}", campaign.id, stored.hold_seq);
    let mut transfer = NewTransfer::new(
        TransferId::from_key("campaign-hold", &key),
        debit,
        credit,
        amount,
        currency,
        kind,
    );
    transfer.references = References {
        advertiser: Some(advertiser),
        campaign: Some(id),
        ..References::default()
    };
    let result = ledger
        .transfer_in(conn, std::slice::from_ref(&transfer), BatchMode::Linked)
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no result for a hold")))?;
    match result {
        Ok(_) => {}
        Err(Rejection::InsufficientFunds {
            available, amount, ..
        }) => {
            let shortfall = amount.as_decimal() - available.as_decimal();
            return Err(ApiError::InsufficientFunds {
                detail: format!(
                    "the advertiser has {available} {currency} available; the campaign needs {amount} held"
                ),
                shortfall: shortfall.to_string(),
            });
        }
        Err(other) => return Err(ApiError::Conflict(other.to_string())),
    }
    stored.hold_seq += 1;
    mark_held_day(stored, now, tz);
    Ok(Synced { change, spent })
}

/// Records that an active daily-budget campaign holds today's budget.
fn mark_held_day(stored: &mut StoredCampaign, now: DateTime<Utc>, tz: chrono_tz::Tz) {
    let c = &stored.campaign;
    if c.spec.budget.daily.is_some() && c.status == domain::campaign_status::Status::Active {
        stored.held_day = Some(local_day(now, tz));
    }
}
