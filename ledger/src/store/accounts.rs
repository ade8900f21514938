//! `ledger_accounts`.

use std::collections::HashMap;

use rust_decimal::Decimal;
use sqlx::PgConnection;

use crate::account::{Account, AccountOwner};
use crate::currency::Currency;
use crate::error::Result;
use crate::ids::AccountId;
use crate::money::Money;
use crate::store::rows;

/// Creates the account of `owner` in `currency` unless it exists; either way returns it.
pub(crate) async fn open(
    conn: &mut PgConnection,
    owner: AccountOwner,
    currency: Currency,
) -> Result<Account> {
    let kind = owner.kind().as_str();
    let advertiser = owner.advertiser().map(|a| a.0);
    let campaign = owner.campaign().map(|c| c.0);
    sqlx::query(
        r"insert into ledger_accounts (kind, currency, advertiser_id, campaign_id)
          values ($1, $2, $3, $4)
          on conflict do nothing",
    )
    .bind(kind)
    .bind(currency.code())
    .bind(advertiser)
    .bind(campaign)
    .execute(&mut *conn)
    .await?;
    let sql = format!(
        r"select {} from ledger_accounts
           where kind = $1
             and advertiser_id is not distinct from $2
             and (campaign_id is not distinct from $3)
             and (campaign_id is not null or currency = $4)",
        rows::ACCOUNT_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(kind)
        .bind(advertiser)
        .bind(campaign)
        .bind(currency.code())
        .fetch_one(&mut *conn)
        .await?;
    rows::account(&row)
}

/// One account, unlocked.
pub(crate) async fn get(conn: &mut PgConnection, id: AccountId) -> Result<Option<Account>> {
    let sql = format!(
        "select {} from ledger_accounts where id = $1",
        rows::ACCOUNT_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::account).transpose()
}

/// Locks the accounts with these ids, in id order (the one lock order of the whole ledger, so
/// writers never deadlock), and returns those that exist.
pub(crate) async fn lock(
    conn: &mut PgConnection,
    ids: &[AccountId],
) -> Result<HashMap<AccountId, Account>> {
    let mut ids: Vec<i64> = ids.iter().map(|a| a.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let sql = format!(
        "select {} from ledger_accounts where id = any($1) order by id for no key update",
        rows::ACCOUNT_COLUMNS
    );
    let found = sqlx::query(&sql).bind(&ids).fetch_all(&mut *conn).await?;
    found
        .iter()
        .map(|row| rows::account(row).map(|a| (a.id, a)))
        .collect()
}

/// Sets an advertiser cash account's credit limit (the floor check constraint re-checks it).
pub(crate) async fn set_credit_limit(
    conn: &mut PgConnection,
    id: AccountId,
    limit: Money,
) -> Result<Option<Account>> {
    let sql = format!(
        "update ledger_accounts set credit_limit = $2 where id = $1 returning {}",
        rows::ACCOUNT_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(id.0)
        .bind(Decimal::from(limit))
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::account).transpose()
}
