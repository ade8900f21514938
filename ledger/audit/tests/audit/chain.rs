//! The audit trail over a real PostgreSQL: every transfer and budget action reaches the chain
//! through the outbox, the log refuses changes, and a privileged session that bypasses the guard
//! to alter, delete, reorder or cut rows is caught at the right row.

use audit::{AuditRecord, AuditTrail, ChainFault, CheckpointSeen};
use chrono::Utc;
use ledger::{Ledger, MIGRATOR, TransferKind};
use serde_json::json;
use sqlx::PgPool;

use ledger::fixtures::{advertiser, tamper, transfer};

/// A ledger with an advertiser who made a deposit and moved `n` holds, every action chained.
async fn chained(pool: &PgPool, n: usize) -> Ledger {
    let ledger = Ledger::new(pool.clone());
    let trail = AuditTrail::new(ledger.pool().clone());
    let a = advertiser(&ledger, "1000").await;
    for _ in 0..n {
        ledger
            .transfer(transfer(&a.cash, &a.hold, "1.5", TransferKind::Hold))
            .await
            .expect("hold");
    }
    while trail.chain(100).await.expect("chain") > 0 {}
    ledger
}

async fn rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from audit_log")
        .fetch_one(pool)
        .await
        .expect("rows")
}

/// The chain's head now, as a signed checkpoint would hold it.
async fn checkpoint(pool: &PgPool) -> CheckpointSeen {
    let (size, head): (i64, Vec<u8>) = sqlx::query_as("select size, head_hash from audit_head")
        .fetch_one(pool)
        .await
        .expect("head");
    CheckpointSeen {
        size: size as u64,
        head_hash: audit::ChainHash::from_slice(&head).expect("hash"),
        signature_valid: true,
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_transfer_budget_action_and_admin_action_is_chained_once(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let trail = AuditTrail::new(ledger.pool().clone());
    let a = advertiser(&ledger, "100").await;
    let deposits = 1;
    for _ in 0..3 {
        ledger
            .transfer(transfer(&a.cash, &a.hold, "2", TransferKind::Hold))
            .await
            .expect("hold");
    }
    // the budget controller's log: an allocation is audited, a renewal is routine
    sqlx::query(
        "insert into budget_log (campaign_id, lease_id, action, amount_micros)
         values ($1, gen_random_uuid(), 'allocate', 500), ($1, gen_random_uuid(), 'renew', null)",
    )
    .bind(a.campaign.0)
    .execute(&pool)
    .await
    .expect("budget log");
    // an admin action, recorded in the transaction of the change it describes
    let mut tx = pool.begin().await.expect("begin");
    let record = AuditRecord {
        at: Utc::now(),
        actor: "ops-1".into(),
        role: "operator".into(),
        action: "campaign.pause".into(),
        object: format!("campaign:{}", a.campaign.0),
        advertiser: Some(a.id.0),
        request_id: Some("req-1".into()),
        before: Some(json!({"status": "active"})),
        after: Some(json!({"status": "paused"})),
    };
    trail.record(&mut tx, &record).await.expect("record");
    tx.commit().await.expect("commit");
    // a rolled-back change leaves nothing
    let mut tx = pool.begin().await.expect("begin");
    trail.record(&mut tx, &record).await.expect("record");
    tx.rollback().await.expect("rollback");

    assert_eq!(
        trail.chain(1000).await.expect("chain"),
        deposits + 3 + 1 + 1
    );
    assert_eq!(trail.chain(1000).await.expect("chain"), 0, "nothing twice");
    let actions: Vec<(String, String)> =
        sqlx::query_as("select action, object from audit_log order by position")
            .fetch_all(&pool)
            .await
            .expect("actions");
    let count = |action: &str| actions.iter().filter(|(a, _)| a == action).count();
    assert_eq!(
        (count("ledger.post"), count("budget.allocate")),
        (deposits as usize + 3, 1),
        "one row per ledger statement"
    );
    assert_eq!(count("budget.renew"), 0);
    let admin = actions.last().expect("admin");
    assert_eq!(admin, &("campaign.pause".to_owned(), record.object.clone()));
    let summary = trail
        .verify(vec![checkpoint(&pool).await])
        .await
        .expect("walk")
        .expect("intact");
    assert_eq!((summary.rows, summary.checkpoints), (6, 1));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_batch_is_one_row_committing_to_every_transfer_in_it(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let trail = AuditTrail::new(ledger.pool().clone());
    let (a, b) = (
        advertiser(&ledger, "100").await,
        advertiser(&ledger, "100").await,
    );
    while trail.chain(100).await.expect("chain") > 0 {}
    let batch: Vec<_> = (0..5)
        .map(|i| {
            let who = if i % 2 == 0 { &a } else { &b };
            let mut t = transfer(&who.cash, &who.hold, "1", TransferKind::Hold);
            t.references.advertiser = Some(who.id);
            t
        })
        .collect();
    ledger
        .transfer_batch(&batch, ledger::BatchMode::Linked)
        .await
        .expect("batch");
    assert_eq!(trail.chain(100).await.expect("chain"), 1);
    let (object, advertiser_id, after, ids, advertisers): (
        String,
        Option<uuid::Uuid>,
        serde_json::Value,
        Vec<uuid::Uuid>,
        Vec<uuid::Uuid>,
    ) = sqlx::query_as(
        "select object, advertiser_id, after, transfer_ids, advertisers from audit_log
          order by position desc limit 1",
    )
    .fetch_one(&pool)
    .await
    .expect("row");
    let posted: Vec<uuid::Uuid> = batch.iter().map(|t| t.id.0).collect();
    let mut sorted = posted.clone();
    sorted.sort();
    assert_eq!(
        ids.iter()
            .copied()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        5
    );
    let mut ids_sorted = ids.clone();
    ids_sorted.sort();
    assert_eq!(ids_sorted, sorted, "the row covers exactly the batch");
    assert_eq!(object, format!("transfers:{}", ids[0]));
    assert_eq!(after["count"], json!(5));
    let mut both = vec![a.id.0, b.id.0];
    both.sort();
    assert_eq!(advertisers.len(), 2);
    assert_eq!(after["advertisers"], json!(both));
    assert_eq!(advertiser_id, None);
    trail
        .verify(vec![])
        .await
        .expect("walk")
        .expect("the digest PostgreSQL computed is the one the verifier computes");
}

/// The ledger transfer the row at `position` covers first.
async fn covered(pool: &PgPool, position: i64) -> uuid::Uuid {
    sqlx::query_scalar("select transfer_ids[1] from audit_log where position = $1")
        .bind(position)
        .fetch_one(pool)
        .await
        .expect("covered transfer")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_ledger_transfer_altered_after_it_was_chained_is_named_by_its_row(pool: PgPool) {
    let ledger = chained(&pool, 20).await;
    let trail = AuditTrail::new(ledger.pool().clone());
    let id = covered(&pool, 12).await;
    tamper(
        &pool,
        &format!("update ledger_transfers set amount = amount + 0.000001 where id = '{id}'"),
    )
    .await;
    assert_eq!(
        trail.verify(vec![]).await.expect("walk"),
        Err(ChainFault::TransfersAltered { position: 12 })
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_ledger_transfer_deleted_after_it_was_chained_is_named(pool: PgPool) {
    let ledger = chained(&pool, 20).await;
    let trail = AuditTrail::new(ledger.pool().clone());
    let id = covered(&pool, 6).await;
    tamper(
        &pool,
        &format!("delete from ledger_transfers where id = '{id}'"),
    )
    .await;
    assert_eq!(
        trail.verify(vec![]).await.expect("walk"),
        Err(ChainFault::TransferMissing {
            position: 6,
            transfer: id
        })
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_row_made_to_cover_other_transfers_is_named(pool: PgPool) {
    let ledger = chained(&pool, 20).await;
    let trail = AuditTrail::new(ledger.pool().clone());
    let other = covered(&pool, 4).await;
    tamper(
        &pool,
        &format!("update audit_log set transfer_ids = array['{other}'::uuid] where position = 3"),
    )
    .await;
    assert_eq!(
        trail.verify(vec![]).await.expect("walk"),
        Err(ChainFault::TransfersAltered { position: 3 })
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_log_refuses_update_delete_and_truncate(pool: PgPool) {
    chained(&pool, 3).await;
    for sql in [
        "update audit_log set actor = 'someone else' where position = 2",
        "delete from audit_log where position = 4",
        "truncate audit_log",
    ] {
        let refused = sqlx::query(sql).execute(&pool).await;
        assert!(refused.is_err(), "{sql} was allowed");
    }
    assert_eq!(rows(&pool).await, 4);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_flipped_byte_is_named_at_its_row(pool: PgPool) {
    let ledger = chained(&pool, 20).await;
    let trail = AuditTrail::new(ledger.pool().clone());
    tamper(
        &pool,
        "update audit_log set after = jsonb_set(after, '{count}', '2') where position = 9",
    )
    .await;
    let fault = trail.verify(vec![]).await.expect("walk");
    assert_eq!(fault, Err(ChainFault::ContentAltered { position: 9 }));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_flipped_bit_of_a_stored_hash_is_named_at_its_row(pool: PgPool) {
    let ledger = chained(&pool, 20).await;
    let trail = AuditTrail::new(ledger.pool().clone());
    tamper(
        &pool,
        "update audit_log set hash = set_byte(hash, 0, get_byte(hash, 0) # 1) where position = 14",
    )
    .await;
    assert_eq!(
        trail.verify(vec![]).await.expect("walk"),
        Err(ChainFault::ContentAltered { position: 14 })
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_deleted_row_is_named(pool: PgPool) {
    let ledger = chained(&pool, 20).await;
    let trail = AuditTrail::new(ledger.pool().clone());
    tamper(&pool, "delete from audit_log where position = 7").await;
    assert_eq!(
        trail.verify(vec![]).await.expect("walk"),
        Err(ChainFault::Gap {
            position: 7,
            found: 8
        })
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn two_reordered_rows_are_named_at_the_first(pool: PgPool) {
    let ledger = chained(&pool, 20).await;
    let trail = AuditTrail::new(ledger.pool().clone());
    // rows 5 and 6 trade places: everything but the positions swapped
    tamper(
        &pool,
        r"update audit_log l set at = o.at, actor = o.actor, role = o.role, action = o.action,
                 object = o.object, advertiser_id = o.advertiser_id, request_id = o.request_id,
                 before = o.before, after = o.after, prev_hash = o.prev_hash, hash = o.hash
            from audit_log o
           where (l.position, o.position) in ((5, 6), (6, 5))",
    )
    .await;
    assert_eq!(
        trail.verify(vec![]).await.expect("walk"),
        Err(ChainFault::BrokenLink { position: 5 })
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_cut_tail_is_named_by_the_checkpoint_past_it(pool: PgPool) {
    let ledger = chained(&pool, 20).await;
    let trail = AuditTrail::new(ledger.pool().clone());
    let signed = checkpoint(&pool).await;
    assert_eq!(signed.size, 21);
    tamper(&pool, "delete from audit_log where position > 17").await;
    let fault = trail.verify(vec![signed]).await.expect("walk");
    assert_eq!(fault, Err(ChainFault::Truncated { rows: 17, size: 21 }));
    assert_eq!(fault.expect_err("cut").position(), 18);
}

/// Writers post transfers while two chainers run: the chain stays linear and complete.
#[sqlx::test(migrator = "MIGRATOR")]
async fn concurrent_writers_and_chainers_keep_one_linear_chain(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let trail = AuditTrail::new(ledger.pool().clone());
    let mut writers = Vec::new();
    for _ in 0..4 {
        let ledger = ledger.clone();
        writers.push(tokio::spawn(async move {
            let a = advertiser(&ledger, "1000").await;
            for _ in 0..40 {
                ledger
                    .transfer(transfer(&a.cash, &a.hold, "0.25", TransferKind::Hold))
                    .await
                    .expect("hold");
            }
        }));
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut chainers = Vec::new();
    for _ in 0..2 {
        let (trail, done) = (trail.clone(), done.clone());
        chainers.push(tokio::spawn(async move {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                trail.chain(7).await.expect("chain");
                tokio::task::yield_now().await;
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in chainers {
        c.await.expect("chainer");
    }
    while trail.chain(100).await.expect("chain") > 0 {}
    let transfers: i64 = sqlx::query_scalar("select count(*) from ledger_transfers")
        .fetch_one(&pool)
        .await
        .expect("transfers");
    let distinct: i64 = sqlx::query_scalar(
        "select count(distinct object) from audit_log where object like 'transfer:%'",
    )
    .fetch_one(&pool)
    .await
    .expect("objects");
    assert_eq!(transfers, 4 * 41);
    assert_eq!((rows(&pool).await, distinct), (transfers, transfers));
    let summary = trail
        .verify(vec![checkpoint(&pool).await])
        .await
        .expect("walk")
        .expect("linear and intact");
    assert_eq!(summary.rows, transfers as u64);
}

/// Statements posted before migration 0007 wait in the outbox without a digest; the migration
/// computes theirs, and they chain and verify like any other.
#[sqlx::test(migrations = false)]
async fn statements_waiting_across_the_digest_migration_chain_and_verify(pool: PgPool) {
    let before_digests = sqlx::migrate::Migrator {
        migrations: MIGRATOR
            .migrations
            .iter()
            .filter(|m| m.version < 7)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    before_digests.run(&pool).await.expect("migrations 1 to 6");
    let ledger = Ledger::new(pool.clone());
    let trail = AuditTrail::new(ledger.pool().clone());
    let a = advertiser(&ledger, "100").await;
    let batch: Vec<_> = (0..3)
        .map(|_| transfer(&a.cash, &a.hold, "2.5", TransferKind::Hold))
        .collect();
    ledger
        .transfer_batch(&batch, ledger::BatchMode::Linked)
        .await
        .expect("batch");
    MIGRATOR.run(&pool).await.expect("migration 7");
    let waiting: i64 = sqlx::query_scalar(
        "select count(*) from audit_outbox where source = 'ledger_transfers' and digest is not null",
    )
    .fetch_one(&pool)
    .await
    .expect("outbox");
    assert_eq!(waiting, 2, "the deposit's statement and the batch's");
    while trail.chain(100).await.expect("chain") > 0 {}
    let summary = trail
        .verify(vec![])
        .await
        .expect("walk")
        .expect("the backfilled digests are the verifier's");
    assert_eq!(summary.rows, 2);
    let counts: Vec<serde_json::Value> =
        sqlx::query_scalar("select after->'count' from audit_log order by position")
            .fetch_all(&pool)
            .await
            .expect("counts");
    assert_eq!(counts, vec![json!(1), json!(3)]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_transfer_written_past_the_audit_trail_is_caught(pool: PgPool) {
    let ledger = chained(&pool, 5).await;
    let trail = AuditTrail::new(ledger.pool().clone());
    assert!(trail.verify(vec![]).await.expect("walk").is_ok());
    // a privileged session with triggers off copies a transfer under a new id
    tamper(
        &pool,
        r"insert into ledger_transfers (id, debit_account_id, credit_account_id, amount, currency,
                                        kind, metadata)
          select gen_random_uuid(), debit_account_id, credit_account_id, amount, currency, kind,
                 metadata
            from ledger_transfers limit 1",
    )
    .await;
    assert_eq!(
        trail.verify(vec![]).await.expect("walk"),
        Err(ChainFault::LedgerNotCovered {
            rows: 6,
            ledger: 7,
            covered: 6
        })
    );
}
