//! Reading rows back into ledger types. A row that does not fit is `Error::Corrupt`, never a panic.

use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::account::{Account, AccountKind, AccountOwner};
use crate::currency::Currency;
use crate::error::{Error, Result};
use crate::ids::{AccountId, AdvertiserId, CampaignId, LeaseId, TransferId};
use crate::money::{Amount, Money};
use crate::pending::{PendingState, PendingTransfer};
use crate::transfer::{NewTransfer, References, Transfer, TransferKind};

/// Columns [`account`] reads.
pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, kind, currency, advertiser_id, campaign_id, credit_limit, posted, reserved, incoming";

/// Columns [`transfer`] reads.
pub(crate) const TRANSFER_COLUMNS: &str = "id, seq, debit_account_id, credit_account_id, amount, currency, \
     kind, advertiser_id, campaign_id, event_id, lease_id, pending_id, metadata, posted_at";

/// Columns [`pending`] reads.
pub(crate) const PENDING_COLUMNS: &str = "id, debit_account_id, credit_account_id, amount, currency, kind, \
     advertiser_id, campaign_id, event_id, lease_id, metadata, created_at, expires_at, state, \
     posted_amount, resolved_at";

/// Binds a transfer's content as parameters `$1` to `$11`, in the column order of
/// `id, debit_account_id, credit_account_id, amount, currency, kind, advertiser_id, campaign_id,
/// event_id, lease_id, metadata`.
pub(crate) fn bind_transfer<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    t: &'q NewTransfer,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(t.id.0)
        .bind(t.debit.0)
        .bind(t.credit.0)
        .bind(t.amount.as_decimal())
        .bind(t.currency.code())
        .bind(t.kind.as_str())
        .bind(t.references.advertiser.map(|a| a.0))
        .bind(t.references.campaign.map(|c| c.0))
        .bind(t.references.event.as_deref())
        .bind(t.references.lease.map(|l| l.0))
        .bind(&t.metadata)
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Corrupt(what.to_string())
}

fn money(row: &PgRow, column: &str) -> Result<Money> {
    let value: Decimal = row.try_get(column)?;
    Money::try_from(value).map_err(|e| corrupt(format!("{column}: {e}")))
}

fn amount(row: &PgRow, column: &str) -> Result<Amount> {
    let value: Decimal = row.try_get(column)?;
    Amount::try_from(value).map_err(|e| corrupt(format!("{column}: {e}")))
}

fn currency(row: &PgRow) -> Result<Currency> {
    let code: String = row.try_get("currency")?;
    Currency::parse(code.trim()).map_err(corrupt)
}

/// An account row.
pub(crate) fn account(row: &PgRow) -> Result<Account> {
    let kind: String = row.try_get("kind")?;
    let kind: AccountKind = kind.parse().map_err(corrupt)?;
    let advertiser: Option<Uuid> = row.try_get("advertiser_id")?;
    let campaign: Option<Uuid> = row.try_get("campaign_id")?;
    let owner = match (kind, advertiser, campaign) {
        (AccountKind::AdvertiserCash, Some(a), None) => AccountOwner::AdvertiserCash {
            advertiser: AdvertiserId(a),
        },
        (AccountKind::CampaignHold, Some(a), Some(c)) => AccountOwner::CampaignHold {
            advertiser: AdvertiserId(a),
            campaign: CampaignId(c),
        },
        (AccountKind::CampaignSpend, Some(a), Some(c)) => AccountOwner::CampaignSpend {
            advertiser: AdvertiserId(a),
            campaign: CampaignId(c),
        },
        (AccountKind::PlatformRevenue, None, None) => AccountOwner::PlatformRevenue,
        (AccountKind::InvalidTrafficCredits, None, None) => AccountOwner::InvalidTrafficCredits,
        (AccountKind::External, None, None) => AccountOwner::External,
        _ => {
            return Err(corrupt(format!(
                "account owner does not fit its kind {kind}"
            )));
        }
    };
    Ok(Account {
        id: AccountId(row.try_get("id")?),
        owner,
        currency: currency(row)?,
        credit_limit: money(row, "credit_limit")?,
        posted: money(row, "posted")?,
        reserved: money(row, "reserved")?,
        incoming: money(row, "incoming")?,
    })
}

fn references(row: &PgRow) -> Result<References> {
    Ok(References {
        advertiser: row
            .try_get::<Option<Uuid>, _>("advertiser_id")?
            .map(AdvertiserId),
        campaign: row
            .try_get::<Option<Uuid>, _>("campaign_id")?
            .map(CampaignId),
        event: row.try_get("event_id")?,
        lease: row.try_get::<Option<Uuid>, _>("lease_id")?.map(LeaseId),
    })
}

fn transfer_kind(row: &PgRow) -> Result<TransferKind> {
    let kind: String = row.try_get("kind")?;
    kind.parse().map_err(corrupt)
}

/// A transfer row.
pub(crate) fn transfer(row: &PgRow) -> Result<Transfer> {
    Ok(Transfer {
        id: TransferId(row.try_get("id")?),
        seq: row.try_get("seq")?,
        debit: AccountId(row.try_get("debit_account_id")?),
        credit: AccountId(row.try_get("credit_account_id")?),
        amount: amount(row, "amount")?,
        currency: currency(row)?,
        kind: transfer_kind(row)?,
        references: references(row)?,
        metadata: row.try_get("metadata")?,
        pending: row
            .try_get::<Option<Uuid>, _>("pending_id")?
            .map(TransferId),
        posted_at: row.try_get("posted_at")?,
    })
}

/// A pending transfer row.
pub(crate) fn pending(row: &PgRow) -> Result<PendingTransfer> {
    let state: String = row.try_get("state")?;
    let posted_amount: Option<Decimal> = row.try_get("posted_amount")?;
    Ok(PendingTransfer {
        transfer: NewTransfer {
            id: TransferId(row.try_get("id")?),
            debit: AccountId(row.try_get("debit_account_id")?),
            credit: AccountId(row.try_get("credit_account_id")?),
            amount: amount(row, "amount")?,
            currency: currency(row)?,
            kind: transfer_kind(row)?,
            references: references(row)?,
            metadata: row.try_get("metadata")?,
        },
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        state: state.parse::<PendingState>().map_err(corrupt)?,
        posted_amount: posted_amount
            .map(Amount::try_from)
            .transpose()
            .map_err(corrupt)?,
        resolved_at: row.try_get("resolved_at")?,
    })
}
