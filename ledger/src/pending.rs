//! Pending (two-phase) transfers: reserve now, then post (all or part), void, or let expire.
//! [`plan_resolution`] decides what a resolution request does; each pending transfer resolves once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::TransferId;
use crate::money::Amount;
use crate::rejection::Rejection;
use crate::transfer::NewTransfer;

pub use crate::pending_state::PendingState;

/// A pending transfer as a caller asks for it: the transfer to reserve and its deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPending {
    pub transfer: NewTransfer,
    /// After this moment the reservation can only expire.
    pub expires_at: DateTime<Utc>,
}

/// A pending transfer as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingTransfer {
    /// The reserved transfer; a post records a transfer with this same id.
    pub transfer: NewTransfer,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: PendingState,
    /// What was posted, when it was.
    pub posted_amount: Option<Amount>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl PendingTransfer {
    /// The id shared by the pending transfer and the transfer that posts it.
    pub fn id(&self) -> TransferId {
        self.transfer.id
    }
}

/// How a caller wants a pending transfer resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Resolve {
    /// Post this much (all of it when `None`); the rest is released.
    Post { amount: Option<Amount> },
    /// Release all of it.
    Void,
    /// Release all of it because its deadline passed (the expiry sweep).
    Expire,
}

/// What a resolution request does to a pending transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolutionPlan {
    /// Move it to `state`, posting `posted_amount` when that is `Some`.
    Apply {
        state: PendingState,
        posted_amount: Option<Amount>,
    },
    /// The same resolution happened before: a retry, nothing to do.
    AlreadyDone,
    /// The deadline passed before this post or void: expire it, then report [`Rejection::PendingExpired`].
    ExpireInstead,
}

/// Decides a resolution. Resolutions are idempotent (asking again for what already happened is
/// `AlreadyDone`) and exclusive (asking for anything else afterwards is refused).
pub fn plan_resolution(
    pending: &PendingTransfer,
    request: Resolve,
    now: DateTime<Utc>,
) -> Result<ResolutionPlan, Rejection> {
    let id = pending.id();
    let full = pending.transfer.amount;
    if pending.state != PendingState::Pending {
        let same = match (request, pending.state) {
            (Resolve::Post { amount }, PendingState::Posted) => {
                pending.posted_amount == Some(amount.unwrap_or(full))
            }
            (Resolve::Void, PendingState::Voided) | (Resolve::Expire, PendingState::Expired) => {
                true
            }
            _ => false,
        };
        return if same {
            Ok(ResolutionPlan::AlreadyDone)
        } else if pending.state == PendingState::Expired {
            Err(Rejection::PendingExpired { id })
        } else {
            Err(Rejection::PendingAlreadyResolved {
                id,
                state: pending.state,
            })
        };
    }
    let expired = now >= pending.expires_at;
    match request {
        Resolve::Expire if expired => Ok(ResolutionPlan::Apply {
            state: PendingState::Expired,
            posted_amount: None,
        }),
        // Not due yet: an early sweep leaves it alone.
        Resolve::Expire => Ok(ResolutionPlan::AlreadyDone),
        _ if expired => Ok(ResolutionPlan::ExpireInstead),
        Resolve::Void => Ok(ResolutionPlan::Apply {
            state: PendingState::Voided,
            posted_amount: None,
        }),
        Resolve::Post { amount } => {
            let amount = amount.unwrap_or(full);
            if amount > full {
                return Err(Rejection::PostExceedsPending {
                    id,
                    pending: full,
                    requested: amount,
                });
            }
            Ok(ResolutionPlan::Apply {
                state: PendingState::Posted,
                posted_amount: Some(amount),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::currency::Currency;
    use crate::ids::AccountId;
    use crate::transfer::TransferKind;
    use chrono::Duration;

    fn pending(amount: &str) -> (PendingTransfer, DateTime<Utc>) {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let transfer = NewTransfer::new(
            TransferId::new(),
            AccountId(1),
            AccountId(2),
            Amount::parse(amount).expect("amount"),
            Currency::parse("USD").expect("usd"),
            TransferKind::Spend,
        );
        let p = PendingTransfer {
            transfer,
            created_at: now,
            expires_at: now + Duration::seconds(60),
            state: PendingState::Pending,
            posted_amount: None,
            resolved_at: None,
        };
        (p, now)
    }

    fn amt(s: &str) -> Amount {
        Amount::parse(s).expect("amount")
    }

    #[test]
    fn post_in_full_or_in_part() {
        let (p, now) = pending("10");
        assert_eq!(
            plan_resolution(&p, Resolve::Post { amount: None }, now),
            Ok(ResolutionPlan::Apply {
                state: PendingState::Posted,
                posted_amount: Some(amt("10"))
            })
        );
        assert_eq!(
            plan_resolution(
                &p,
                Resolve::Post {
                    amount: Some(amt("4"))
                },
                now
            ),
            Ok(ResolutionPlan::Apply {
                state: PendingState::Posted,
                posted_amount: Some(amt("4"))
            })
        );
        assert_eq!(
            plan_resolution(
                &p,
                Resolve::Post {
                    amount: Some(amt("10.000001"))
                },
                now
            ),
            Err(Rejection::PostExceedsPending {
                id: p.id(),
                pending: amt("10"),
                requested: amt("10.000001")
            })
        );
    }

    #[test]
    fn resolves_once_and_retries_are_harmless() {
        let (mut p, now) = pending("10");
        p.state = PendingState::Posted;
        p.posted_amount = Some(amt("4"));
        assert_eq!(
            plan_resolution(
                &p,
                Resolve::Post {
                    amount: Some(amt("4"))
                },
                now
            ),
            Ok(ResolutionPlan::AlreadyDone)
        );
        assert_eq!(
            plan_resolution(&p, Resolve::Post { amount: None }, now),
            Err(Rejection::PendingAlreadyResolved {
                id: p.id(),
                state: PendingState::Posted
            })
        );
        assert_eq!(
            plan_resolution(&p, Resolve::Void, now),
            Err(Rejection::PendingAlreadyResolved {
                id: p.id(),
                state: PendingState::Posted
            })
        );
        p.state = PendingState::Expired;
        p.posted_amount = None;
        assert_eq!(
            plan_resolution(&p, Resolve::Void, now),
            Err(Rejection::PendingExpired { id: p.id() })
        );
        assert_eq!(
            plan_resolution(&p, Resolve::Expire, now),
            Ok(ResolutionPlan::AlreadyDone)
        );
    }

    #[test]
    fn the_deadline_wins_over_a_late_post() {
        let (p, now) = pending("10");
        let late = p.expires_at;
        assert_eq!(
            plan_resolution(&p, Resolve::Post { amount: None }, late),
            Ok(ResolutionPlan::ExpireInstead)
        );
        assert_eq!(
            plan_resolution(&p, Resolve::Void, late),
            Ok(ResolutionPlan::ExpireInstead)
        );
        assert_eq!(
            plan_resolution(&p, Resolve::Expire, late),
            Ok(ResolutionPlan::Apply {
                state: PendingState::Expired,
                posted_amount: None
            })
        );
        assert_eq!(
            plan_resolution(&p, Resolve::Expire, now),
            Ok(ResolutionPlan::AlreadyDone)
        );
    }
}
