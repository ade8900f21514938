//! `ledger_transfers`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::error::Result;
use crate::ids::TransferId;
use crate::plan::Existing;
use crate::store::rows;
use crate::transfer::{NewTransfer, Transfer};

/// Whatever is recorded under these ids, as transfers or pending transfers.
pub(crate) async fn existing(
    conn: &mut PgConnection,
    ids: &[TransferId],
) -> Result<HashMap<TransferId, Existing>> {
    let ids: Vec<Uuid> = ids.iter().map(|t| t.0).collect();
    let mut found = HashMap::new();
    let sql = format!(
        "select {} from ledger_transfers where id = any($1)",
        rows::TRANSFER_COLUMNS
    );
    for row in sqlx::query(&sql).bind(&ids).fetch_all(&mut *conn).await? {
        let t = rows::transfer(&row)?;
        found.insert(t.id, Existing::Transfer(t));
    }
    // A posted pending transfer shares its id with the transfer it became; it is found as the
    // pending transfer, so retrying the reservation gets it back and a plain transfer reusing the
    // id is in conflict with it.
    let sql = format!(
        "select {} from ledger_pending_transfers where id = any($1)",
        rows::PENDING_COLUMNS
    );
    for row in sqlx::query(&sql).bind(&ids).fetch_all(&mut *conn).await? {
        let p = rows::pending(&row)?;
        found.insert(p.id(), Existing::Pending(p));
    }
    Ok(found)
}

/// One transfer.
pub(crate) async fn get(conn: &mut PgConnection, id: TransferId) -> Result<Option<Transfer>> {
    let sql = format!(
        "select {} from ledger_transfers where id = $1",
        rows::TRANSFER_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::transfer).transpose()
}

/// Inserts transfers in one statement (arrays unnested server-side). Rows whose id is already
/// taken (a concurrent writer got there first) are skipped; the caller sees them missing from the
/// returned map, keyed by id, of sequence number and posting time.
pub(crate) async fn insert(
    conn: &mut PgConnection,
    items: &[&NewTransfer],
) -> Result<HashMap<TransferId, (i64, DateTime<Utc>)>> {
    let n = items.len();
    let mut ids = Vec::with_capacity(n);
    let mut debits = Vec::with_capacity(n);
    let mut credits = Vec::with_capacity(n);
    let mut amounts: Vec<Decimal> = Vec::with_capacity(n);
    let mut currencies = Vec::with_capacity(n);
    let mut kinds = Vec::with_capacity(n);
    let mut advertisers: Vec<Option<Uuid>> = Vec::with_capacity(n);
    let mut campaigns: Vec<Option<Uuid>> = Vec::with_capacity(n);
    let mut events: Vec<Option<String>> = Vec::with_capacity(n);
    let mut leases: Vec<Option<Uuid>> = Vec::with_capacity(n);
    let mut metadata = Vec::with_capacity(n);
    for t in items {
        ids.push(t.id.0);
        debits.push(t.debit.0);
        credits.push(t.credit.0);
        amounts.push(t.amount.as_decimal());
        currencies.push(t.currency.code().to_owned());
        kinds.push(t.kind.as_str());
        advertisers.push(t.references.advertiser.map(|a| a.0));
        campaigns.push(t.references.campaign.map(|c| c.0));
        events.push(t.references.event.clone());
        leases.push(t.references.lease.map(|l| l.0));
        metadata.push(t.metadata.clone());
    }
    let rows = sqlx::query(
        r"insert into ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, kind,
                                        advertiser_id, campaign_id, event_id, lease_id, metadata)
          select * from unnest($1::uuid[], $2::int8[], $3::int8[], $4::numeric[], $5::text[], $6::text[],
                               $7::uuid[], $8::uuid[], $9::text[], $10::uuid[], $11::jsonb[])
          on conflict (id) do nothing
          returning id, seq, posted_at",
    )
    .bind(&ids)
    .bind(&debits)
    .bind(&credits)
    .bind(&amounts)
    .bind(&currencies)
    .bind(&kinds)
    .bind(&advertisers)
    .bind(&campaigns)
    .bind(&events)
    .bind(&leases)
    .bind(&metadata)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                TransferId(r.try_get("id")?),
                (r.try_get("seq")?, r.try_get("posted_at")?),
            ))
        })
        .collect()
}

/// Posts one transfer in a single statement and its own transaction: lock both accounts (in id
/// order), insert, and let the schema check and apply it. `Ok(None)` when the id is taken; a
/// database error when the schema refuses it. Used as the fast path of a single transfer, whose
/// outcome the schema decides exactly as the core would; the caller falls back to deciding itself
/// whenever this does not simply succeed.
pub(crate) async fn insert_one(
    pool: &sqlx::PgPool,
    t: &NewTransfer,
) -> Result<Option<(i64, DateTime<Utc>)>> {
    let query = sqlx::query(
        r"with locked as (
              select id from ledger_accounts where id in ($2, $3) order by id for no key update)
          insert into ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, kind,
                                        advertiser_id, campaign_id, event_id, lease_id, metadata)
          select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
           where (select count(*) from locked) >= 0
          on conflict (id) do nothing
          returning seq, posted_at",
    );
    let row = rows::bind_transfer(query, t).fetch_optional(pool).await?;
    row.map(|r| Ok((r.try_get("seq")?, r.try_get("posted_at")?)))
        .transpose()
}
