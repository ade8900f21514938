//! A wallet over the real budget controller (Redis and PostgreSQL): leases sized to the pace
//! the campaign spends at.

use std::sync::Arc;
use std::time::Duration;

use budget::{BudgetController, LeaseRules, Wallet, WalletRules};
use chrono::Utc;
use ledger::{Ledger, MIGRATOR, ManualClock, SystemClock, TransferKind};
use sqlx::PgPool;

use crate::redis_store::single_node;
use ledger::fixtures::{Advertiser, advertiser, transfer};

const LEASES: LeaseRules = LeaseRules {
    ttl_ms: 60_000,
    server_window_ms: 30_000,
};

type Controller = BudgetController<redis::aio::MultiplexedConnection>;

/// A campaign holding 100 units, and the controller over it.
async fn funded_campaign(pool: &PgPool) -> (Advertiser, Controller) {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "100").await;
    ledger
        .transfer(transfer(&a.cash, &a.hold, "100", TransferKind::Hold))
        .await
        .expect("hold");
    let controller = BudgetController::new(
        single_node().await,
        pool.clone(),
        LEASES,
        5_000,
        Arc::new(SystemClock),
    );
    (a, controller)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_campaign_that_spends_fast_gets_larger_leases(pool: PgPool) {
    let (a, controller) = funded_campaign(&pool).await;
    let rules = WalletRules {
        want: 100_000,
        low_water: 25_000,
        max_want: 1_600_000,
        lease_life: Duration::from_secs(10),
        spend_window: Duration::ZERO,
        unit: 1_000,
        per_click: false,
    };
    let wallet = Wallet::new(a.campaign, "srv-1", rules);
    // the first lease is the base size
    wallet.refill(&controller).await.expect("refill");
    assert_eq!(wallet.unspent(), 100_000);
    // 80% of it spent at once: at that pace a base-sized lease lasts a moment, so the next one
    // is as large as the rules allow
    for _ in 0..80 {
        assert!(wallet.try_spend(1_000).is_some());
    }
    wallet.refill(&controller).await.expect("refill");
    assert_eq!(wallet.unspent(), 20_000 + 1_600_000);
    // its low water grows with it: a quarter of the larger lease left is low
    for _ in 0..20 {
        assert!(wallet.try_spend(1_000).is_some());
    }
    assert!(
        wallet.try_spend(1_000).is_some(),
        "the next lease takes over"
    );
    assert_eq!(wallet.unspent(), 1_599_000);
    let spend = 1_600_000 - 400_000 - 1_000;
    assert!(wallet.try_spend(spend).is_some());
    assert_eq!(wallet.unspent(), 400_000);
    wallet.refill(&controller).await.expect("refill");
    assert!(
        wallet.unspent() > 400_000,
        "a new lease was fetched at a quarter left: {}",
        wallet.unspent()
    );
    wallet.close(&controller).await.expect("close");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_lease_not_renewed_in_time_is_sealed_and_settled_with_what_it_spent(pool: PgPool) {
    let (a, controller) = funded_campaign(&pool).await;
    let rules = WalletRules {
        spend_window: Duration::from_millis(200),
        ..WalletRules::fixed(100_000, 25_000, 1_000)
    };
    // the wallet's own clock, moved by hand: its spend windows are measured on it
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let wallet = Wallet::with_clock(a.campaign, "srv-1", rules, clock.clone());
    wallet.refill(&controller).await.expect("refill");
    let lease = wallet.try_spend(1_000).expect("spends within its window");
    assert_eq!(wallet.expire_overdue(), 0, "the window is still open");
    // a renewal keeps it open
    clock.advance(chrono::Duration::milliseconds(120));
    wallet.renew(&controller).await.expect("renew");
    clock.advance(chrono::Duration::milliseconds(120));
    assert_eq!(wallet.expire_overdue(), 0, "renewed 120 ms ago");
    assert!(wallet.try_spend(1_000).is_some());
    // no renewal through the window: nothing more is spent from it, even before the refiller
    // seals it
    clock.advance(chrono::Duration::milliseconds(220));
    assert_eq!(wallet.try_spend(1_000), None, "past its window, unsealed");
    assert_eq!(wallet.expire_overdue(), 1);
    assert_eq!(wallet.try_spend(1_000), None);
    assert_eq!(wallet.unspent(), 0);
    // the refiller settles it with what it spent and asks for a new lease
    wallet.refill(&controller).await.expect("refill");
    let (state, spent): (String, Option<i64>) =
        sqlx::query_as("select state, spent_micros from budget_leases where lease_id = $1")
            .bind(lease.0)
            .fetch_one(&pool)
            .await
            .expect("lease");
    assert_eq!((state.as_str(), spent), ("settled", Some(2_000)));
    assert_eq!(wallet.unspent(), 100_000, "a fresh lease");
    wallet.close(&controller).await.expect("close");
}
