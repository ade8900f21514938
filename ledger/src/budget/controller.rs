//! [`BudgetController`]: leases out campaign budgets from Redis, with PostgreSQL as the source of
//! truth. Every lease is written to PostgreSQL before Redis is asked to grant it, and every answer
//! after, so no moment exists at which Redis has granted budget that neither remembers. When
//! Redis has lost a campaign's state, the scripts say so before changing anything and the
//! controller rebuilds the state from the ledger and the lease records, then carries on.

use std::collections::BTreeMap;
use std::sync::Arc;

use redis::aio::ConnectionLike;
use serde::Serialize;
use sqlx::PgPool;

use crate::budget::campaign::{
    Allocation, CampaignBudget, LeaseError, LeaseRules, OpenLease, Settlement,
};
use crate::budget::redis_store::{Installed, Reaped, RedisBudgetStore, StoreError};
use crate::clock::Clock;
use crate::ids::{CampaignId, LeaseId};
use crate::store::budget_leases as pg;

/// Why a controller call failed.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The lease operation was refused (nothing changed).
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// Redis failed or answered oddly.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Ledger(#[from] crate::error::Error),
    /// The campaign has no budget in the ledger (no hold account).
    #[error("campaign {0} has no budget in the ledger")]
    NoBudget(CampaignId),
    /// A request the controller cannot act on.
    #[error("{0}")]
    Invalid(String),
}

impl From<sqlx::Error> for ControllerError {
    fn from(e: sqlx::Error) -> Self {
        ControllerError::Ledger(e.into())
    }
}

/// What a server asks the controller for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// How much, micros.
    pub amount: i64,
    /// The most one event of the campaign can cost the lease, micros: the smallest useful grant
    /// (see [`crate::budget::sizing`]).
    pub unit: i64,
    /// The lease pays for clicks: each impression counts what it is expected to cost, and the
    /// controller counts the clicks the ledger bills instead once they are known.
    pub per_click: bool,
}

impl Want {
    /// A lease of `amount` for events of at most `unit` each, paid per impression.
    pub fn per_impression(amount: i64, unit: i64) -> Want {
        Want {
            amount,
            unit,
            per_click: false,
        }
    }
}

/// A lease granted to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub lease: LeaseId,
    pub amount: i64,
    pub deadline_ms: i64,
}

/// How one campaign's Redis state compares with the ledger's view of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignDrift {
    pub campaign: CampaignId,
    /// The state as the ledger and lease records rebuild it.
    pub ledger_budget: i64,
    pub ledger_remaining: i64,
    pub ledger_spent: i64,
    pub ledger_open: usize,
    /// The state in Redis, when there is one.
    pub redis_budget: Option<i64>,
    pub redis_remaining: Option<i64>,
    pub redis_spent: Option<i64>,
    pub redis_open: Option<usize>,
    /// Spend and open grants beyond the budget: late spend after a reap, or requests whose
    /// answer was lost counted at what they asked for until they are reaped.
    pub overcommitted: i64,
    /// Whether Redis was corrected from the ledger.
    pub repaired: bool,
}

impl CampaignDrift {
    /// Whether Redis agrees with the ledger.
    pub fn in_sync(&self) -> bool {
        self.redis_budget == Some(self.ledger_budget)
            && self.redis_remaining == Some(self.ledger_remaining)
            && self.redis_spent == Some(self.ledger_spent)
            && self.redis_open == Some(self.ledger_open)
    }
}

/// How many times one call rebuilds a campaign that Redis keeps losing before it gives up.
const MAX_REBUILDS_PER_CALL: usize = 3;

/// Most leases one reaper pass closes.
const REAP_BATCH: i64 = 1000;

/// The budget controller.
#[derive(Clone)]
pub struct BudgetController<C> {
    store: RedisBudgetStore<C>,
    pool: PgPool,
    rules: LeaseRules,
    /// Longer than event delivery can take: only then is a lease's ledger spend complete.
    grace_ms: i64,
    clock: Arc<dyn Clock>,
}

impl<C> BudgetController<C>
where
    C: ConnectionLike + Clone + Send + Sync,
{
    /// A controller over `store` and the ledger in `pool`.
    pub fn new(
        store: RedisBudgetStore<C>,
        pool: PgPool,
        rules: LeaseRules,
        grace_ms: i64,
        clock: Arc<dyn Clock>,
    ) -> Self {
        BudgetController {
            store,
            pool,
            rules,
            grace_ms,
            clock,
        }
    }

    /// The Redis store underneath.
    pub fn store(&self) -> &RedisBudgetStore<C> {
        &self.store
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Runs a Redis operation; when Redis has lost the campaign, rebuilds it and runs it again
    /// (a few times: it may be lost again meanwhile, and a request that fails stays reserved
    /// until the reaper closes it).
    async fn with_state<T, F, Fut>(&self, campaign: CampaignId, op: F) -> Result<T, ControllerError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut rebuilds = 0;
        loop {
            match op().await {
                Err(StoreError::Missing(_)) if rebuilds < MAX_REBUILDS_PER_CALL => {
                    self.rebuild(campaign).await?;
                    rebuilds += 1;
                }
                other => return Ok(other?),
            }
        }
    }

    /// Grants `server` a lease of up to `want.amount` micros on `campaign`, or `None` when the
    /// campaign's budget is exhausted.
    pub async fn allocate(
        &self,
        campaign: CampaignId,
        server: &str,
        want: Want,
    ) -> Result<Option<Grant>, ControllerError> {
        if want.amount <= 0 {
            return Err(ControllerError::Invalid(format!(
                "want must be positive, got {}",
                want.amount
            )));
        }
        crate::budget::redis_store::check_server(server)?;
        let lease = LeaseId::new();
        pg::request(&self.pool, lease, campaign, server, want).await?;
        let now = self.now_ms();
        let answer = match self
            .with_state(campaign, || {
                self.store
                    .allocate(campaign, lease, server, want, now, &self.rules)
            })
            .await
        {
            Ok(answer) => answer?,
            // Nothing was granted: close the request. (After other failures Redis may or may not
            // have granted it; the request stays on record and the reaper settles it.)
            Err(e @ ControllerError::NoBudget(_)) => {
                pg::granted(&self.pool, lease, campaign, None).await?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        match answer {
            Allocation::Granted {
                amount,
                deadline_ms,
            } => {
                pg::granted(&self.pool, lease, campaign, Some((amount, deadline_ms))).await?;
                Ok(Some(Grant {
                    lease,
                    amount,
                    deadline_ms,
                }))
            }
            Allocation::Exhausted => {
                pg::granted(&self.pool, lease, campaign, None).await?;
                Ok(None)
            }
        }
    }

    /// Closes a lease with what its server spent; the rest goes back to the pool. Idempotent;
    /// `spent` above the grant is refused. A graceful release is the same call.
    pub async fn settle(
        &self,
        campaign: CampaignId,
        lease: LeaseId,
        spent: i64,
    ) -> Result<Settlement, ControllerError> {
        let now = self.now_ms();
        let answer = match self
            .with_state(campaign, || self.store.settle(campaign, lease, spent, now))
            .await?
        {
            Ok(answer) => answer,
            // Redis no longer has the lease's record (forgotten after the retention, or not
            // carried over by a rebuild, which keeps open leases only): PostgreSQL answers.
            Err(LeaseError::UnknownLease) => {
                return match pg::closed_record(&self.pool, lease).await? {
                    Some((state, recorded)) if state == "settled" && recorded != spent => {
                        Err(LeaseError::SettleConflict {
                            recorded,
                            reported: spent,
                        }
                        .into())
                    }
                    Some((state, recorded)) if state == "reaped" && spent > recorded => {
                        // Too late for the pool to cover: counted as over-delivery, which the
                        // ledger's hard cap bounds.
                        let late = spent - recorded;
                        pg::log_late(&self.pool, campaign, late, late).await?;
                        Ok(Settlement::Late { late, over: late })
                    }
                    Some(_) => Ok(Settlement::AlreadySettled),
                    None => Err(LeaseError::UnknownLease.into()),
                };
            }
            Err(e) => return Err(e.into()),
        };
        match answer {
            Settlement::Settled { returned } => {
                pg::closed(
                    &self.pool,
                    lease,
                    campaign,
                    "settle",
                    spent + returned,
                    spent,
                )
                .await?;
            }
            Settlement::Late { late, over } => {
                pg::closed(&self.pool, lease, campaign, "late", spent, spent - over).await?;
                pg::log_late(&self.pool, campaign, late, over).await?;
            }
            Settlement::AlreadySettled => {}
        }
        Ok(answer)
    }

    /// Extends a lease's deadline.
    pub async fn renew(
        &self,
        campaign: CampaignId,
        lease: LeaseId,
    ) -> Result<i64, ControllerError> {
        let now = self.now_ms();
        let deadline = self
            .with_state(campaign, || {
                self.store.renew(campaign, lease, now, &self.rules)
            })
            .await??;
        pg::renewed(&self.pool, lease, deadline).await?;
        Ok(deadline)
    }

    /// Closes every lease past its deadline by the grace period (crashed servers): what the ledger
    /// recorded for each counts as spent, the rest goes back. Returns how many it closed.
    pub async fn reap(&self) -> Result<usize, ControllerError> {
        let now = self.now_ms();
        let mut closed = 0;
        loop {
            let due = pg::overdue(
                &self.pool,
                now,
                self.rules.ttl_ms,
                self.grace_ms,
                REAP_BATCH,
            )
            .await?;
            let ids: Vec<LeaseId> = due.iter().map(|l| l.lease).collect();
            let mut conn = self.pool.acquire().await.map_err(crate::Error::from)?;
            let spent = pg::ledger_spend_by_lease(&mut conn, &ids).await?;
            let closed_before = closed;
            for lease in &due {
                let ledger_spent = spent.get(&lease.lease).copied().unwrap_or(0);
                let outcome = match self
                    .with_state(lease.campaign, || {
                        self.store.reap(
                            lease.campaign,
                            lease.lease,
                            ledger_spent,
                            now,
                            self.grace_ms,
                        )
                    })
                    .await
                {
                    Ok(outcome) => outcome,
                    // A campaign without a budget never granted anything.
                    Err(ControllerError::NoBudget(_)) => {
                        pg::granted(&self.pool, lease.lease, lease.campaign, None).await?;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let (granted, spent) = match outcome {
                    Reaped::Closed { returned, granted } => (granted, granted - returned),
                    // Never granted (the request's answer was lost before Redis saw it), or closed
                    // in Redis already: record what the ledger knows.
                    Reaped::Gone => {
                        let granted = lease.granted.unwrap_or(ledger_spent.min(lease.want));
                        (granted, ledger_spent.clamp(0, granted))
                    }
                    Reaped::StillAlive => continue,
                };
                pg::closed(
                    &self.pool,
                    lease.lease,
                    lease.campaign,
                    "reap",
                    granted,
                    spent,
                )
                .await?;
                closed += 1;
            }
            // A full batch that closed nothing (every lease renewed meanwhile) would come back
            // the same: the next pass sees them at a later time.
            if (due.len() as i64) < REAP_BATCH || closed == closed_before {
                return Ok(closed);
            }
        }
    }

    /// The campaign's state as the ledger and the lease records give it, and any over-commitment.
    async fn ledger_view(
        &self,
        campaign: CampaignId,
    ) -> Result<(CampaignBudget, i64), ControllerError> {
        // One snapshot for every read: spend posted and leases settled meanwhile must not be
        // seen by one read and missed by another (that would count budget twice).
        let mut tx = self.pool.begin().await.map_err(crate::Error::from)?;
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await
            .map_err(crate::Error::from)?;
        let budget = pg::ledger_budget(&mut tx, campaign)
            .await?
            .ok_or(ControllerError::NoBudget(campaign))?;
        let unsettled = pg::unsettled_of(&mut tx, campaign).await?;
        let ids: Vec<LeaseId> = unsettled.iter().map(|l| l.lease).collect();
        let spend = pg::ledger_spend_by_lease(&mut tx, &ids).await?;
        let mut open = BTreeMap::new();
        let mut in_open = 0;
        for lease in unsettled {
            in_open += spend.get(&lease.lease).copied().unwrap_or(0);
            let deadline_ms = lease
                .deadline_ms
                .unwrap_or(lease.created_ms + self.rules.ttl_ms);
            open.insert(
                lease.lease,
                OpenLease {
                    server: lease.server,
                    // A request whose answer was not recorded may have been granted up to what
                    // it asked: counted at that, pending (never handed out on that count).
                    granted: lease.granted.unwrap_or(lease.want),
                    deadline_ms,
                    pending: lease.granted.is_none(),
                },
            );
        }
        let unbilled = pg::reported_unbilled(&mut tx, campaign).await?;
        tx.commit().await.map_err(crate::Error::from)?;
        Ok(CampaignBudget::rebuilt(
            budget.total,
            budget.version,
            budget.spent - in_open + unbilled,
            open,
        ))
    }

    /// Rebuilds the campaign's Redis state from the ledger when Redis has none (a concurrent
    /// rebuild that got there first wins). Returns the over-commitment found, if any.
    pub async fn rebuild(&self, campaign: CampaignId) -> Result<i64, ControllerError> {
        self.install_from_ledger(campaign, "rebuild")
            .await
            .map(|(_, over)| over)
    }

    /// Brings Redis up to the campaign's budget in the ledger, right after it changed (the
    /// campaign was activated, resumed or paused, its budget edited, a new day held): installs
    /// the campaign's state when Redis has none, so its first request finds it ready, or resizes
    /// the state there to the new budget. Budget changes seen out of order never undo a newer
    /// one (see [`CampaignBudget::resize`]).
    pub async fn refresh(&self, campaign: CampaignId) -> Result<Installed, ControllerError> {
        self.install_from_ledger(campaign, "install")
            .await
            .map(|(installed, _)| installed)
    }

    async fn install_from_ledger(
        &self,
        campaign: CampaignId,
        action: &str,
    ) -> Result<(Installed, i64), ControllerError> {
        let (state, overcommitted) = self.ledger_view(campaign).await?;
        let installed = self.store.install(campaign, &state).await?;
        let action = match installed {
            Installed::New => action,
            Installed::Resized => "resize",
            Installed::Current => return Ok((installed, overcommitted)),
        };
        let detail = serde_json::json!({
            "budget": state.budget, "version": state.version, "remaining": state.remaining,
            "spent": state.spent, "open": state.open.len(), "overcommitted": overcommitted,
        });
        let amount = match installed {
            Installed::Resized => state.budget,
            _ => state.remaining,
        };
        pg::log(&self.pool, campaign, action, Some(amount), detail).await?;
        Ok((installed, overcommitted))
    }

    /// Forgets, in Redis, the records of leases closed more than `retention_ms` ago (PostgreSQL
    /// keeps them): run now and then, it keeps Redis memory to what retries can still need.
    /// Returns how many it forgot.
    pub async fn forget_closed(&self, retention_ms: i64) -> Result<usize, ControllerError> {
        let before = self.now_ms() - retention_ms;
        let mut forgotten = 0;
        for campaign in pg::campaigns(&self.pool).await? {
            forgotten += self.store.forget_closed(campaign, before).await?;
        }
        Ok(forgotten)
    }

    /// Compares every campaign with leases on record, Redis against the ledger, and with `repair`
    /// replaces the Redis state of each campaign out of sync with the ledger's.
    pub async fn reconcile(&self, repair: bool) -> Result<Vec<CampaignDrift>, ControllerError> {
        let mut report = Vec::new();
        for campaign in pg::campaigns(&self.pool).await? {
            let (view, overcommitted) = self.ledger_view(campaign).await?;
            let redis = self.store.load(campaign).await?;
            let mut drift = CampaignDrift {
                campaign,
                ledger_budget: view.budget,
                ledger_remaining: view.remaining,
                ledger_spent: view.spent,
                ledger_open: view.open.len(),
                redis_budget: redis.as_ref().map(|r| r.budget),
                redis_remaining: redis.as_ref().map(|r| r.remaining),
                redis_spent: redis.as_ref().map(|r| r.spent),
                redis_open: redis.as_ref().map(|r| r.open.len()),
                overcommitted,
                repaired: false,
            };
            if repair && !drift.in_sync() {
                self.store.forget(campaign).await?;
                self.store.install(campaign, &view).await?;
                let detail = serde_json::to_value(&drift).unwrap_or_default();
                pg::log(&self.pool, campaign, "repair", Some(view.remaining), detail).await?;
                drift.repaired = true;
            }
            report.push(drift);
        }
        Ok(report)
    }
}
