//! Posting transfers, one or a batch, in one transaction per attempt.

use serde::{Deserialize, Serialize};

use super::Ledger;
use crate::error::{Error, Result};
use crate::ids::TransferId;
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
    pub async fn transfer(&self, request: NewTransfer) -> Result<Posted> {
        let mut results = self
            .transfer_batch(std::slice::from_ref(&request), BatchMode::Linked)
            .await?;
        match results.pop() {
            Some(Ok(posted)) => Ok(posted),
            Some(Err(rejection)) => Err(rejection.into()),
            None => Err(Error::Corrupt("a batch of one gave no result".into())),
        }
    }

    /// Posts a batch in one transaction with a constant number of round trips (lock and load,
    /// one insert of every row, commit), returning one result per item in order. `Linked`
    /// batches are all-or-nothing; `Independent` ones apply what they can.
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

    async fn post_once(
        &self,
        items: &[NewTransfer],
        mode: BatchMode,
    ) -> Result<Step<Vec<Result<Posted, Rejection>>>> {
        let mut tx = self.pool.begin().await?;
        let account_ids: Vec<_> = items.iter().flat_map(|t| [t.debit, t.credit]).collect();
        let mut accounts = store::accounts::lock(&mut tx, &account_ids).await?;
        let ids: Vec<TransferId> = items.iter().map(|t| t.id).collect();
        let existing = store::transfers::existing(&mut tx, &ids).await?;
        let plans = plan_batch(&mut accounts, &existing, items, mode, Effect::Post);

        let fresh: Vec<&NewTransfer> = items
            .iter()
            .zip(&plans)
            .filter(|(_, p)| matches!(p, Ok(Plan::Apply)))
            .map(|(t, _)| t)
            .collect();
        let inserted = if fresh.is_empty() {
            Default::default()
        } else {
            store::transfers::insert(&mut tx, &fresh).await?
        };
        if inserted.len() != fresh.len() {
            // A concurrent writer recorded one of these ids after we looked: look again.
            tx.rollback().await?;
            return Ok(Step::Again);
        }
        tx.commit().await?;

        let mut results: Vec<Result<Posted, Rejection>> = Vec::with_capacity(items.len());
        for (item, plan) in items.iter().zip(plans) {
            let result = match plan {
                Ok(Plan::Apply) => {
                    let (seq, posted_at) = inserted[&item.id];
                    Ok(Posted {
                        transfer: recorded(item, seq, posted_at),
                        status: PostStatus::Created,
                    })
                }
                Ok(Plan::AlreadyPosted(transfer)) => Ok(Posted {
                    transfer,
                    status: PostStatus::AlreadyPosted,
                }),
                Ok(Plan::SameAsItem(earlier)) => match &results[earlier] {
                    Ok(first) => Ok(Posted {
                        transfer: first.transfer.clone(),
                        status: PostStatus::AlreadyPosted,
                    }),
                    Err(e) => Err(e.clone()),
                },
                Ok(Plan::AlreadyReserved(p)) => Err(Rejection::IdConflict { id: p.id() }),
                Err(rejection) => Err(rejection),
            };
            results.push(result);
        }
        Ok(Step::Done(results))
    }
}

/// The transfer a fresh request became.
fn recorded(item: &NewTransfer, seq: i64, posted_at: chrono::DateTime<chrono::Utc>) -> Transfer {
    Transfer {
        id: item.id,
        seq,
        debit: item.debit,
        credit: item.credit,
        amount: item.amount,
        currency: item.currency,
        kind: item.kind,
        references: item.references.clone(),
        metadata: item.metadata.clone(),
        pending: None,
        posted_at,
    }
}
