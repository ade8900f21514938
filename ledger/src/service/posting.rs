//! Posting transfers, one or a batch, in one transaction per attempt.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Ledger;
use crate::account::Account;
use crate::error::{Error, Result};
use crate::ids::{AccountId, TransferId};
use crate::plan::{BatchMode, Effect, Plan, plan_batch};
use crate::rejection::Rejection;
use crate::retry::{Step, retrying};
use crate::store;
use crate::transfer::{NewTransfer, Transfer};

/// Whether a posting request moved money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostStatus {
    /// Recorded now.
    Created,
    /// Recorded earlier under the same id with the same content; nothing moved this time.
    AlreadyPosted,
}

/// A transfer as recorded, and whether this request recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Posted {
    pub transfer: Transfer,
    pub status: PostStatus,
}

impl Ledger {
    /// Posts one transfer. A retry with the same id and content returns the original
    /// (`AlreadyPosted`); the same id with other content is [`Rejection::IdConflict`].
    ///
    /// The common case takes one statement: the schema checks and applies the transfer exactly as
    /// the core would decide it. Anything else (the id exists, the schema refuses) is decided by
    /// the core after loading what exists, so the caller gets the precise result.
    pub async fn transfer(&self, request: NewTransfer) -> Result<Posted> {
        match store::transfers::insert_one(&self.pool, &request).await {
            Ok(Some((seq, posted_at))) => {
                return Ok(Posted {
                    transfer: Transfer::recorded(&request, seq, posted_at),
                    status: PostStatus::Created,
                });
            }
            Ok(None) | Err(Error::Invariant { .. }) => {}
            Err(e) if e.is_transient() || e.is_data_error() => {}
            Err(e) => return Err(e),
        }
        let one = std::slice::from_ref(&request);
        let mut results = retrying(|| self.post_checked(one, BatchMode::Linked)).await?;
        match results.pop() {
            Some(Ok(posted)) => Ok(posted),
            Some(Err(rejection)) => Err(rejection.into()),
            None => Err(Error::Corrupt("a batch of one gave no result".into())),
        }
    }

    /// Posts a batch in one transaction, returning one result per item in order. `Linked`
    /// batches are all-or-nothing; `Independent` ones apply what they can.
    ///
    /// Whatever the batch size, the work is four round trips: begin, lock and read the accounts
    /// (one query), insert every new row (one `insert ... select from unnest(...)`), commit. When
    /// an id may have been used before, one more query looks them all up at once.
    pub async fn transfer_batch(
        &self,
        items: &[NewTransfer],
        mode: BatchMode,
    ) -> Result<Vec<Result<Posted, Rejection>>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        retrying(|| self.post_once(items, mode)).await
    }

    /// One attempt. The common case first: every id is new, so nothing needs to be looked up;
    /// only when that is not so (a retry, a conflict, a refusal that might really be a retry)
    /// does the attempt look up what exists under the batch's ids and decide again.
    async fn post_once(
        &self,
        items: &[NewTransfer],
        mode: BatchMode,
    ) -> Result<Step<Vec<Result<Posted, Rejection>>>> {
        if let Some(results) = self.post_new(items, mode).await? {
            return Ok(Step::Done(results));
        }
        self.post_checked(items, mode).await
    }

    /// Posts the batch assuming no id was used before; `None` (with nothing written) when that
    /// assumption fails or any item is refused.
    async fn post_new(
        &self,
        items: &[NewTransfer],
        mode: BatchMode,
    ) -> Result<Option<Vec<Result<Posted, Rejection>>>> {
        let mut tx = self.pool.begin().await?;
        let mut accounts = lock_accounts_of(&mut tx, items).await?;
        let plans = plan_batch(&mut accounts, &HashMap::new(), items, mode, Effect::Post);
        if !plans
            .iter()
            .all(|p| matches!(p, Ok(Plan::Apply | Plan::SameAsItem(_))))
        {
            tx.rollback().await?;
            return Ok(None);
        }
        let inserted = match insert_applied(&mut tx, items, &plans).await {
            Ok(Some(inserted)) => inserted,
            // An id was taken after all, by a transfer or by a pending transfer.
            Ok(None) => {
                tx.rollback().await?;
                return Ok(None);
            }
            Err(Error::Invariant { constraint, .. }) if constraint == "transfer_id_taken" => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        tx.commit().await?;
        results(items, plans, &inserted).map(Some)
    }

    /// Posts the batch after looking up what already exists under its ids.
    async fn post_checked(
        &self,
        items: &[NewTransfer],
        mode: BatchMode,
    ) -> Result<Step<Vec<Result<Posted, Rejection>>>> {
        let mut tx = self.pool.begin().await?;
        let mut accounts = lock_accounts_of(&mut tx, items).await?;
        let ids: Vec<TransferId> = items.iter().map(|t| t.id).collect();
        let existing = store::transfers::existing(&mut tx, &ids).await?;
        let plans = plan_batch(&mut accounts, &existing, items, mode, Effect::Post);
        let Some(inserted) = insert_applied(&mut tx, items, &plans).await? else {
            // A concurrent writer recorded one of these ids after we looked: look again.
            tx.rollback().await?;
            return Ok(Step::Again);
        };
        tx.commit().await?;
        results(items, plans, &inserted).map(Step::Done)
    }
}

impl Ledger {
    /// Posts a batch inside the caller's transaction, so money moves in the same commit as the
    /// caller's own writes (a campaign's status beside its budget hold, say). Accounts are
    /// locked in the ledger's one order, exactly as [`Ledger::transfer_batch`] does.
    ///
    /// There are no retries here: when the result is an error for which
    /// [`Error::is_retryable`] holds, the caller rolls back and runs its whole transaction again.
    pub async fn transfer_in(
        &self,
        conn: &mut sqlx::PgConnection,
        items: &[NewTransfer],
        mode: BatchMode,
    ) -> Result<Vec<Result<Posted, Rejection>>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut accounts = lock_accounts_of(conn, items).await?;
        let ids: Vec<TransferId> = items.iter().map(|t| t.id).collect();
        let existing = store::transfers::existing(conn, &ids).await?;
        let plans = plan_batch(&mut accounts, &existing, items, mode, Effect::Post);
        let Some(inserted) = insert_applied(conn, items, &plans).await? else {
            // A concurrent transaction recorded one of these ids after we looked.
            return Err(Error::Contention { attempts: 1 });
        };
        results(items, plans, &inserted)
    }

    /// Opens (or finds) an account inside the caller's transaction; see [`Ledger::open_account`].
    pub async fn open_account_in(
        &self,
        conn: &mut sqlx::PgConnection,
        owner: crate::account::AccountOwner,
        currency: crate::currency::Currency,
    ) -> Result<Account> {
        let account = store::accounts::open(conn, owner, currency).await?;
        if account.currency != currency {
            return Err(Rejection::CurrencyMismatch {
                account: account.id,
                account_currency: account.currency,
                transfer_currency: currency,
            }
            .into());
        }
        Ok(account)
    }
}

type Inserted = HashMap<TransferId, (i64, DateTime<Utc>)>;

/// Locks (in the ledger's one order) and reads every account the items touch.
async fn lock_accounts_of(
    conn: &mut sqlx::PgConnection,
    items: &[NewTransfer],
) -> Result<HashMap<AccountId, Account>> {
    let ids: Vec<AccountId> = items.iter().flat_map(|t| [t.debit, t.credit]).collect();
    store::accounts::lock(conn, &ids).await
}

/// Inserts the items planned as new; `None` when some id turned out to be taken already.
async fn insert_applied(
    conn: &mut sqlx::PgConnection,
    items: &[NewTransfer],
    plans: &[Result<Plan, Rejection>],
) -> Result<Option<Inserted>> {
    let fresh: Vec<&NewTransfer> = items
        .iter()
        .zip(plans)
        .filter(|(_, p)| matches!(p, Ok(Plan::Apply)))
        .map(|(t, _)| t)
        .collect();
    if fresh.is_empty() {
        return Ok(Some(HashMap::new()));
    }
    let inserted = store::transfers::insert(conn, &fresh).await?;
    Ok((inserted.len() == fresh.len()).then_some(inserted))
}

/// One result per item, from the plans and what the insert returned.
fn results(
    items: &[NewTransfer],
    plans: Vec<Result<Plan, Rejection>>,
    inserted: &Inserted,
) -> Result<Vec<Result<Posted, Rejection>>> {
    let mut results: Vec<Result<Posted, Rejection>> = Vec::with_capacity(items.len());
    for (item, plan) in items.iter().zip(plans) {
        let result = match plan {
            Ok(Plan::Apply) => {
                let (seq, posted_at) = inserted.get(&item.id).ok_or_else(|| {
                    Error::Corrupt(format!(
                        "transfer {} was not returned by its insert",
                        item.id
                    ))
                })?;
                Ok(Posted {
                    transfer: Transfer::recorded(item, *seq, *posted_at),
                    status: PostStatus::Created,
                })
            }
            Ok(Plan::AlreadyPosted(transfer)) => Ok(Posted {
                transfer,
                status: PostStatus::AlreadyPosted,
            }),
            Ok(Plan::SameAsItem(earlier)) => match results.get(earlier) {
                Some(Ok(first)) => Ok(Posted {
                    transfer: first.transfer.clone(),
                    status: PostStatus::AlreadyPosted,
                }),
                Some(Err(e)) => Err(e.clone()),
                None => Err(Rejection::IdConflict { id: item.id }),
            },
            Ok(Plan::AlreadyReserved(p)) => Err(Rejection::IdConflict { id: p.id() }),
            Err(rejection) => Err(rejection),
        };
        results.push(result);
    }
    Ok(results)
}
