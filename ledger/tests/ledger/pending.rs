//! Two-phase transfers: reserve, then post (all or part), void or expire, each at most once.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ledger::{
    Error, Ledger, MIGRATOR, ManualClock, NewPending, PendingState, Rejection, Reservation,
    TransferKind,
};
use sqlx::PgPool;

use crate::helpers::{
    Advertiser, advertiser, amount, assert_ledger_consistent, dec, posted, transfer,
};

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000, 0).expect("time")
}

async fn reserve(ledger: &Ledger, a: &Advertiser, amt: &str, clock: &ManualClock) -> Reservation {
    let request = NewPending {
        transfer: transfer(&a.cash, &a.hold, amt, TransferKind::Hold),
        expires_at: ledger::Clock::now(clock) + Duration::seconds(60),
    };
    ledger.reserve(request).await.expect("reserve")
}

async fn reserved(pool: &PgPool, account: i64) -> rust_decimal::Decimal {
    sqlx::query_scalar("select reserved from ledger_accounts where id = $1")
        .bind(account)
        .fetch_one(pool)
        .await
        .expect("reserved")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn reserve_then_post_part_releases_the_rest(pool: PgPool) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = Ledger::new(pool.clone()).with_clock(clock.clone());
    let a = advertiser(&ledger, "100").await;
    let r = reserve(&ledger, &a, "30", &clock).await;
    assert!(r.created);
    assert_eq!(reserved(&pool, a.cash.id.0).await, dec("30"));
    // the reservation counts against the floor at once
    assert!(matches!(
        ledger
            .transfer(transfer(&a.cash, &a.hold, "70.000001", TransferKind::Hold))
            .await,
        Err(Error::Rejected(Rejection::InsufficientFunds { .. }))
    ));

    let posted_now = ledger
        .post_pending(r.pending.id(), Some(amount("12.5")))
        .await
        .expect("post");
    assert!(posted_now.resolved_now);
    assert_eq!(posted_now.pending.state, PendingState::Posted);
    let t = posted_now
        .transfer
        .clone()
        .expect("a post records a transfer");
    assert_eq!(t.amount, amount("12.5"));
    assert_eq!(t.pending, Some(r.pending.id()));
    assert_eq!(reserved(&pool, a.cash.id.0).await, dec("0"));
    assert_eq!(posted(&pool, &a.cash).await, dec("87.5"));
    assert_eq!(posted(&pool, &a.hold).await, dec("12.5"));

    // a retry of the same post is harmless, anything else is refused
    let again = ledger
        .post_pending(r.pending.id(), Some(amount("12.5")))
        .await
        .expect("retry");
    assert!(!again.resolved_now);
    assert_eq!(again.transfer, Some(t));
    assert!(matches!(
        ledger.void_pending(r.pending.id()).await,
        Err(Error::Rejected(Rejection::PendingAlreadyResolved {
            state: PendingState::Posted,
            ..
        }))
    ));
    assert!(matches!(
        ledger.post_pending(r.pending.id(), None).await,
        Err(Error::Rejected(Rejection::PendingAlreadyResolved { .. }))
    ));
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn void_and_expiry_release_everything(pool: PgPool) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = Ledger::new(pool.clone()).with_clock(clock.clone());
    let a = advertiser(&ledger, "100").await;
    let voided = reserve(&ledger, &a, "10", &clock).await;
    let expiring = reserve(&ledger, &a, "20", &clock).await;
    let late = reserve(&ledger, &a, "30", &clock).await;
    assert_eq!(reserved(&pool, a.cash.id.0).await, dec("60"));

    assert!(
        ledger
            .void_pending(voided.pending.id())
            .await
            .expect("void")
            .resolved_now
    );
    assert!(matches!(
        ledger
            .post_pending(voided.pending.id(), Some(amount("1")))
            .await,
        Err(Error::Rejected(Rejection::PendingAlreadyResolved {
            state: PendingState::Voided,
            ..
        }))
    ));
    assert!(matches!(
        ledger
            .post_pending(expiring.pending.id(), Some(amount("20.000001")))
            .await,
        Err(Error::Rejected(Rejection::PostExceedsPending { .. }))
    ));
    assert_eq!(ledger.expire_due().await.expect("too early"), 0);

    clock.advance(Duration::seconds(60));
    // a post after the deadline expires the reservation instead
    assert!(matches!(
        ledger.post_pending(late.pending.id(), None).await,
        Err(Error::Rejected(Rejection::PendingExpired { .. }))
    ));
    assert_eq!(ledger.expire_due().await.expect("sweep"), 1);
    assert_eq!(ledger.expire_due().await.expect("sweep again"), 0);
    assert_eq!(reserved(&pool, a.cash.id.0).await, dec("0"));
    assert_eq!(posted(&pool, &a.cash).await, dec("100"));
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_retried_reservation_returns_the_first(pool: PgPool) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = Ledger::new(pool.clone()).with_clock(clock.clone());
    let a = advertiser(&ledger, "100").await;
    let request = NewPending {
        transfer: transfer(&a.cash, &a.hold, "10", TransferKind::Hold),
        expires_at: start() + Duration::seconds(60),
    };
    assert!(
        ledger
            .reserve(request.clone())
            .await
            .expect("first")
            .created
    );
    assert!(
        !ledger
            .reserve(request.clone())
            .await
            .expect("retry")
            .created
    );
    let mut other = request.clone();
    other.transfer.amount = amount("11");
    assert!(matches!(
        ledger.reserve(other).await,
        Err(Error::Rejected(Rejection::IdConflict { .. }))
    ));
    // its id cannot be reused by a plain transfer either
    assert!(matches!(
        ledger.transfer(request.transfer.clone()).await,
        Err(Error::Rejected(Rejection::IdConflict { .. }))
    ));
    assert_eq!(reserved(&pool, a.cash.id.0).await, dec("10"));
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_pending_transfer_resolves_once_even_by_hand(pool: PgPool) {
    let clock = Arc::new(ManualClock::new(start()));
    let ledger = Ledger::new(pool.clone()).with_clock(clock.clone());
    let a = advertiser(&ledger, "100").await;
    let r = reserve(&ledger, &a, "10", &clock).await;
    ledger.void_pending(r.pending.id()).await.expect("void");
    let err = sqlx::query(
        "update ledger_pending_transfers set state = 'posted', posted_amount = amount, resolved_at = now() where id = $1",
    )
    .bind(r.pending.id().0)
    .execute(&pool)
    .await
    .expect_err("a second resolution is refused");
    assert_eq!(
        err.as_database_error().and_then(|d| d.constraint()),
        Some("pending_resolves_once")
    );
    assert_ledger_consistent(&pool).await;
}

/// Post, void and the expiry sweep race for the same pending transfer, many times over: each time
/// exactly one resolution happens and the others see it.
#[sqlx::test(migrator = "MIGRATOR")]
async fn post_void_and_expiry_race_and_exactly_one_wins(pool: PgPool) {
    let setup = Ledger::new(pool.clone());
    let a = advertiser(&setup, "1000000").await;
    let mut winners = [0usize; 3];
    for round in 0..60 {
        let clock = Arc::new(ManualClock::new(start()));
        let ledger = Ledger::new(pool.clone()).with_clock(clock.clone());
        let r = reserve(&ledger, &a, "5", &clock).await;
        let id = r.pending.id();
        let (post, void, expired) = tokio::join!(
            {
                let l = ledger.clone();
                async move { l.post_pending(id, Some(amount("2"))).await }
            },
            {
                let l = ledger.clone();
                async move { l.void_pending(id).await }
            },
            {
                let l = ledger.clone();
                let c = clock.clone();
                async move {
                    // In some rounds the deadline passes while the others are in flight.
                    if round % 3 == 0 {
                        c.advance(Duration::seconds(61));
                    }
                    tokio::task::yield_now().await;
                    l.expire_due().await
                }
            }
        );
        let post_won = matches!(&post, Ok(r) if r.resolved_now);
        let void_won = matches!(&void, Ok(r) if r.resolved_now);
        let state: String =
            sqlx::query_scalar("select state from ledger_pending_transfers where id = $1")
                .bind(id.0)
                .fetch_one(&pool)
                .await
                .expect("state");
        let posted_rows: i64 =
            sqlx::query_scalar("select count(*) from ledger_transfers where pending_id = $1")
                .bind(id.0)
                .fetch_one(&pool)
                .await
                .expect("rows");
        match state.as_str() {
            "posted" => {
                assert!(post_won && !void_won, "round {round}: {post:?} {void:?}");
                assert_eq!(posted_rows, 1);
                assert!(matches!(
                    void,
                    Err(Error::Rejected(Rejection::PendingAlreadyResolved { .. }))
                ));
                winners[0] += 1;
            }
            "voided" => {
                assert!(void_won && !post_won, "round {round}: {post:?} {void:?}");
                assert_eq!(posted_rows, 0);
                winners[1] += 1;
            }
            "expired" => {
                assert!(!post_won && !void_won, "round {round}: {post:?} {void:?}");
                assert!(matches!(
                    post,
                    Err(Error::Rejected(Rejection::PendingExpired { .. }))
                ));
                assert!(matches!(
                    void,
                    Err(Error::Rejected(Rejection::PendingExpired { .. }))
                ));
                assert_eq!(posted_rows, 0);
                winners[2] += 1;
            }
            other => panic!("round {round}: left {other}"),
        }
        assert!(expired.is_ok(), "the sweep never fails: {expired:?}");
    }
    assert_eq!(reserved(&pool, a.cash.id.0).await, dec("0"));
    eprintln!("winners (post, void, expiry): {winners:?}");
    assert_eq!(winners.iter().sum::<usize>(), 60);
    assert_ledger_consistent(&pool).await;
}
