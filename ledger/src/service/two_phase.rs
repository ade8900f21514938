//! Pending (two-phase) transfers: reserve, then post, void or expire, each exactly once.

use serde::{Deserialize, Serialize};

use super::Ledger;
use crate::error::{Error, Result};
use crate::ids::TransferId;
use crate::pending::{
    NewPending, PendingState, PendingTransfer, ResolutionPlan, Resolve, plan_resolution,
};
use crate::plan::{BatchMode, Effect, Plan, plan_batch};
use crate::rejection::Rejection;
use crate::retry::{Step, retrying};
use crate::store;
use crate::transfer::Transfer;

/// A pending transfer and whether this request created it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    pub pending: PendingTransfer,
    /// False when the same reservation had been made before (a retry).
    pub created: bool,
}

/// The outcome of resolving a pending transfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    pub pending: PendingTransfer,
    /// The transfer a post recorded.
    pub transfer: Option<Transfer>,
    /// False when the same resolution had happened before (a retry).
    pub resolved_now: bool,
}

/// Most pending transfers one expiry sweep handles.
const SWEEP_LIMIT: i64 = 1000;

impl Ledger {
    /// Reserves a transfer: the amount counts against the debit account's floor at once and moves
    /// only when posted. Retrying the same reservation returns it; the same id with other content
    /// is [`Rejection::IdConflict`].
    pub async fn reserve(&self, request: NewPending) -> Result<Reservation> {
        retrying(|| self.reserve_once(&request)).await
    }

    async fn reserve_once(&self, request: &NewPending) -> Result<Step<Reservation>> {
        let now = self.clock.now();
        let mut tx = self.pool.begin().await?;
        let t = &request.transfer;
        let mut accounts = store::accounts::lock(&mut tx, &[t.debit, t.credit]).await?;
        let existing = store::transfers::existing(&mut tx, &[t.id]).await?;
        let plan = plan_batch(
            &mut accounts,
            &existing,
            std::slice::from_ref(t),
            BatchMode::Linked,
            Effect::Reserve,
        )
        .pop()
        .unwrap_or(Err(Rejection::AccountNotFound { account: t.debit }));
        let reservation = match plan? {
            Plan::Apply => {
                match store::pending::insert(&mut tx, t, now, request.expires_at).await {
                    Ok(Some(pending)) => Reservation {
                        pending,
                        created: true,
                    },
                    // A concurrent writer took the id after we looked: look again.
                    Ok(None) => {
                        tx.rollback().await?;
                        return Ok(Step::Again);
                    }
                    Err(Error::Invariant { constraint, .. })
                        if constraint == "transfer_id_taken" =>
                    {
                        return Ok(Step::Again);
                    }
                    Err(e) => return Err(e),
                }
            }
            Plan::AlreadyReserved(pending) if pending.expires_at == request.expires_at => {
                Reservation {
                    pending: *pending,
                    created: false,
                }
            }
            Plan::AlreadyReserved(_) | Plan::AlreadyPosted(_) | Plan::SameAsItem(_) => {
                return Err(Rejection::IdConflict { id: t.id }.into());
            }
        };
        tx.commit().await?;
        Ok(Step::Done(reservation))
    }

    /// Posts a pending transfer: all of it, or `amount` of it with the rest released.
    pub async fn post_pending(
        &self,
        id: TransferId,
        amount: Option<crate::Amount>,
    ) -> Result<Resolution> {
        self.resolve(id, Resolve::Post { amount }).await
    }

    /// Voids a pending transfer, releasing all of it.
    pub async fn void_pending(&self, id: TransferId) -> Result<Resolution> {
        self.resolve(id, Resolve::Void).await
    }

    /// Expires every pending transfer whose deadline has passed; returns how many it expired.
    pub async fn expire_due(&self) -> Result<usize> {
        let mut expired = 0;
        loop {
            let due = {
                let mut conn = self.pool.acquire().await?;
                store::pending::due(&mut conn, self.clock.now(), SWEEP_LIMIT).await?
            };
            let batch = due.len();
            for id in due {
                match self.resolve(id, Resolve::Expire).await {
                    Ok(r) if r.resolved_now => expired += 1,
                    // Resolved by someone else in the meantime: theirs stands.
                    Ok(_) | Err(Error::Rejected(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if batch < SWEEP_LIMIT as usize {
                return Ok(expired);
            }
        }
    }

    /// Resolves a pending transfer as asked, at most once whatever races: the accounts and then
    /// the pending row are locked, and only a row still pending changes.
    pub async fn resolve(&self, id: TransferId, request: Resolve) -> Result<Resolution> {
        retrying(|| self.resolve_once(id, request)).await
    }

    async fn resolve_once(&self, id: TransferId, request: Resolve) -> Result<Step<Resolution>> {
        let mut tx = self.pool.begin().await?;
        let Some(seen) = store::pending::get(&mut tx, id, false).await? else {
            return Err(Rejection::PendingNotFound { id }.into());
        };
        // Accounts first, in the ledger's one lock order, then the row itself.
        store::accounts::lock(&mut tx, &[seen.transfer.debit, seen.transfer.credit]).await?;
        let Some(pending) = store::pending::get(&mut tx, id, true).await? else {
            return Err(Rejection::PendingNotFound { id }.into());
        };
        let now = self.clock.now();
        let outcome = match plan_resolution(&pending, request, now)? {
            ResolutionPlan::AlreadyDone => Resolution {
                transfer: posted_transfer(&mut tx, &pending).await?,
                pending,
                resolved_now: false,
            },
            ResolutionPlan::Apply {
                state,
                posted_amount,
            } => {
                let Some(pending) =
                    store::pending::resolve(&mut tx, id, state, posted_amount, now).await?
                else {
                    tx.rollback().await?;
                    return Ok(Step::Again);
                };
                Resolution {
                    transfer: posted_transfer(&mut tx, &pending).await?,
                    pending,
                    resolved_now: true,
                }
            }
            ResolutionPlan::ExpireInstead => {
                if store::pending::resolve(&mut tx, id, PendingState::Expired, None, now)
                    .await?
                    .is_none()
                {
                    tx.rollback().await?;
                    return Ok(Step::Again);
                }
                tx.commit().await?;
                return Err(Rejection::PendingExpired { id }.into());
            }
        };
        tx.commit().await?;
        Ok(Step::Done(outcome))
    }
}

async fn posted_transfer(
    conn: &mut sqlx::PgConnection,
    pending: &PendingTransfer,
) -> Result<Option<Transfer>> {
    if pending.state == PendingState::Posted {
        store::transfers::get(conn, pending.id()).await
    } else {
        Ok(None)
    }
}
