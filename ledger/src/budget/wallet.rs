//! The serving side of the budget controller: one campaign's leases as a serving instance holds
//! them. Spending is the hot path: an atomic compare-and-swap on the current lease, no lock and
//! no I/O, and never beyond what the instance holds. When the current lease runs low, a background
//! refiller asks the controller for the next one, so the request path never waits for the network;
//! spent-out leases are sealed and settled by the refiller too.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use redis::aio::ConnectionLike;
use tokio::sync::Notify;

use crate::budget::controller::{BudgetController, ControllerError, Grant};
use crate::budget::local_lease::LocalLease;
use crate::ids::{CampaignId, LeaseId};

/// Where a wallet gets and returns leases: the budget controller, or anything that speaks for it.
pub trait LeaseSource: Send + Sync {
    /// A new lease of up to `want`, or `None` when the budget is exhausted.
    fn allocate(
        &self,
        campaign: CampaignId,
        server: &str,
        want: i64,
    ) -> impl Future<Output = Result<Option<Grant>, ControllerError>> + Send;
    /// Closes a lease with what was spent of it.
    fn settle(
        &self,
        campaign: CampaignId,
        lease: LeaseId,
        spent: i64,
    ) -> impl Future<Output = Result<(), ControllerError>> + Send;
    /// Extends a lease's deadline.
    fn renew(
        &self,
        campaign: CampaignId,
        lease: LeaseId,
    ) -> impl Future<Output = Result<i64, ControllerError>> + Send;
}

impl<C> LeaseSource for BudgetController<C>
where
    C: ConnectionLike + Clone + Send + Sync,
{
    async fn allocate(
        &self,
        campaign: CampaignId,
        server: &str,
        want: i64,
    ) -> Result<Option<Grant>, ControllerError> {
        BudgetController::allocate(self, campaign, server, want).await
    }

    async fn settle(
        &self,
        campaign: CampaignId,
        lease: LeaseId,
        spent: i64,
    ) -> Result<(), ControllerError> {
        BudgetController::settle(self, campaign, lease, spent)
            .await
            .map(|_| ())
    }

    async fn renew(&self, campaign: CampaignId, lease: LeaseId) -> Result<i64, ControllerError> {
        BudgetController::renew(self, campaign, lease).await
    }
}

/// How a wallet sizes its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletRules {
    /// What to ask for each time.
    pub want: i64,
    /// Ask for the next lease once the current one has this little left.
    pub low_water: i64,
}

/// One campaign's budget held by one serving instance.
pub struct Wallet {
    campaign: CampaignId,
    server: String,
    rules: WalletRules,
    /// The lease being spent; an empty, sealed lease until the first grant arrives.
    current: ArcSwap<LocalLease>,
    /// The next lease, fetched ahead.
    next: ArcSwapOption<LocalLease>,
    /// Leases taken out of use, sealed, waiting to be settled.
    retired: Mutex<Vec<Arc<LocalLease>>>,
    /// The controller said the budget is exhausted; no more asking until told otherwise.
    exhausted: AtomicBool,
    /// Spends refused because nothing held could pay: demand the budget did not meet.
    refused: AtomicI64,
    wake: Notify,
}

impl Wallet {
    /// An empty wallet for `campaign`, held by `server`.
    pub fn new(campaign: CampaignId, server: &str, rules: WalletRules) -> Arc<Self> {
        let empty = LocalLease::new(LeaseId(uuid::Uuid::nil()), 0);
        empty.seal();
        Arc::new(Wallet {
            campaign,
            server: server.to_owned(),
            rules,
            current: ArcSwap::from_pointee(empty),
            next: ArcSwapOption::empty(),
            retired: Mutex::new(Vec::new()),
            exhausted: AtomicBool::new(false),
            refused: AtomicI64::new(0),
            wake: Notify::new(),
        })
    }

    /// The hot path: spends `price` from what this instance holds and names the lease that paid
    /// (events carry it, so the ledger attributes the spend), or `None`: no bid. Never waits and
    /// never spends beyond the leases held.
    pub fn try_spend(&self, price: i64) -> Option<LeaseId> {
        let current = self.current.load();
        if current.try_spend(price) {
            if current.is_low(self.rules.low_water) && self.next.load().is_none() {
                self.wake.notify_one();
            }
            return Some(current.id());
        }
        if let Some(next) = self.next.swap(None) {
            let old = self.current.swap(next);
            self.retire(old);
            self.wake.notify_one();
            let current = self.current.load();
            if current.try_spend(price) {
                return Some(current.id());
            }
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        self.wake.notify_one();
        None
    }

    fn retire(&self, lease: Arc<LocalLease>) {
        lease.seal();
        if lease.granted() > 0 {
            self.retired
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(lease);
        }
    }

    /// Asks the refiller for a round now (a new wallet fetching its first lease ahead of need).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Whether the controller has said the budget is exhausted and nothing held can pay.
    pub fn is_exhausted(&self) -> bool {
        self.exhausted.load(Ordering::Acquire) && self.next.load().is_none()
    }

    /// Spends refused for want of budget so far.
    pub fn refused(&self) -> i64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// What this instance holds and has not spent.
    pub fn unspent(&self) -> i64 {
        let current = self.current.load();
        let next = self.next.load();
        let held = if current.is_sealed() {
            0
        } else {
            current.unspent()
        };
        held + next.as_ref().map_or(0, |n| n.unspent())
    }

    /// One round of the refiller's work: settle retired leases, and fetch the next lease when
    /// the current one is low and none is waiting.
    pub async fn refill<S: LeaseSource>(&self, source: &S) -> Result<(), ControllerError> {
        let retired = std::mem::take(
            &mut *self
                .retired
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for lease in retired {
            if let Err(e) = source.settle(self.campaign, lease.id(), lease.seal()).await {
                // Put it back: it is settled on the next round (settling is idempotent).
                self.retired
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(lease);
                return Err(e);
            }
        }
        let current = self.current.load();
        let low = current.is_sealed() || current.is_low(self.rules.low_water);
        if low && self.next.load().is_none() && !self.exhausted.load(Ordering::Acquire) {
            match source
                .allocate(self.campaign, &self.server, self.rules.want)
                .await?
            {
                Some(grant) => self
                    .next
                    .store(Some(Arc::new(LocalLease::new(grant.lease, grant.amount)))),
                None => self.exhausted.store(true, Ordering::Release),
            }
        }
        Ok(())
    }

    /// Renews the leases held, so the reaper leaves them alone while they are in use.
    pub async fn renew<S: LeaseSource>(&self, source: &S) -> Result<(), ControllerError> {
        let current = self.current.load_full();
        if !current.is_sealed() {
            source.renew(self.campaign, current.id()).await?;
        }
        if let Some(next) = self.next.load_full() {
            source.renew(self.campaign, next.id()).await?;
        }
        Ok(())
    }

    /// Runs the refiller until `stop` is notified: refills when the hot path asks (or every
    /// `renew_every`, renewing the leases held), retrying after failures. Then settles everything.
    pub async fn run<S: LeaseSource>(
        self: Arc<Self>,
        source: Arc<S>,
        renew_every: Duration,
        stop: Arc<Notify>,
    ) {
        let mut renew_at = tokio::time::Instant::now() + renew_every;
        loop {
            tokio::select! {
                _ = stop.notified() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep_until(renew_at) => {
                    renew_at = tokio::time::Instant::now() + renew_every;
                    // Budget may have come back (a crashed server's lease reaped): ask again.
                    self.exhausted.store(false, Ordering::Release);
                    if let Err(e) = self.renew(source.as_ref()).await {
                        tracing::warn!(campaign = %self.campaign, error = %e, "renewing leases failed");
                    }
                }
            }
            if let Err(e) = self.refill(source.as_ref()).await {
                tracing::warn!(campaign = %self.campaign, error = %e, "refilling the wallet failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if let Err(e) = self.close(source.as_ref()).await {
            tracing::warn!(campaign = %self.campaign, error = %e, "settling leases on shutdown failed");
        }
    }

    /// Graceful shutdown: seals every lease held and settles it.
    pub async fn close<S: LeaseSource>(&self, source: &S) -> Result<(), ControllerError> {
        if let Some(next) = self.next.swap(None) {
            self.retire(next);
        }
        let empty = LocalLease::new(LeaseId(uuid::Uuid::nil()), 0);
        empty.seal();
        let current = self.current.swap(Arc::new(empty));
        self.retire(current);
        self.exhausted.store(true, Ordering::Release);
        self.refill(source).await
    }
}
