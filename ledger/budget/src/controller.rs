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

use crate::campaign::{
    Adjusted, Allocation, CampaignBudget, ClosedLease, Closure, LeaseError, LeaseRules, OpenLease,
    Settlement, Want,
};
use crate::redis_store::{Installed, Reaped, RedisBudgetStore, StoreError};
use crate::store as pg;
use ledger::clock::Clock;
use ledger::ids::{CampaignId, LeaseId};

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
    Ledger(#[from] ledger::error::Error),
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

/// How many times an install claims, reads and installs before it gives up (another rebuild
/// holding the claim, or Redis losing the campaign again meanwhile).
const INSTALL_ATTEMPTS: u64 = 25;

/// Most per-click leases one true-up pass looks at.
const TRUE_UP_BATCH: i64 = 1000;

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

    /// The clock the controller reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
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
        let most = crate::redis_store::MAX_BUDGET_MICROS;
        if want.amount <= 0 || want.amount > most || want.unit > most {
            return Err(ControllerError::Invalid(format!(
                "want must be positive and at most {most} micros, got {want:?}"
            )));
        }
        crate::redis_store::check_server(server)?;
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
                // A rebuild between the answer and its record made the request pending there
                // (PostgreSQL still had it unanswered): its reservation goes back.
                if let Err(e) = self.store.release_pending(campaign, lease).await {
                    tracing::warn!(lease = %lease.0, error = %e,
                        "a refused request's reservation could not be checked in Redis");
                }
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
            Settlement::AlreadySettled => return Ok(answer),
        }
        // A rebuild between the settle in Redis and its record in PostgreSQL put the lease back
        // open (PostgreSQL still said so): settled once more, it is closed there too. Otherwise
        // this finds it settled already and changes nothing. (The settle itself is done: a
        // failure here is only logged.)
        let confirmed = self
            .with_state(campaign, || self.store.settle(campaign, lease, spent, now))
            .await;
        if let Err(e) = confirmed {
            tracing::warn!(lease = %lease.0, error = %e, "a settle could not be confirmed in Redis");
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
            let mut conn = self.pool.acquire().await.map_err(ledger::Error::from)?;
            let spent = ledger::reads::spend_by_lease(&mut conn, &ids).await?;
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
                    // (a per-click lease's grant in Redis may have grown with its clicks; its
                    // record keeps the grant it had, and its count follows the clicks)
                    Reaped::Closed { returned, granted } => {
                        let spent = granted - returned;
                        (granted, spent.min(lease.granted.unwrap_or(granted)))
                    }
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
                // as after a settle: closed in Redis too if a rebuild put it back open meanwhile
                self.store
                    .reap(
                        lease.campaign,
                        lease.lease,
                        ledger_spent,
                        now,
                        self.grace_ms,
                    )
                    .await
                    .ok();
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
        let mut tx = self.pool.begin().await.map_err(ledger::Error::from)?;
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await
            .map_err(ledger::Error::from)?;
        let budget = ledger::reads::hold_budget(&mut tx, campaign)
            .await?
            .ok_or(ControllerError::NoBudget(campaign))?;
        let unsettled = pg::unsettled_of(&mut tx, campaign).await?;
        let ids: Vec<LeaseId> = unsettled.iter().map(|l| l.lease).collect();
        let spend = ledger::reads::spend_by_lease(&mut tx, &ids).await?;
        let mut open = BTreeMap::new();
        let mut in_open = 0;
        for lease in unsettled {
            let billed = spend.get(&lease.lease).copied().unwrap_or(0);
            in_open += billed;
            let deadline_ms = lease
                .deadline_ms
                .unwrap_or(lease.created_ms + self.rules.ttl_ms);
            open.insert(
                lease.lease,
                OpenLease {
                    server: lease.server,
                    // A request whose answer was not recorded may have been granted up to what
                    // it asked: counted at that, pending (never handed out on that count). A
                    // per-click lease holds at least what its clicks billed already.
                    granted: lease.granted.unwrap_or(lease.want).max(billed),
                    deadline_ms,
                    pending: lease.granted.is_none(),
                },
            );
        }
        let unbilled = pg::reported_unbilled(&mut tx, campaign).await?;
        let clicks = pg::click_leases_of(&mut tx, campaign).await?;
        tx.commit().await.map_err(ledger::Error::from)?;
        let (mut state, overcommitted) = CampaignBudget::rebuilt(
            budget.total,
            budget.version,
            budget.spent - in_open + unbilled,
            open,
        );
        // Per-click leases whose clicks may still come keep their record (at what the rebuild
        // counted for them), so that their count can still be adjusted.
        for lease in clicks {
            let closed = ClosedLease {
                granted: lease.granted,
                spent: lease.counted.max(lease.clicked),
                closure: Closure::Counted,
                closed_ms: lease.closed_ms,
            };
            state.closed.insert(lease.lease, closed);
        }
        Ok((state, overcommitted))
    }

    /// Counts per-click leases by their clicks (billed, or refused by the ledger beyond the
    /// budget: delivered all the same). While a closed per-click lease's click window is open,
    /// it counts what its server reported (the impressions' expected cost) or what its clicks
    /// came to, whichever is more; once `click_window_ms` has passed since it closed, what its
    /// clicks came to alone: the unclicked part goes back to the pool. An open per-click lease
    /// whose clicks already came to more than its grant holds at least that. Runs over batches
    /// of leases, each locked while it is adjusted, so instances can run it side by side;
    /// returns how many closed leases' counts moved.
    pub async fn true_up(&self, click_window_ms: i64) -> Result<usize, ControllerError> {
        let now = self.now_ms();
        // Open leases whose clicks already exceed their grant hold at least what they came to.
        for (lease, campaign, clicked) in pg::open_click_leases_over_grant(&self.pool).await? {
            self.with_state(campaign, || self.store.adjust(campaign, lease, clicked))
                .await??;
        }
        let (mut moved, mut after) = (0, None);
        loop {
            let (batch, more) = self.true_up_batch(now, click_window_ms, after).await?;
            moved += batch;
            match more {
                Some(last) => after = Some(last),
                None => return Ok(moved),
            }
        }
    }

    /// One batch of [`BudgetController::true_up`] in one transaction: how many counts moved,
    /// and the last lease when the batch was full.
    async fn true_up_batch(
        &self,
        now: i64,
        click_window_ms: i64,
        after: Option<LeaseId>,
    ) -> Result<(usize, Option<LeaseId>), ControllerError> {
        let mut tx = self.pool.begin().await.map_err(ledger::Error::from)?;
        let leases = pg::lock_click_leases(&mut tx, after, TRUE_UP_BATCH).await?;
        let mut moved = 0;
        let mut last_counts = Vec::new();
        for lease in &leases {
            let last = lease.closed_ms.saturating_add(click_window_ms) <= now;
            let counted = if last {
                lease.clicked
            } else {
                lease.reported.max(lease.clicked)
            };
            // The last count is set in Redis whatever PostgreSQL recorded before: a server that
            // settled in Redis and died before PostgreSQL heard of it left the two apart.
            if counted != lease.counted || last {
                let adjusted = self
                    .with_state(lease.campaign, || {
                        self.store.adjust(lease.campaign, lease.lease, counted)
                    })
                    .await?;
                match adjusted {
                    Ok(Adjusted::Changed { .. }) => moved += 1,
                    Ok(Adjusted::Unchanged) => {}
                    Ok(Adjusted::Gone) | Err(_) => {
                        tracing::warn!(lease = %lease.lease.0, ?adjusted,
                        "a per-click lease's count could not be adjusted in Redis")
                    }
                }
            }
            if counted != lease.counted || last {
                pg::counted(&mut tx, lease, counted, last).await?;
            }
            if last {
                last_counts.push((lease, counted));
            }
        }
        tx.commit().await.map_err(ledger::Error::from)?;
        // As after a settle: a rebuild while the batch was under way read the counts from
        // before it, and the last count of a lease is never looked at again; set once more.
        for (lease, counted) in &last_counts {
            if let Err(e) = self
                .store
                .adjust(lease.campaign, lease.lease, *counted)
                .await
            {
                tracing::warn!(lease = %lease.lease.0, error = %e,
                    "a per-click lease's last count could not be confirmed in Redis");
            }
        }
        let full = leases.len() as i64 == TRUE_UP_BATCH;
        Ok((moved, leases.last().filter(|_| full).map(|l| l.lease)))
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

    /// Reads the campaign's view of the ledger and installs it in Redis (or resizes what is
    /// there), under a claim taken before the read: if Redis loses the campaign again while the
    /// view is read, the claim goes with it and the view, which may miss grants made on the
    /// state in between, is read again rather than installed.
    async fn install_from_ledger(
        &self,
        campaign: CampaignId,
        action: &str,
    ) -> Result<(Installed, i64), ControllerError> {
        for attempt in 0..INSTALL_ATTEMPTS {
            let Some(claim) = self.store.claim_install(campaign).await? else {
                // another rebuild is under way: give it a moment, and its state will do
                tokio::time::sleep(std::time::Duration::from_millis(2 + attempt * 4)).await;
                if action == "rebuild" && self.store.exists(campaign).await? {
                    return Ok((Installed::Current, 0));
                }
                continue;
            };
            let (state, overcommitted) = self.ledger_view(campaign).await?;
            let installed = self.store.install_claimed(campaign, &state, &claim).await?;
            let action = match installed {
                Installed::Stale => continue,
                Installed::Current => return Ok((installed, overcommitted)),
                Installed::New => action,
                Installed::Resized => "resize",
            };
            self.log_install(campaign, action, installed, &state, overcommitted)
                .await?;
            return Ok((installed, overcommitted));
        }
        Err(StoreError::Missing(campaign).into())
    }

    async fn log_install(
        &self,
        campaign: CampaignId,
        action: &str,
        installed: Installed,
        state: &CampaignBudget,
        overcommitted: i64,
    ) -> Result<(), ControllerError> {
        let detail = serde_json::json!({
            "budget": state.budget, "version": state.version, "remaining": state.remaining,
            "spent": state.spent, "open": state.open.len(), "overcommitted": overcommitted,
        });
        let amount = match installed {
            Installed::Resized => state.budget,
            _ => state.remaining,
        };
        pg::log(&self.pool, campaign, action, Some(amount), detail).await?;
        Ok(())
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
            let mut drift = self.drift(campaign).await?;
            if repair && !drift.in_sync() {
                self.store.forget(campaign).await?;
                self.install_from_ledger(campaign, "repair").await?;
                drift.repaired = true;
            }
            report.push(drift);
        }
        Ok(report)
    }

    /// One campaign's state in Redis beside the ledger's (a campaign with no hold account is
    /// [`ControllerError::NoBudget`]).
    pub async fn drift(&self, campaign: CampaignId) -> Result<CampaignDrift, ControllerError> {
        let (view, overcommitted) = self.ledger_view(campaign).await?;
        let redis = self.store.load(campaign).await?;
        Ok(CampaignDrift {
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
        })
    }
}
