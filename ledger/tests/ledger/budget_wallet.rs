//! A wallet over the real budget controller (Redis and PostgreSQL): leases sized to the pace
//! the campaign spends at.

use std::sync::Arc;
use std::time::Duration;

use ledger::budget::{BudgetController, LeaseRules, Wallet, WalletRules};
use ledger::{Ledger, MIGRATOR, SystemClock, TransferKind};
use sqlx::PgPool;

use crate::budget_redis::single_node;
use crate::helpers::{advertiser, transfer};

const LEASES: LeaseRules = LeaseRules {
    ttl_ms: 60_000,
    server_window_ms: 30_000,
    max_price: 5_000,
};

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_campaign_that_spends_fast_gets_larger_leases(pool: PgPool) {
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
    let rules = WalletRules {
        want: 100_000,
        low_water: 25_000,
        max_want: 1_600_000,
        lease_life: Duration::from_secs(10),
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
