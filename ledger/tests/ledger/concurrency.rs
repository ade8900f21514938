//! Parallel writers over a few hot accounts: nothing lost, nothing doubled, no floor broken.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ledger::{Account, Error, Ledger, MIGRATOR, NewTransfer, PostStatus, TransferId, TransferKind};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::{advertiser, assert_ledger_consistent, transfer};

const TASKS: usize = 32;
const PER_TASK: usize = 1000;

/// 32 tasks × 1,000 random transfers over 10 hot accounts (the world, and three advertisers'
/// cash, hold and spend), a tenth of them retries of requests already sent by any task.
#[sqlx::test(migrator = "MIGRATOR")]
async fn parallel_writers_apply_each_transfer_exactly_once(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // A pool of our own: the test harness caps its pools at five connections.
    let options = PgPoolOptions::new();
    let pool = options
        .max_connections(TASKS as u32)
        .connect_with(connect)
        .await
        .expect("pool");
    let ledger = Ledger::new(pool.clone());
    let mut advertisers = Vec::new();
    for _ in 0..3 {
        advertisers.push(advertiser(&ledger, "500").await);
    }
    let world = advertisers[0].world.clone();
    // Every allowed move between the hot accounts.
    let mut moves: Vec<(Account, Account, TransferKind)> = Vec::new();
    for a in &advertisers {
        moves.push((world.clone(), a.cash.clone(), TransferKind::Deposit));
        moves.push((a.cash.clone(), world.clone(), TransferKind::Withdrawal));
        moves.push((a.cash.clone(), a.hold.clone(), TransferKind::Hold));
        moves.push((a.cash.clone(), a.hold.clone(), TransferKind::Hold));
        moves.push((a.hold.clone(), a.cash.clone(), TransferKind::Release));
        moves.push((a.hold.clone(), a.spend.clone(), TransferKind::Spend));
        moves.push((a.hold.clone(), a.spend.clone(), TransferKind::Spend));
        moves.push((a.spend.clone(), a.cash.clone(), TransferKind::Refund));
    }
    let moves = Arc::new(moves);
    let sent: Arc<Mutex<Vec<NewTransfer>>> = Arc::default();

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (ledger, moves, sent) = (ledger.clone(), moves.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(task as u64);
            let mut outcomes: Vec<(NewTransfer, Result<ledger::Posted, Error>)> =
                Vec::with_capacity(PER_TASK);
            for _ in 0..PER_TASK {
                let retry = rng
                    .random_ratio(1, 10)
                    .then(|| {
                        let sent = sent.lock().expect("sent");
                        (!sent.is_empty()).then(|| sent[rng.random_range(0..sent.len())].clone())
                    })
                    .flatten();
                let request = retry.unwrap_or_else(|| {
                    let (debit, credit, kind) = &moves[rng.random_range(0..moves.len())];
                    let cents = rng.random_range(1..5_000);
                    let amount = format!("{}.{:02}", cents / 100, cents % 100);
                    transfer(debit, credit, &amount, *kind)
                });
                sent.lock().expect("sent").push(request.clone());
                let result = ledger.transfer(request.clone()).await;
                outcomes.push((request, result));
            }
            outcomes
        }));
    }
    let mut created: HashMap<TransferId, NewTransfer> = HashMap::new();
    let mut accepted: HashSet<TransferId> = HashSet::new();
    let mut refused = 0;
    for task in tasks {
        for (request, result) in task.await.expect("task") {
            match result {
                Ok(posted) => {
                    accepted.insert(request.id);
                    assert!(posted.transfer.same_content(&request));
                    if posted.status == PostStatus::Created {
                        assert!(
                            created.insert(request.id, request).is_none(),
                            "created twice"
                        );
                    }
                }
                Err(Error::Rejected(_)) => refused += 1,
                Err(other) => panic!("no database error may reach the caller: {other}"),
            }
        }
    }
    // Every accepted id was created exactly once, and the table holds exactly those.
    assert_eq!(accepted.len(), created.len());
    let rows = sqlx::query(
        "select id, amount from ledger_transfers where kind <> 'deposit' or debit_account_id <> $1",
    )
    .bind(world.id.0)
    .fetch_all(&pool)
    .await
    .expect("rows");
    let stored: i64 = sqlx::query_scalar("select count(*) from ledger_transfers")
        .fetch_one(&pool)
        .await
        .expect("count");
    let distinct: i64 = sqlx::query_scalar("select count(distinct id) from ledger_transfers")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(stored, distinct);
    assert_eq!(
        stored as usize,
        created.len() + 3,
        "the three opening deposits and every created transfer"
    );
    for row in rows {
        let id = TransferId(row.get("id"));
        if let Some(request) = created.get(&id) {
            assert_eq!(
                request.amount.as_decimal(),
                row.get::<rust_decimal::Decimal, _>("amount")
            );
        }
    }
    eprintln!(
        "{} created, {refused} refused, {} accepted",
        created.len(),
        accepted.len()
    );
    assert!(
        refused > 0 && created.len() > TASKS * PER_TASK / 4,
        "a real mix: {} created, {refused} refused",
        created.len()
    );
    assert_ledger_consistent(&pool).await;
}
