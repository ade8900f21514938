//! One campaign's budget as the controller keeps it: what is not yet granted, the leases that are
//! open, and what closed leases spent. Every operation here is what one Redis script does to the
//! campaign's keys, as a plain function over plain data: the in-memory twin of the store runs
//! exactly this, and the property tests hold it to its invariant:
//!
//! `remaining + Σ open grants + spent = budget`. `remaining` is below zero only when more is
//! reserved or counted than the budget holds: after a rebuild that counted requests without
//! their answers at what they asked for, a budget cut below what is out, or clicks that came to
//! more than expected ([`CampaignBudget::adjust`], which can also count spend past the budget).
//! Nothing is granted until then.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sizing::{SizingInput, lease_size, share_may_bind};
use ledger::ids::LeaseId;

/// A serving instance, as it names itself when it asks for leases.
pub type ServerId = String;

/// Settings of the allocation rules, in milliseconds and micros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseRules {
    /// How long a lease lives without renewal.
    pub ttl_ms: i64,
    /// How long after its last allocation a server still counts as recent (the `S` of sizing).
    pub server_window_ms: i64,
}

impl LeaseRules {
    /// The platform's rules: two minutes to live unless renewed (serving instances renew every
    /// 40 s), and a server counts as recent for a minute after it last asked.
    pub const PLATFORM: LeaseRules = LeaseRules {
        ttl_ms: 120_000,
        server_window_ms: 60_000,
    };
}

/// What a server asks the controller for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// How much, micros.
    pub amount: i64,
    /// The most one impression of the campaign costs the lease, micros: the smallest useful
    /// grant (see [`crate::sizing`]).
    pub unit: i64,
    /// The lease pays for clicks: each impression counts what it is expected to cost, and the
    /// controller counts the clicks instead once they are known.
    pub per_click: bool,
}

impl Want {
    /// A lease of `amount` for impressions of at most `unit` each.
    pub fn per_impression(amount: i64, unit: i64) -> Want {
        Want {
            amount,
            unit,
            per_click: false,
        }
    }

    /// A lease of `amount` for impressions counted at most `unit` each until their clicks are
    /// known.
    pub fn per_click(amount: i64, unit: i64) -> Want {
        Want {
            amount,
            unit,
            per_click: true,
        }
    }
}

/// A lease not yet closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenLease {
    pub server: ServerId,
    /// What was granted; for a pending lease, what was asked for (the most it could have been
    /// granted).
    pub granted: i64,
    pub deadline_ms: i64,
    /// A request the audit trail holds without its answer, put back by a rebuild: counted at
    /// what it asked for, since Redis may have granted up to that before it lost the campaign,
    /// but never handed out on that count. If its allocation is asked again (Redis lost the
    /// campaign before granting it), the reservation goes back to the pool and the request is
    /// sized as any new one.
    #[serde(default)]
    pub pending: bool,
}

/// How a lease was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Closure {
    /// Its server reported what it spent (settle or release).
    Settled,
    /// It passed its deadline; the ledger's record of its spend was taken as what it spent.
    Reaped,
    /// A per-click lease counted by its clicks ([`CampaignBudget::adjust`]): what its server
    /// reports no longer changes its count, and a settle of it changes nothing.
    Counted,
}

/// A closed lease, kept for a while so that a repeated settle is recognised (after that,
/// PostgreSQL's record answers for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedLease {
    pub granted: i64,
    /// What is counted as spent: within the grant, and within the budget.
    pub spent: i64,
    pub closure: Closure,
    /// When it was first closed.
    pub closed_ms: i64,
}

/// The answer to an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// Spend up to `amount` until `deadline_ms`.
    Granted { amount: i64, deadline_ms: i64 },
    /// Nothing is left to grant.
    Exhausted,
}

/// The answer to a settle (or release) of a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Closed now; `returned` went back to the pool.
    Settled { returned: i64 },
    /// The same settle happened before: nothing changed.
    AlreadySettled,
    /// The lease had been reaped, and the server reports more spend than the ledger had by then.
    /// What the pool still had covers `late - over`; `over` was served beyond the budget (the
    /// ledger's hard cap refuses to bill it).
    Late { late: i64, over: i64 },
}

/// The answer to [`CampaignBudget::adjust`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjusted {
    /// The count moved by `delta` (and `remaining` by minus that).
    Changed { delta: i64 },
    /// It counted that already.
    Unchanged,
    /// Redis keeps no record of the lease (forgotten after its retention): nothing to adjust.
    Gone,
}

/// Why an operation on a lease was refused. Nothing changed when one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// No lease has this id.
    #[error("unknown lease")]
    UnknownLease,
    /// The lease is closed; it cannot be granted again or renewed.
    #[error("the lease is closed")]
    Closed,
    /// More was reported spent than the lease granted.
    #[error("{spent} reported spent on a lease of {granted}")]
    Overspent { granted: i64, spent: i64 },
    /// A second settle of the lease reports another amount than the first.
    #[error("the lease was settled with {recorded} spent; {reported} was reported now")]
    SettleConflict { recorded: i64, reported: i64 },
    /// A negative amount.
    #[error("amounts cannot be negative")]
    Negative,
}

/// One campaign's budget in the controller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignBudget {
    /// The whole budget (what the ledger holds for the campaign, spent or not).
    pub budget: i64,
    /// Not granted to any open lease. Below zero when more is reserved or counted than the
    /// budget holds (see the module's invariant): nothing is granted until then.
    pub remaining: i64,
    /// Counted as spent by closed leases.
    pub spent: i64,
    pub open: BTreeMap<LeaseId, OpenLease>,
    pub closed: BTreeMap<LeaseId, ClosedLease>,
    /// When each server last asked for a lease.
    pub servers: BTreeMap<ServerId, i64>,
    /// The ledger's version of the budget this state was built or last resized from (it counts
    /// the campaign's hold and release transfers): a newer one resizes the state, an older one
    /// is ignored, so budget changes applied out of order never undo each other.
    #[serde(default)]
    pub version: i64,
}

impl CampaignBudget {
    /// A budget with nothing granted or spent yet.
    pub fn new(budget: i64) -> Self {
        let budget = budget.max(0);
        CampaignBudget {
            budget,
            remaining: budget,
            ..Default::default()
        }
    }

    /// The budget rebuilt from the ledger after Redis lost it. `closed_spent` is the campaign's
    /// spend in the ledger outside its open leases (the spend of open leases is inside their
    /// grants); `open` are the leases the audit trail shows open, a request whose answer was not
    /// recorded counted at the most it could have been granted. The rest goes back to the pool.
    ///
    /// Spend is a fact and is kept whole. When it and the open grants together exceed the budget
    /// (requests counted at what they asked for, or spend that arrived after its lease was
    /// reaped), `remaining` is below zero: nothing is granted until closing leases have paid the
    /// excess back, so budget that was spent is never granted again. The excess is returned as
    /// over-commitment, for reconciliation to report.
    pub fn rebuilt(
        budget: i64,
        version: i64,
        closed_spent: i64,
        open: BTreeMap<LeaseId, OpenLease>,
    ) -> (Self, i64) {
        let budget = budget.max(0);
        let granted: i64 = open.values().map(|l| l.granted).sum();
        let spent = closed_spent.max(0);
        let remaining = budget - spent - granted;
        let overcommitted = (-remaining).max(0);
        (
            CampaignBudget {
                budget,
                remaining,
                spent,
                open,
                version,
                ..Default::default()
            },
            overcommitted,
        )
    }

    /// The budget changed in the ledger (a hold or a release: activation, a new budget, a new
    /// day): when `version` is newer than the state's, the difference moves `remaining` and the
    /// open leases and spend stay as they are; an older or equal version changes nothing.
    /// Returns whether it resized. A budget below what is spent and out in open leases leaves
    /// `remaining` below zero: nothing more is granted until enough comes back. (The ledger keeps
    /// leased budget held, so that happens only when spend reported but not yet billed was
    /// released, which the ledger then refuses to bill: over-delivery.)
    pub fn resize(&mut self, budget: i64, version: i64) -> bool {
        if version <= self.version {
            return false;
        }
        let budget = budget.max(0);
        self.remaining += budget - self.budget;
        self.budget = budget;
        self.version = version;
        true
    }

    /// Sum of what open leases were granted.
    pub fn in_flight(&self) -> i64 {
        self.open.values().map(|l| l.granted).sum()
    }

    /// Whether the books balance: `remaining + in flight + spent = budget`, and nothing spent
    /// below zero. (`remaining` is below zero only after a rebuild that found more reserved than
    /// the budget holds, see [`CampaignBudget::rebuilt`], or when the clicks on per-click leases
    /// came to more than expected, see [`CampaignBudget::adjust`]: then spend may also exceed
    /// the budget, and the ledger refuses to bill beyond it.)
    pub fn is_consistent(&self) -> bool {
        self.spent >= 0
            && self.remaining + self.in_flight() + self.spent == self.budget
            && self.closed.values().all(|c| c.spent >= 0)
    }

    /// Counts a per-click lease by its clicks. A per-click lease counts each impression at what
    /// it was expected to cost until its clicks are known; `counted` is what they came to.
    /// While the lease is open, it holds at least that (its grant grows when the clicks billed
    /// already exceed it, never shrinks); once closed, it counts exactly that. The difference
    /// moves `remaining` (below zero when the clicks came to more than the budget had left).
    /// The same count again changes nothing.
    pub fn adjust(&mut self, lease: LeaseId, counted: i64) -> Result<Adjusted, LeaseError> {
        if counted < 0 {
            return Err(LeaseError::Negative);
        }
        if let Some(open) = self.open.get_mut(&lease) {
            let delta = counted - open.granted;
            if delta <= 0 {
                return Ok(Adjusted::Unchanged);
            }
            open.granted = counted;
            self.remaining -= delta;
            return Ok(Adjusted::Changed { delta });
        }
        let Some(closed) = self.closed.get_mut(&lease) else {
            return Ok(Adjusted::Gone);
        };
        closed.closure = Closure::Counted;
        let delta = counted - closed.spent;
        if delta == 0 {
            return Ok(Adjusted::Unchanged);
        }
        closed.spent = counted;
        self.spent += delta;
        self.remaining -= delta;
        Ok(Adjusted::Changed { delta })
    }

    /// Grants a lease to `server`, sized by [`lease_size`]. Idempotent per lease id: asking
    /// again for an open lease returns its grant; asking for a closed one is refused; asking for
    /// a pending one (see [`OpenLease::pending`]) sizes it now.
    pub fn allocate(
        &mut self,
        lease: LeaseId,
        server: &str,
        want: Want,
        now_ms: i64,
        rules: &LeaseRules,
    ) -> Result<Allocation, LeaseError> {
        let Want {
            amount: want, unit, ..
        } = want;
        if want < 0 {
            return Err(LeaseError::Negative);
        }
        if let Some(open) = self.open.get(&lease) {
            if !open.pending {
                return Ok(Allocation::Granted {
                    amount: open.granted,
                    deadline_ms: open.deadline_ms,
                });
            }
            // Never granted: its reservation goes back, and it is sized from what remains.
            self.remaining += open.granted;
            self.open.remove(&lease);
        }
        if self.closed.contains_key(&lease) {
            return Err(LeaseError::Closed);
        }
        // A server is recorded as recent when it was not, or was recorded a quarter window ago or
        // more (so most allocations write nothing for it); the recent count is only needed once
        // the budget runs low, and only then are servers gone for a whole window dropped.
        let stale = self.servers.get(server).is_none_or(|seen| {
            now_ms.saturating_sub(*seen).saturating_mul(4) >= rules.server_window_ms
        });
        if stale {
            self.servers.insert(server.to_owned(), now_ms);
        }
        let count =
            |servers: &BTreeMap<ServerId, i64>| u32::try_from(servers.len()).unwrap_or(u32::MAX);
        if want > 0
            && self.remaining > 0
            && share_may_bind(want, self.remaining, count(&self.servers))
        {
            let since = now_ms.saturating_sub(rules.server_window_ms);
            self.servers.retain(|_, seen| *seen >= since);
        }
        let amount = lease_size(&SizingInput {
            want,
            remaining: self.remaining,
            recent_servers: count(&self.servers),
            unit,
        });
        if amount == 0 {
            return Ok(Allocation::Exhausted);
        }
        let deadline_ms = now_ms.saturating_add(rules.ttl_ms);
        self.remaining -= amount;
        self.open.insert(
            lease,
            OpenLease {
                server: server.to_owned(),
                granted: amount,
                deadline_ms,
                pending: false,
            },
        );
        Ok(Allocation::Granted {
            amount,
            deadline_ms,
        })
    }

    /// Gives back a pending lease's reservation (its request was refused, or answered elsewhere
    /// before a rebuild made it pending): true when it was pending. Any other lease is left.
    pub fn release_pending(&mut self, lease: LeaseId) -> bool {
        match self.open.get(&lease) {
            Some(open) if open.pending => {
                self.remaining += open.granted;
                self.open.remove(&lease);
                true
            }
            _ => false,
        }
    }

    /// Extends an open lease's deadline to `now + ttl`.
    pub fn renew(
        &mut self,
        lease: LeaseId,
        now_ms: i64,
        rules: &LeaseRules,
    ) -> Result<i64, LeaseError> {
        match self.open.get_mut(&lease) {
            Some(open) => {
                open.deadline_ms = open.deadline_ms.max(now_ms.saturating_add(rules.ttl_ms));
                Ok(open.deadline_ms)
            }
            None if self.closed.contains_key(&lease) => Err(LeaseError::Closed),
            None => Err(LeaseError::UnknownLease),
        }
    }

    /// Closes a lease with what its server spent; the unspent part goes back to the pool.
    /// Idempotent per lease; a graceful release is the same operation.
    pub fn settle(
        &mut self,
        lease: LeaseId,
        spent: i64,
        now_ms: i64,
    ) -> Result<Settlement, LeaseError> {
        if spent < 0 {
            return Err(LeaseError::Negative);
        }
        if let Some(open) = self.open.get(&lease) {
            if spent > open.granted {
                return Err(LeaseError::Overspent {
                    granted: open.granted,
                    spent,
                });
            }
            let granted = open.granted;
            self.open.remove(&lease);
            self.remaining += granted - spent;
            self.spent += spent;
            self.closed.insert(
                lease,
                ClosedLease {
                    granted,
                    spent,
                    closure: Closure::Settled,
                    closed_ms: now_ms,
                },
            );
            return Ok(Settlement::Settled {
                returned: granted - spent,
            });
        }
        let Some(closed) = self.closed.get_mut(&lease) else {
            return Err(LeaseError::UnknownLease);
        };
        if spent > closed.granted {
            return Err(LeaseError::Overspent {
                granted: closed.granted,
                spent,
            });
        }
        match closed.closure {
            Closure::Counted => Ok(Settlement::AlreadySettled),
            Closure::Settled if spent == closed.spent => Ok(Settlement::AlreadySettled),
            Closure::Settled => Err(LeaseError::SettleConflict {
                recorded: closed.spent,
                reported: spent,
            }),
            Closure::Reaped if spent <= closed.spent => {
                closed.closure = Closure::Settled;
                Ok(Settlement::AlreadySettled)
            }
            Closure::Reaped => {
                // The reaper believed less was spent and returned the difference to the pool.
                let late = spent - closed.spent;
                let covered = late.min(self.remaining).max(0);
                self.remaining -= covered;
                self.spent += covered;
                closed.spent += covered;
                closed.closure = Closure::Settled;
                Ok(Settlement::Late {
                    late,
                    over: late - covered,
                })
            }
        }
    }

    /// Closes every open lease whose deadline passed `grace_ms` ago or more. What the ledger has
    /// recorded as spent for a lease (`ledger_spent`, given the lease) counts as its spend; the rest
    /// goes back to the pool. Returns the reaped leases with what each returned.
    pub fn reap(
        &mut self,
        now_ms: i64,
        grace_ms: i64,
        mut ledger_spent: impl FnMut(LeaseId) -> i64,
    ) -> Vec<(LeaseId, i64)> {
        let due: Vec<LeaseId> = self
            .open
            .iter()
            .filter(|(_, l)| l.deadline_ms.saturating_add(grace_ms) <= now_ms)
            .map(|(id, _)| *id)
            .collect();
        let mut reaped = Vec::with_capacity(due.len());
        for lease in due {
            let Some(open) = self.open.remove(&lease) else {
                continue;
            };
            let spent = ledger_spent(lease).clamp(0, open.granted);
            self.remaining += open.granted - spent;
            self.spent += spent;
            self.closed.insert(
                lease,
                ClosedLease {
                    granted: open.granted,
                    spent,
                    closure: Closure::Reaped,
                    closed_ms: now_ms,
                },
            );
            reaped.push((lease, open.granted - spent));
        }
        reaped
    }

    /// Forgets closed leases closed before `before_ms`: records of closes are kept only as long
    /// as retries and late settles can arrive. Returns how many it forgot.
    pub fn forget_closed(&mut self, before_ms: i64) -> usize {
        let before = self.closed.len();
        self.closed.retain(|_, c| c.closed_ms >= before_ms);
        before - self.closed.len()
    }
}

#[cfg(test)]
mod tests;
