//! Retries return the original; conflicting retries are refused and write nothing.

use ledger::{BatchMode, Error, Ledger, MIGRATOR, PostStatus, References, Rejection, TransferKind};
use sqlx::PgPool;

use crate::helpers::{
    advertiser, amount, assert_ledger_consistent, dec, posted, transfer, transfer_rows,
};

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_retry_returns_the_original_and_moves_nothing(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "100").await;
    let hold = transfer(&a.cash, &a.hold, "40", TransferKind::Hold);

    let first = ledger.transfer(hold.clone()).await.expect("first");
    assert_eq!(first.status, PostStatus::Created);
    let rows = transfer_rows(&pool).await;

    for _ in 0..3 {
        let again = ledger.transfer(hold.clone()).await.expect("retry");
        assert_eq!(again.status, PostStatus::AlreadyPosted);
        assert_eq!(
            again.transfer, first.transfer,
            "a retry gets the original back, seq and time included"
        );
    }
    assert_eq!(transfer_rows(&pool).await, rows);
    assert_eq!(posted(&pool, &a.cash).await, dec("60"));
    assert_eq!(posted(&pool, &a.hold).await, dec("40"));
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_conflicting_retry_is_refused_and_writes_nothing(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "100").await;
    let hold = transfer(&a.cash, &a.hold, "40", TransferKind::Hold);
    ledger.transfer(hold.clone()).await.expect("first");
    let rows = transfer_rows(&pool).await;

    let mut bigger = hold.clone();
    bigger.amount = amount("41");
    let mut other_kind = hold.clone();
    other_kind.kind = TransferKind::Withdrawal;
    other_kind.credit = a.world.id;
    let mut other_refs = hold.clone();
    other_refs.references = References {
        campaign: Some(a.campaign),
        ..References::default()
    };
    let mut other_meta = hold.clone();
    other_meta.metadata = serde_json::json!({"note": "changed"});

    for conflicting in [bigger, other_kind, other_refs, other_meta] {
        match ledger.transfer(conflicting).await {
            Err(Error::Rejected(Rejection::IdConflict { id })) => assert_eq!(id, hold.id),
            other => panic!("expected an id conflict, got {other:?}"),
        }
    }
    assert_eq!(transfer_rows(&pool).await, rows);
    assert_eq!(posted(&pool, &a.cash).await, dec("60"));
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_retried_batch_posts_nothing_twice(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "1000").await;
    let items: Vec<_> = (0..50)
        .map(|_| transfer(&a.cash, &a.hold, "1.5", TransferKind::Hold))
        .collect();

    let first = ledger
        .transfer_batch(&items, BatchMode::Independent)
        .await
        .expect("first");
    assert!(
        first
            .iter()
            .all(|r| matches!(r, Ok(p) if p.status == PostStatus::Created))
    );
    let second = ledger
        .transfer_batch(&items, BatchMode::Independent)
        .await
        .expect("second");
    for (a, b) in first.iter().zip(&second) {
        let (a, b) = (a.as_ref().expect("ok"), b.as_ref().expect("ok"));
        assert_eq!(b.status, PostStatus::AlreadyPosted);
        assert_eq!(a.transfer, b.transfer);
    }
    assert_eq!(posted(&pool, &a.hold).await, dec("75"));
    assert_eq!(transfer_rows(&pool).await, 51);
    assert_ledger_consistent(&pool).await;
}
