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
use chrono::{DateTime, Utc};
use ledger::{Clock, MonotonicClock};
use redis::aio::ConnectionLike;
use tokio::sync::Notify;

use crate::campaign::Want;
use crate::controller::{BudgetController, ControllerError, Grant};
use crate::local_lease::LocalLease;
use ledger::ids::{CampaignId, LeaseId};

/// How soon a wallet asks again after the controller said the budget is exhausted (doubling
/// each time it still is).
const EXHAUSTED_RETRY: Duration = Duration::from_secs(1);

/// Where a wallet gets and returns leases: the budget controller, or anything that speaks for it.
pub trait LeaseSource: Send + Sync {
    /// A new lease of up to `want.amount`, or `None` when the budget is exhausted.
    fn allocate(
        &self,
        campaign: CampaignId,
        server: &str,
        want: Want,
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
        want: Want,
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
    /// What to ask for each time, at least.
    pub want: i64,
    /// Ask for the next lease once the current one has this little left (a lease larger than
    /// `want`, in proportion).
    pub low_water: i64,
    /// The most to ask for at once, however fast the campaign spends.
    pub max_want: i64,
    /// How long a lease should last at the rate the last one was spent (zero: every lease is
    /// `want`). A campaign that spends fast asks for more at a time, so it goes back to the
    /// controller about as often as a slow one.
    pub lease_life: Duration,
    /// How long after it was asked for (granted, or last renewed) a lease may be spent; then the
    /// wallet seals it unless a renewal came through (zero: no limit). Set a little under the
    /// controller's time to live: a wallet cut off from the controller then stops spending
    /// before the reaper can give the lease's budget to anyone else.
    pub spend_window: Duration,
    /// The most one impression of the campaign costs the lease: the smallest useful grant.
    pub unit: i64,
    /// The campaign pays per click (see [`Want::per_click`]).
    pub per_click: bool,
}

impl WalletRules {
    /// Leases of `want` each, asked for again when `low_water` is left, for events of at most
    /// `unit` each paid per impression.
    pub fn fixed(want: i64, low_water: i64, unit: i64) -> WalletRules {
        WalletRules {
            want,
            low_water,
            max_want: want,
            lease_life: Duration::ZERO,
            spend_window: Duration::ZERO,
            unit,
            per_click: false,
        }
    }
}

/// What to ask for next, pure: enough for `rules.lease_life` at the rate the current lease is
/// being spent (`granted - unspent` in `age`), between `rules.want` and `rules.max_want`.
pub fn sized_want(rules: &WalletRules, granted: i64, unspent: i64, age: Duration) -> i64 {
    let spent = i128::from((granted - unspent).max(0));
    let age_us = i128::try_from(age.as_micros()).unwrap_or(i128::MAX);
    let life_us = i128::try_from(rules.lease_life.as_micros()).unwrap_or(i128::MAX);
    let ceiling = rules.max_want.max(rules.want);
    if spent == 0 || age_us == 0 || life_us == 0 {
        return rules.want;
    }
    let at_rate = spent.saturating_mul(life_us) / age_us;
    i64::try_from(at_rate)
        .unwrap_or(i64::MAX)
        .clamp(rules.want, ceiling)
}

/// One campaign's budget held by one serving instance.
pub struct Wallet {
    campaign: CampaignId,
    server: String,
    rules: WalletRules,
    /// The lease being spent; an empty, sealed lease until the first grant arrives.
    current: ArcSwap<LocalLease>,
    /// When the current lease came into use, microseconds after `created`.
    current_since_us: AtomicI64,
    /// Where the wallet reads the time (spend windows are measured on it), and when it was made.
    clock: Arc<dyn Clock>,
    created: DateTime<Utc>,
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
    /// An empty wallet for `campaign`, held by `server`, measuring its leases' spend windows on
    /// the monotonic clock (a step of the wall clock neither closes nor stretches them).
    pub fn new(campaign: CampaignId, server: &str, rules: WalletRules) -> Arc<Self> {
        Wallet::with_clock(campaign, server, rules, Arc::new(MonotonicClock::new()))
    }

    /// An empty wallet for `campaign`, held by `server`, measuring its leases' spend windows on
    /// `clock` (a test's manual clock).
    pub fn with_clock(
        campaign: CampaignId,
        server: &str,
        rules: WalletRules,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let empty = LocalLease::new(LeaseId(uuid::Uuid::nil()), 0);
        empty.seal();
        Arc::new(Wallet {
            campaign,
            server: server.to_owned(),
            rules,
            current: ArcSwap::from_pointee(empty),
            current_since_us: AtomicI64::new(0),
            created: clock.now(),
            clock,
            next: ArcSwapOption::empty(),
            retired: Mutex::new(Vec::new()),
            exhausted: AtomicBool::new(false),
            refused: AtomicI64::new(0),
            wake: Notify::new(),
        })
    }

    /// The hot path: spends `price` from what this instance holds and names the lease that paid
    /// (events carry it, so the ledger attributes the spend), or `None`: no bid. Never waits and
    /// never spends beyond the leases held, nor from a lease past its spend window (even before
    /// the refiller, which may be late on a busy machine, has sealed it).
    pub fn try_spend(&self, price: i64) -> Option<LeaseId> {
        let current = self.current.load();
        if self.open(&current) && current.try_spend(price) {
            if current.is_low(self.low_water(&current)) && self.next.load().is_none() {
                self.wake.notify_one();
            }
            return Some(current.id());
        }
        if let Some(next) = self.next.swap(None) {
            let old = self.current.swap(next);
            self.current_since_us
                .store(self.micros_since_created(), Ordering::Relaxed);
            self.retire(old);
            self.wake.notify_one();
            let current = self.current.load();
            if self.open(&current) && current.try_spend(price) {
                return Some(current.id());
            }
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        self.wake.notify_one();
        None
    }

    /// Whether `lease` is still within its spend window (a clock read only when it has one).
    fn open(&self, lease: &LocalLease) -> bool {
        let until = lease.valid_until_us();
        until == i64::MAX || self.micros_since_created() < until
    }

    /// The current lease is low with this little left: the rules' low water, scaled with a
    /// lease larger than the base size (the same share of it as of a base-sized lease).
    fn low_water(&self, lease: &LocalLease) -> i64 {
        let (want, granted) = (self.rules.want.max(1), lease.granted());
        if granted <= want {
            return self.rules.low_water;
        }
        let scaled = i128::from(self.rules.low_water) * i128::from(granted) / i128::from(want);
        i64::try_from(scaled).unwrap_or(i64::MAX)
    }

    fn micros_since_created(&self) -> i64 {
        (self.clock.now() - self.created)
            .num_microseconds()
            .unwrap_or(i64::MAX)
    }

    /// Until when a lease asked for (or renewed) at `asked_us` may be spent.
    fn valid_until(&self, asked_us: i64) -> i64 {
        if self.rules.spend_window.is_zero() {
            return i64::MAX;
        }
        let window = i64::try_from(self.rules.spend_window.as_micros()).unwrap_or(i64::MAX);
        asked_us.saturating_add(window)
    }

    /// Seals and retires the leases held past their spend window (their renewal did not come
    /// through in time): from then on they pay for nothing, and are settled with what they
    /// spent. The refiller calls it when a window closes; returns how many it sealed.
    pub fn expire_overdue(&self) -> usize {
        let now = self.micros_since_created();
        let mut sealed = 0;
        if self
            .next
            .load()
            .as_ref()
            .is_some_and(|n| n.valid_until_us() <= now)
            && let Some(next) = self.next.swap(None)
        {
            self.retire(next);
            sealed += 1;
        }
        let current = self.current.load_full();
        if !current.is_sealed() && current.valid_until_us() <= now {
            let empty = LocalLease::new(LeaseId(uuid::Uuid::nil()), 0);
            empty.seal();
            let old = self.current.swap(Arc::new(empty));
            self.retire(old);
            sealed += 1;
        }
        sealed
    }

    /// When the first spend window of the leases held closes.
    fn next_expiry(&self) -> Option<tokio::time::Instant> {
        let current = self.current.load();
        let until = [
            (!current.is_sealed()).then(|| current.valid_until_us()),
            self.next.load().as_ref().map(|n| n.valid_until_us()),
        ]
        .into_iter()
        .flatten()
        .filter(|us| *us < i64::MAX)
        .min()?;
        let left = until.saturating_sub(self.micros_since_created());
        Some(tokio::time::Instant::now() + Duration::from_micros(u64::try_from(left).unwrap_or(0)))
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
        let mut retired = retired.into_iter();
        while let Some(lease) = retired.next() {
            if let Err(e) = source.settle(self.campaign, lease.id(), lease.seal()).await {
                // Put it back with every lease not tried yet: they are settled on the next
                // round (settling is idempotent) rather than left for the reaper.
                self.retired
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .extend(std::iter::once(lease).chain(retired));
                return Err(e);
            }
        }
        let current = self.current.load();
        let low = current.is_sealed() || current.is_low(self.low_water(&current));
        if low && self.next.load().is_none() && !self.exhausted.load(Ordering::Acquire) {
            let age_us =
                self.micros_since_created() - self.current_since_us.load(Ordering::Relaxed);
            let want = sized_want(
                &self.rules,
                current.granted(),
                current.unspent(),
                Duration::from_micros(u64::try_from(age_us).unwrap_or(0)),
            );
            let asked = self.micros_since_created();
            let want = Want {
                amount: want,
                unit: self.rules.unit,
                per_click: self.rules.per_click,
            };
            match source.allocate(self.campaign, &self.server, want).await? {
                Some(grant) => {
                    let lease = LocalLease::new(grant.lease, grant.amount);
                    lease.set_valid_until_us(self.valid_until(asked));
                    self.next.store(Some(Arc::new(lease)));
                }
                None => {
                    self.exhausted.store(true, Ordering::Release);
                    self.give_back_dust();
                }
            }
        }
        Ok(())
    }

    /// The budget is exhausted: a current lease left with less than one event's worth can pay
    /// for nothing more, so it is sealed and settled on the next round. Its crumbs go back to
    /// the pool, where together with others they may pay for an event, and a per-click lease's
    /// count can follow its clicks once it is closed.
    fn give_back_dust(&self) {
        let current = self.current.load();
        if !current.is_sealed() && current.unspent() < self.rules.unit {
            let empty = LocalLease::new(LeaseId(uuid::Uuid::nil()), 0);
            empty.seal();
            let old = self.current.swap(Arc::new(empty));
            self.retire(old);
            self.wake.notify_one();
        }
    }

    /// Renews the leases held, so the reaper leaves them alone while they are in use.
    pub async fn renew<S: LeaseSource>(&self, source: &S) -> Result<(), ControllerError> {
        let current = self.current.load_full();
        if !current.is_sealed() {
            let asked = self.micros_since_created();
            source.renew(self.campaign, current.id()).await?;
            current.set_valid_until_us(self.valid_until(asked));
        }
        if let Some(next) = self.next.load_full() {
            let asked = self.micros_since_created();
            source.renew(self.campaign, next.id()).await?;
            next.set_valid_until_us(self.valid_until(asked));
        }
        Ok(())
    }

    /// Runs the refiller until `stop` is notified: refills when the hot path asks (or every
    /// `renew_every`, renewing the leases held), retrying after failures. Once the controller
    /// has said the budget is exhausted it asks again after a second, then after twice as long
    /// each time, up to `renew_every`: budget comes back (leases settled or reaped, a CPC
    /// campaign's unclicked impressions counted out) and is delivered, while a campaign that
    /// stays spent costs the controller little. Then settles everything.
    pub async fn run<S: LeaseSource>(
        self: Arc<Self>,
        source: Arc<S>,
        renew_every: Duration,
        stop: Arc<Notify>,
    ) {
        let mut renew_at = tokio::time::Instant::now() + renew_every;
        let mut backoff = EXHAUSTED_RETRY.min(renew_every);
        let mut retry_at: Option<tokio::time::Instant> = None;
        loop {
            let expiry = self.next_expiry();
            tokio::select! {
                _ = stop.notified() => break,
                _ = self.wake.notified() => {}
                // the budget was exhausted a while ago: ask again
                _ = async { tokio::time::sleep_until(retry_at.unwrap_or(renew_at)).await }, if retry_at.is_some() => {
                    retry_at = None;
                    self.exhausted.store(false, Ordering::Release);
                }
                // a spend window closed without a renewal: stop spending that lease
                _ = async { tokio::time::sleep_until(expiry.unwrap_or(renew_at)).await }, if expiry.is_some() => {
                    if self.expire_overdue() > 0 {
                        tracing::warn!(campaign = %self.campaign, "leases sealed: their renewal did not come through in time");
                    }
                }
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
            if !self.exhausted.load(Ordering::Acquire) {
                backoff = EXHAUSTED_RETRY.min(renew_every);
            } else if retry_at.is_none() {
                retry_at = Some(tokio::time::Instant::now() + backoff);
                backoff = (backoff * 2).min(renew_every);
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

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: WalletRules = WalletRules {
        want: 2_000_000,
        low_water: 500_000,
        max_want: 32_000_000,
        lease_life: Duration::from_secs(30),
        spend_window: Duration::ZERO,
        unit: 5_000,
        per_click: false,
    };

    #[test]
    fn a_lease_lasts_its_life_at_the_rate_the_last_was_spent() {
        // 1.5 of 2 spent in 3 s: 0.5 a second, 15 for 30 s
        let want = sized_want(&RULES, 2_000_000, 500_000, Duration::from_secs(3));
        assert_eq!(want, 15_000_000);
    }

    #[test]
    fn the_size_stays_between_the_base_and_the_ceiling() {
        // slow: the base
        assert_eq!(
            sized_want(&RULES, 2_000_000, 500_000, Duration::from_secs(600)),
            2_000_000
        );
        // very fast: the ceiling
        assert_eq!(
            sized_want(&RULES, 2_000_000, 0, Duration::from_millis(10)),
            32_000_000
        );
        // nothing spent yet, no time passed, or fixed rules: the base
        assert_eq!(
            sized_want(&RULES, 2_000_000, 2_000_000, Duration::from_secs(1)),
            2_000_000
        );
        assert_eq!(sized_want(&RULES, 2_000_000, 0, Duration::ZERO), 2_000_000);
        let fixed = WalletRules::fixed(2_000_000, 500_000, 5_000);
        assert_eq!(
            sized_want(&fixed, 2_000_000, 0, Duration::from_millis(10)),
            2_000_000
        );
    }

    /// Settles fail while `failing` is set; every lease settled is recorded.
    #[derive(Default)]
    struct Settles {
        failing: AtomicBool,
        settled: Mutex<Vec<(LeaseId, i64)>>,
    }

    impl LeaseSource for Settles {
        async fn allocate(
            &self,
            _: CampaignId,
            _: &str,
            _: Want,
        ) -> Result<Option<Grant>, ControllerError> {
            Ok(None)
        }

        async fn settle(
            &self,
            _: CampaignId,
            lease: LeaseId,
            spent: i64,
        ) -> Result<(), ControllerError> {
            if self.failing.load(Ordering::Relaxed) {
                return Err(ControllerError::Invalid("away".into()));
            }
            self.settled.lock().expect("settled").push((lease, spent));
            Ok(())
        }

        async fn renew(&self, _: CampaignId, _: LeaseId) -> Result<i64, ControllerError> {
            Ok(0)
        }
    }

    #[tokio::test]
    async fn leases_whose_settle_failed_are_all_settled_on_the_next_round() {
        let wallet = Wallet::new(CampaignId(uuid::Uuid::now_v7()), "srv-1", RULES);
        let leases: Vec<_> = (1..=3)
            .map(|n| {
                let lease = Arc::new(LocalLease::new(LeaseId(uuid::Uuid::now_v7()), 1_000));
                assert!(lease.try_spend(n * 100));
                wallet.retire(lease.clone());
                lease.id()
            })
            .collect();
        let source = Settles::default();
        source.failing.store(true, Ordering::Relaxed);
        assert!(wallet.refill(&source).await.is_err());
        source.failing.store(false, Ordering::Relaxed);
        wallet.refill(&source).await.expect("the next round");
        let mut settled = source.settled.lock().expect("settled").clone();
        settled.sort_by_key(|(_, spent)| *spent);
        assert_eq!(
            settled,
            vec![(leases[0], 100), (leases[1], 200), (leases[2], 300)]
        );
    }
}
