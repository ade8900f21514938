//! The budget controller on real Redis (single node and cluster) and real PostgreSQL: audit
//! trail, rebuild after Redis lost a campaign, the reaper, and reconciliation.

use std::sync::Arc;

use budget::{BudgetController, Installed, LeaseRules, RedisBudgetStore, Settlement, Want};
use chrono::{DateTime, Duration, Utc};
use ledger::{Amount, LeaseId, Ledger, MIGRATOR, ManualClock, Money, References, TransferKind};
use redis::aio::ConnectionLike;
use sqlx::PgPool;

use crate::redis_store::{cluster, single_node};
use ledger::fixtures::{Advertiser, advertiser, transfer};

const RULES: LeaseRules = LeaseRules {
    ttl_ms: 10_000,
    server_window_ms: 30_000,
};
/// The most one event costs in these tests.
const UNIT: i64 = 5_000;

/// A lease of `amount` paid per impression.
fn want(amount: i64) -> Want {
    Want::per_impression(amount, UNIT)
}
const GRACE_MS: i64 = 5_000;

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000, 0).expect("time")
}

/// An advertiser whose campaign holds `budget` (in currency units) in the ledger.
async fn funded_campaign(ledger: &Ledger, budget: &str) -> Advertiser {
    let a = advertiser(ledger, budget).await;
    ledger
        .transfer(transfer(&a.cash, &a.hold, budget, TransferKind::Hold))
        .await
        .expect("hold");
    a
}

/// Posts `micros` of spend for `lease` to the ledger, as the ledger writer will for served events.
async fn post_spend(ledger: &Ledger, a: &Advertiser, lease: LeaseId, micros: i64) {
    let amount = Amount::try_from(Money::from_micros(micros)).expect("positive");
    let mut t = transfer(&a.hold, &a.spend, "1", TransferKind::Spend);
    t.amount = amount;
    t.references = References {
        campaign: Some(a.campaign),
        lease: Some(lease),
        ..References::default()
    };
    ledger.transfer(t).await.expect("spend");
}

async fn lease_state(pool: &PgPool, lease: LeaseId) -> (String, Option<i64>, Option<i64>) {
    sqlx::query_as(
        "select state, granted_micros, spent_micros from budget_leases where lease_id = $1",
    )
    .bind(lease.0)
    .fetch_one(pool)
    .await
    .expect("lease row")
}

async fn log_actions(pool: &PgPool, lease: LeaseId) -> Vec<String> {
    sqlx::query_scalar("select action from budget_log where lease_id = $1 order by seq")
        .bind(lease.0)
        .fetch_all(pool)
        .await
        .expect("log")
}

/// The campaign's state in Redis.
async fn redis_state<C: ConnectionLike + Clone + Send + Sync>(
    controller: &BudgetController<C>,
    campaign: ledger::CampaignId,
) -> budget::CampaignBudget {
    controller
        .store()
        .load(campaign)
        .await
        .expect("load")
        .expect("state")
}

/// Reconciliation finds every campaign in sync.
async fn assert_in_sync<C: ConnectionLike + Clone + Send + Sync>(controller: &BudgetController<C>) {
    let report = controller.reconcile(false).await.expect("reconcile");
    assert!(report.iter().all(|d| d.in_sync()), "{report:?}");
}

async fn lifecycle<C: ConnectionLike + Clone + Send + Sync>(
    pool: PgPool,
    store: RedisBudgetStore<C>,
) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = Ledger::new(pool.clone());
    let a = funded_campaign(&ledger, "100").await; // 100,000,000 micros
    let controller = BudgetController::new(store, pool.clone(), RULES, GRACE_MS, clock.clone());

    // The first allocation finds no state in Redis and builds it from the ledger.
    let first = controller
        .allocate(a.campaign, "srv-1", want(3_000_000))
        .await
        .expect("allocate")
        .expect("granted");
    assert_eq!(first.amount, 3_000_000);
    assert_eq!(
        lease_state(&pool, first.lease).await,
        ("open".into(), Some(3_000_000), None)
    );
    assert_eq!(
        log_actions(&pool, first.lease).await,
        ["request", "allocate"]
    );

    let second = controller
        .allocate(a.campaign, "srv-2", want(2_000_000))
        .await
        .expect("allocate")
        .expect("granted");
    post_spend(&ledger, &a, first.lease, 1_250_000).await;
    assert_eq!(
        controller
            .settle(a.campaign, first.lease, 1_250_000)
            .await
            .expect("settle"),
        Settlement::Settled {
            returned: 1_750_000
        }
    );
    assert_eq!(
        controller
            .settle(a.campaign, first.lease, 1_250_000)
            .await
            .expect("again"),
        Settlement::AlreadySettled
    );
    assert_eq!(
        lease_state(&pool, first.lease).await,
        ("settled".into(), Some(3_000_000), Some(1_250_000))
    );
    let state = redis_state(&controller, a.campaign).await;
    assert_eq!(
        (state.budget, state.remaining, state.spent),
        (100_000_000, 96_750_000, 1_250_000)
    );
    assert!(state.is_consistent());
    assert_in_sync(&controller).await;

    // Redis loses the campaign: the next call notices and rebuilds before granting anything.
    controller.store().forget(a.campaign).await.expect("forget");
    let third = controller
        .allocate(a.campaign, "srv-3", want(1_000_000))
        .await
        .expect("allocate")
        .expect("granted");
    let state = redis_state(&controller, a.campaign).await;
    assert_eq!(state.spent, 1_250_000, "spend comes back from the ledger");
    assert!(state.open.contains_key(&second.lease) && state.open.contains_key(&third.lease));
    assert_eq!(
        state.remaining,
        100_000_000 - 1_250_000 - 2_000_000 - 1_000_000
    );
    assert!(state.is_consistent());
    let rebuilds: i64 = sqlx::query_scalar(
        "select count(*) from budget_log where action = 'rebuild' and campaign_id = $1",
    )
    .bind(a.campaign.0)
    .fetch_one(&pool)
    .await
    .expect("log");
    assert_eq!(rebuilds, 2, "one when first used, one after the loss");

    // srv-2 crashes after serving 400,000 that the ledger has recorded; the reaper waits for the
    // deadline and the grace period, then returns only the unspent part.
    post_spend(&ledger, &a, second.lease, 400_000).await;
    clock.advance(Duration::milliseconds(RULES.ttl_ms + GRACE_MS - 1));
    controller
        .renew(a.campaign, third.lease)
        .await
        .expect("srv-3 is alive and renews");
    assert_eq!(
        controller.reap().await.expect("reap"),
        0,
        "not yet past the grace period"
    );
    clock.advance(Duration::milliseconds(1));
    assert_eq!(controller.reap().await.expect("reap"), 1);
    assert_eq!(
        lease_state(&pool, second.lease).await,
        ("reaped".into(), Some(2_000_000), Some(400_000))
    );
    let state = redis_state(&controller, a.campaign).await;
    assert_eq!(state.spent, 1_650_000);
    assert!(
        state.open.contains_key(&third.lease),
        "a renewed lease is not reaped"
    );
    assert!(state.is_consistent());
    assert_in_sync(&controller).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn lifecycle_on_a_single_node(pool: PgPool) {
    lifecycle(pool, single_node().await).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn lifecycle_on_a_cluster(pool: PgPool) {
    lifecycle(pool, cluster().await).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn reconciliation_reports_drift_and_repairs_it(pool: PgPool) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = Ledger::new(pool.clone());
    let a = funded_campaign(&ledger, "50").await;
    let store = single_node().await;
    let controller = BudgetController::new(store.clone(), pool.clone(), RULES, GRACE_MS, clock);
    let grant = controller
        .allocate(a.campaign, "srv-1", want(1_000_000))
        .await
        .expect("allocate")
        .expect("granted");

    // Someone settles straight in Redis, behind the controller's back: Redis and the records part.
    store
        .settle(a.campaign, grant.lease, 0, 0)
        .await
        .expect("redis")
        .expect("settled");
    let report = controller.reconcile(false).await.expect("reconcile");
    let drift = report
        .iter()
        .find(|d| d.campaign == a.campaign)
        .expect("campaign");
    assert!(!drift.in_sync());
    assert_eq!(
        (drift.ledger_remaining, drift.redis_remaining),
        (49_000_000, Some(50_000_000))
    );
    assert!(!drift.repaired);

    let report = controller.reconcile(true).await.expect("repair");
    assert!(
        report
            .iter()
            .any(|d| d.campaign == a.campaign && d.repaired)
    );
    let report = controller.reconcile(false).await.expect("reconcile again");
    assert!(report.iter().all(|d| d.in_sync()), "{report:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_requests_are_refused_and_a_campaign_without_budget_is_named(pool: PgPool) {
    let clock = Arc::new(ManualClock::new(start()));
    let controller =
        BudgetController::new(single_node().await, pool.clone(), RULES, GRACE_MS, clock);
    let campaign = ledger::CampaignId::new();
    assert!(matches!(
        controller.allocate(campaign, "srv-1", want(0)).await,
        Err(budget::ControllerError::Invalid(_))
    ));
    assert!(matches!(
        controller.allocate(campaign, "srv 1|x", want(10)).await,
        Err(budget::ControllerError::Store(budget::StoreError::Invalid(
            _
        )))
    ));
    assert!(matches!(
        controller.allocate(campaign, "srv-1", want(10)).await,
        Err(budget::ControllerError::NoBudget(c)) if c == campaign
    ));
    let state: String =
        sqlx::query_scalar("select state from budget_leases where campaign_id = $1")
            .bind(campaign.0)
            .fetch_one(&pool)
            .await
            .expect("the request is on record");
    assert_eq!(state, "refused");
    assert_eq!(controller.reap().await.expect("nothing left to reap"), 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn forgotten_closes_are_answered_from_postgres(pool: PgPool) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = Ledger::new(pool.clone());
    let a = funded_campaign(&ledger, "5").await;
    let controller = BudgetController::new(
        single_node().await,
        pool.clone(),
        RULES,
        GRACE_MS,
        clock.clone(),
    );
    let grant = controller
        .allocate(a.campaign, "srv-1", want(1_000_000))
        .await
        .expect("allocate")
        .expect("granted");
    controller
        .settle(a.campaign, grant.lease, 300_000)
        .await
        .expect("settle");

    clock.advance(Duration::hours(2));
    assert_eq!(
        controller.forget_closed(3_600_000).await.expect("forget"),
        1
    );
    let state = redis_state(&controller, a.campaign).await;
    assert!(
        state.closed.is_empty(),
        "Redis keeps no record of old closes"
    );

    // A late retry still gets the right answer, from the lease records.
    assert_eq!(
        controller
            .settle(a.campaign, grant.lease, 300_000)
            .await
            .expect("retry"),
        Settlement::AlreadySettled
    );
    assert!(matches!(
        controller.settle(a.campaign, grant.lease, 300_001).await,
        Err(budget::ControllerError::Lease(
            budget::LeaseError::SettleConflict {
                recorded: 300_000,
                reported: 300_001
            }
        ))
    ));
    assert!(matches!(
        controller.settle(a.campaign, LeaseId::new(), 1).await,
        Err(budget::ControllerError::Lease(
            budget::LeaseError::UnknownLease
        ))
    ));
    let state = redis_state(&controller, a.campaign).await;
    assert_eq!(
        (state.remaining, state.spent),
        (4_700_000, 300_000),
        "nothing moved"
    );
}

/// The defect found in the demo: a new campaign with a budget of 1.00 whose first request asks
/// for 2.00. The request is recorded, Redis has no state yet, the rebuild counts the request at
/// what it asked (pending) and the retried allocation sizes it from what remains: a tenth of
/// the budget, never twice the budget.
async fn first_request_of_a_small_budget<C: ConnectionLike + Clone + Send + Sync>(
    pool: PgPool,
    store: RedisBudgetStore<C>,
) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = Ledger::new(pool.clone());
    let a = funded_campaign(&ledger, "1").await;
    let controller = BudgetController::new(store, pool.clone(), RULES, GRACE_MS, clock);
    let first = controller
        .allocate(a.campaign, "srv-1", Want::per_impression(2_000_000, 9_000))
        .await
        .expect("allocate")
        .expect("granted");
    assert_eq!(first.amount, 100_000);
    let state = redis_state(&controller, a.campaign).await;
    assert_eq!(
        (state.remaining, state.in_flight()),
        (900_000, 100_000),
        "{state:?}"
    );
    assert!(!state.open[&first.lease].pending);
    // every grant after it comes from what remains, until it is out and no more
    let mut granted = first.amount;
    while let Some(grant) = controller
        .allocate(a.campaign, "srv-1", Want::per_impression(2_000_000, 9_000))
        .await
        .expect("allocate")
    {
        granted += grant.amount;
    }
    // all of it but what cannot pay for one impression at its most
    assert!(
        granted <= 1_000_000 && granted > 1_000_000 - 9_000,
        "{granted}"
    );
    assert!(redis_state(&controller, a.campaign).await.is_consistent());
    assert_in_sync(&controller).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_first_request_of_a_small_budget_gets_a_tenth_on_a_single_node(pool: PgPool) {
    first_request_of_a_small_budget(pool, single_node().await).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_first_request_of_a_small_budget_gets_a_tenth_on_a_cluster(pool: PgPool) {
    first_request_of_a_small_budget(pool, cluster().await).await;
}

/// A budget change in the ledger reaches Redis through `refresh`: installed when Redis has no
/// state, resized in place (open leases and spend kept) when it has, and an older view applied
/// late changes nothing.
#[sqlx::test(migrator = "MIGRATOR")]
async fn budget_changes_are_installed_and_resized_in_order(pool: PgPool) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "100").await;
    let controller =
        BudgetController::new(single_node().await, pool.clone(), RULES, GRACE_MS, clock);
    ledger
        .transfer(transfer(&a.cash, &a.hold, "10", TransferKind::Hold))
        .await
        .expect("hold");
    assert_eq!(
        controller.refresh(a.campaign).await.expect("install"),
        Installed::New
    );
    assert_eq!(
        controller.refresh(a.campaign).await.expect("again"),
        Installed::Current
    );
    let before = redis_state(&controller, a.campaign).await;
    assert_eq!((before.budget, before.remaining), (10_000_000, 10_000_000));
    let grant = controller
        .allocate(a.campaign, "srv-1", want(500_000))
        .await
        .expect("allocate")
        .expect("granted");
    post_spend(&ledger, &a, grant.lease, 200_000).await;
    controller
        .settle(a.campaign, grant.lease, 200_000)
        .await
        .expect("settle");
    let open = controller
        .allocate(a.campaign, "srv-1", want(300_000))
        .await
        .expect("allocate")
        .expect("granted");
    // a new day: 5 more held
    ledger
        .transfer(transfer(&a.cash, &a.hold, "5", TransferKind::Hold))
        .await
        .expect("hold");
    assert_eq!(
        controller.refresh(a.campaign).await.expect("resize"),
        Installed::Resized
    );
    let state = redis_state(&controller, a.campaign).await;
    assert_eq!(
        (state.budget, state.remaining, state.spent),
        (15_000_000, 15_000_000 - 200_000 - 300_000, 200_000)
    );
    assert!(state.open.contains_key(&open.lease) && state.version > before.version);
    // a pause releases what is not leased
    ledger
        .transfer(transfer(&a.hold, &a.cash, "14.5", TransferKind::Release))
        .await
        .expect("release");
    assert_eq!(
        controller.refresh(a.campaign).await.expect("resize"),
        Installed::Resized
    );
    let state = redis_state(&controller, a.campaign).await;
    assert_eq!(
        (state.budget, state.remaining, state.in_flight()),
        (500_000, 0, 300_000)
    );
    assert!(state.is_consistent());
    assert_in_sync(&controller).await;
    let resizes: i64 = sqlx::query_scalar(
        "select count(*) from budget_log where action = 'resize' and campaign_id = $1",
    )
    .bind(a.campaign.0)
    .fetch_one(&pool)
    .await
    .expect("log");
    assert_eq!(resizes, 2);
}
