//! Account statements: history with a running balance, a page at a time.

use rust_decimal::Decimal;
use sqlx::{PgConnection, Row};

use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::money::Money;
use crate::statement::StatementLine;
use crate::store::rows;

/// Up to `limit` transfers of `account` after sequence number `after`, oldest first, each with the
/// change it made and the account's posted balance right after it.
pub(crate) async fn page(
    conn: &mut PgConnection,
    account: AccountId,
    after: i64,
    limit: i64,
) -> Result<Vec<StatementLine>> {
    let sql = format!(
        r"with page as (
              select {columns},
                     case when credit_account_id = $1 then amount else -amount end as change
                from ledger_transfers
               where (debit_account_id = $1 or credit_account_id = $1) and seq > $2
               order by seq
               limit $3),
          opening as (
              select coalesce(sum(case when credit_account_id = $1 then amount else -amount end), 0) as balance
                from ledger_transfers
               where (debit_account_id = $1 or credit_account_id = $1) and seq <= $2)
          select page.*,
                 opening.balance + sum(page.change) over (order by page.seq rows unbounded preceding)
                     as balance_after
            from page, opening
           order by page.seq",
        columns = rows::TRANSFER_COLUMNS
    );
    let found = sqlx::query(&sql)
        .bind(account.0)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    found
        .iter()
        .map(|row| {
            let change: Decimal = row.try_get("change")?;
            let balance: Decimal = row.try_get("balance_after")?;
            Ok(StatementLine {
                transfer: rows::transfer(row)?,
                change: Money::try_from(change).map_err(|e| Error::Corrupt(e.to_string()))?,
                balance: Money::try_from(balance).map_err(|e| Error::Corrupt(e.to_string()))?,
            })
        })
        .collect()
}
