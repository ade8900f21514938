//! [`Ledger`]: the ledger's public operations over a PostgreSQL pool. Each operation is one
//! transaction that loads and locks what it needs, asks the pure core ([`crate::plan`],
//! [`crate::pending`]) what to do, and writes exactly that.

mod posting;
mod two_phase;

use std::sync::Arc;

use sqlx::PgPool;

use crate::account::{Account, AccountOwner};
use crate::clock::{Clock, SystemClock};
use crate::currency::Currency;
use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::money::Money;
use crate::rejection::Rejection;
use crate::statement::{StatementCursor, StatementPage};
use crate::store;

pub use posting::{PostStatus, Posted};
pub use two_phase::{Reservation, Resolution};

/// Most lines one statement page returns.
pub const MAX_STATEMENT_PAGE: u32 = 1000;

/// The double-entry ledger.
#[derive(Clone)]
pub struct Ledger {
    pool: PgPool,
    clock: Arc<dyn Clock>,
}

impl Ledger {
    /// A ledger on `pool` reading the system clock. The schema must be migrated
    /// ([`crate::MIGRATOR`]). A pool built with `test_before_acquire(false)` saves a round trip
    /// per operation; the ledger survives a dead connection either way (the call fails, nothing
    /// is written, and a retry with the same ids is harmless).
    pub fn new(pool: PgPool) -> Self {
        Ledger {
            pool,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same ledger reading `clock` (tests move time with a [`crate::ManualClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The pool, for callers that share it.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Opens the account of `owner` in `currency`, or returns it when it exists already. A campaign
    /// has one hold and one spend account; asking for them in another currency is refused.
    pub async fn open_account(&self, owner: AccountOwner, currency: Currency) -> Result<Account> {
        let mut conn = self.pool.acquire().await?;
        self.open_account_in(&mut conn, owner, currency).await
    }

    /// One account with its current balances.
    pub async fn account(&self, id: AccountId) -> Result<Account> {
        let mut conn = self.pool.acquire().await?;
        store::accounts::get(&mut conn, id)
            .await?
            .ok_or(Error::Rejected(Rejection::AccountNotFound { account: id }))
    }

    /// Sets how far below zero an advertiser's cash may go. Lowering it below what is already
    /// used is refused by the database (`account_floor`).
    pub async fn set_credit_limit(&self, id: AccountId, limit: Money) -> Result<Account> {
        if limit.is_negative() {
            return Err(Error::Invariant {
                constraint: "account_credit_limit_non_negative".into(),
                message: format!("credit limit {limit} is negative"),
            });
        }
        let mut conn = self.pool.acquire().await?;
        store::accounts::set_credit_limit(&mut conn, id, limit)
            .await?
            .ok_or(Error::Rejected(Rejection::AccountNotFound { account: id }))
    }

    /// A page of the account's statement: up to `limit` (1 to [`MAX_STATEMENT_PAGE`]) transfers
    /// after `cursor`, oldest first, each with the running balance.
    pub async fn statement(
        &self,
        id: AccountId,
        cursor: StatementCursor,
        limit: u32,
    ) -> Result<StatementPage> {
        let limit = limit.clamp(1, MAX_STATEMENT_PAGE);
        let mut tx = self.pool.begin().await?;
        // One snapshot for the page and the account, so the lines and the balance agree.
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await?;
        let account = store::accounts::get(&mut tx, id)
            .await?
            .ok_or(Error::Rejected(Rejection::AccountNotFound { account: id }))?;
        let lines = store::statements::page(&mut tx, id, cursor.0, i64::from(limit) + 1).await?;
        tx.commit().await?;
        let mut lines = lines;
        let next = if lines.len() > limit as usize {
            lines.truncate(limit as usize);
            lines.last().map(|l| StatementCursor(l.transfer.seq))
        } else {
            None
        };
        Ok(StatementPage {
            account,
            lines,
            next,
        })
    }
}
