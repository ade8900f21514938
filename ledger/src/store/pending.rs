//! `ledger_pending_transfers`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::error::Result;
use crate::ids::TransferId;
use crate::money::Amount;
use crate::pending::{PendingState, PendingTransfer};
use crate::store::rows;
use crate::transfer::NewTransfer;

/// Records a reservation; the insert trigger reserves the amount on both accounts.
pub(crate) async fn insert(
    conn: &mut PgConnection,
    t: &NewTransfer,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Option<PendingTransfer>> {
    let sql = format!(
        r"insert into ledger_pending_transfers (id, debit_account_id, credit_account_id, amount, currency,
                 kind, advertiser_id, campaign_id, event_id, lease_id, metadata, created_at, expires_at)
          values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
          on conflict (id) do nothing
          returning {}",
        rows::PENDING_COLUMNS
    );
    let row = rows::bind_transfer(sqlx::query(&sql), t)
        .bind(created_at)
        .bind(expires_at)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::pending).transpose()
}

/// One pending transfer; `for_update` locks it.
pub(crate) async fn get(
    conn: &mut PgConnection,
    id: TransferId,
    for_update: bool,
) -> Result<Option<PendingTransfer>> {
    let lock = if for_update { " for update" } else { "" };
    let sql = format!(
        "select {} from ledger_pending_transfers where id = $1{lock}",
        rows::PENDING_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::pending).transpose()
}

/// Resolves a pending transfer still pending; the update trigger releases the reservation and,
/// for `Posted`, records the transfer. `None` when it was no longer pending.
pub(crate) async fn resolve(
    conn: &mut PgConnection,
    id: TransferId,
    state: PendingState,
    posted_amount: Option<Amount>,
    at: DateTime<Utc>,
) -> Result<Option<PendingTransfer>> {
    let sql = format!(
        r"update ledger_pending_transfers
             set state = $2, posted_amount = $3, resolved_at = $4
           where id = $1 and state = 'pending'
          returning {}",
        rows::PENDING_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(id.0)
        .bind(state.as_str())
        .bind(posted_amount.map(Decimal::from))
        .bind(at)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::pending).transpose()
}

/// Ids of pending transfers whose deadline is at or before `now`, oldest deadline first.
pub(crate) async fn due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<TransferId>> {
    let rows = sqlx::query(
        r"select id from ledger_pending_transfers
           where state = 'pending' and expires_at <= $1
           order by expires_at limit $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok(TransferId(r.try_get::<Uuid, _>("id")?)))
        .collect()
}
