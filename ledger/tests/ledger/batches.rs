//! Batches: one result per item; linked batches are all-or-nothing.

use ledger::{BatchMode, Ledger, MIGRATOR, PostStatus, Rejection, TransferKind};
use sqlx::PgPool;

use crate::helpers::{advertiser, assert_ledger_consistent, dec, posted, transfer, transfer_rows};

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_independent_batch_reports_each_item(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "10").await;
    let ok = transfer(&a.cash, &a.hold, "6", TransferKind::Hold);
    let items = vec![
        ok.clone(),
        transfer(&a.cash, &a.hold, "6", TransferKind::Hold), // only 4 left
        transfer(&a.hold, &a.spend, "5", TransferKind::Spend),
        ok.clone(), // a repeat inside the batch
        transfer(&a.hold, &a.spend, "1.000001", TransferKind::Spend), // 1 left in the hold
    ];
    let results = ledger
        .transfer_batch(&items, BatchMode::Independent)
        .await
        .expect("batch");
    assert_eq!(results.len(), 5);
    assert!(matches!(&results[0], Ok(p) if p.status == PostStatus::Created));
    assert!(
        matches!(&results[1], Err(Rejection::InsufficientFunds { account, .. }) if *account == a.cash.id)
    );
    assert!(matches!(&results[2], Ok(p) if p.status == PostStatus::Created));
    match (&results[0], &results[3]) {
        (Ok(first), Ok(repeat)) => {
            assert_eq!(repeat.status, PostStatus::AlreadyPosted);
            assert_eq!(repeat.transfer, first.transfer);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&results[4], Err(Rejection::InsufficientFunds { account, .. }) if *account == a.hold.id)
    );
    assert_eq!(posted(&pool, &a.cash).await, dec("4"));
    assert_eq!(posted(&pool, &a.hold).await, dec("1"));
    assert_eq!(posted(&pool, &a.spend).await, dec("5"));
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_linked_batch_is_all_or_nothing(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "10").await;
    let rows = transfer_rows(&pool).await;
    let items = vec![
        transfer(&a.cash, &a.hold, "6", TransferKind::Hold),
        transfer(&a.hold, &a.spend, "6", TransferKind::Spend),
        transfer(&a.hold, &a.spend, "0.5", TransferKind::Spend), // hold has 0 left: refused
    ];
    let results = ledger
        .transfer_batch(&items, BatchMode::Linked)
        .await
        .expect("batch");
    assert_eq!(results[0], Err(Rejection::LinkedBatchFailed { failed: 2 }));
    assert_eq!(results[1], Err(Rejection::LinkedBatchFailed { failed: 2 }));
    assert!(matches!(
        results[2],
        Err(Rejection::InsufficientFunds { .. })
    ));
    assert_eq!(
        transfer_rows(&pool).await,
        rows,
        "nothing of a failed linked batch is written"
    );
    assert_eq!(posted(&pool, &a.cash).await, dec("10"));

    let fine = &items[..2];
    let results = ledger
        .transfer_batch(fine, BatchMode::Linked)
        .await
        .expect("batch");
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(posted(&pool, &a.spend).await, dec("6"));
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_large_batch_posts_in_one_go(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "10000").await;
    ledger
        .transfer(transfer(&a.cash, &a.hold, "10000", TransferKind::Hold))
        .await
        .expect("hold");
    // 5,000 impressions at a 2.50 CPM, each 0.0025
    let items: Vec<_> = (0..5000)
        .map(|_| transfer(&a.hold, &a.spend, "0.0025", TransferKind::Spend))
        .collect();
    let results = ledger
        .transfer_batch(&items, BatchMode::Independent)
        .await
        .expect("batch");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(p) if p.status == PostStatus::Created))
    );
    assert_eq!(posted(&pool, &a.spend).await, dec("12.5"));
    assert_eq!(posted(&pool, &a.hold).await, dec("9987.5"));
    assert_ledger_consistent(&pool).await;
}
