//! The checkpoints outside the database, and walks that resume: a privileged session that
//! deletes the recent checkpoints and rewrites the chain's tail consistently (every hash after
//! the change recomputed) passes a verification that trusts the database alone, and is caught
//! by the witness file; a walk resumed from a verified head catches a rewrite before it.

use std::sync::atomic::{AtomicU64, Ordering};

use audit::witness::CheckpointLog;
use audit::{
    AuditRecord, AuditTrail, ChainFault, ChainHash, VerifiedHead, content_hash, link_hash,
};
use ledger::{Ledger, MIGRATOR};
use sqlx::PgPool;
use uuid::Uuid;

use crate::signed::{signer, write};
use ledger::fixtures::{advertiser, tamper};

type Row = (
    i64,
    chrono::DateTime<chrono::Utc>,
    String,
    String,
    String,
    String,
    Option<Uuid>,
    Option<String>,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
);

/// Changes row `from`'s actor and recomputes its hash and every later one, and the head: a
/// chain consistent in itself, as an attacker with the database's owner would leave it.
async fn rewrite_from(pool: &PgPool, from: i64) {
    let rows: Vec<Row> = sqlx::query_as(
        "select position, at, actor, role, action, object, advertiser_id, request_id, before, after
           from audit_log where position >= $1 order by position",
    )
    .bind(from)
    .fetch_all(pool)
    .await
    .expect("rows");
    let prev: Vec<u8> = sqlx::query_scalar("select hash from audit_log where position = $1")
        .bind(from - 1)
        .fetch_one(pool)
        .await
        .expect("prev");
    let mut prev = ChainHash::from_slice(&prev).expect("hash");
    for (position, at, actor, role, action, object, advertiser, request_id, before, after) in rows {
        let actor = if position == from {
            "mallory".to_owned()
        } else {
            actor
        };
        let record = AuditRecord {
            at,
            actor: actor.clone(),
            role,
            action,
            object,
            advertiser,
            request_id,
            before,
            after,
        };
        let hash = link_hash(position as u64, &prev, &content_hash(&record));
        tamper(
            pool,
            &format!(
                "update audit_log set actor = '{actor}', prev_hash = '\\x{}', hash = '\\x{}'
                  where position = {position}",
                prev.to_hex(),
                hash.to_hex()
            ),
        )
        .await;
        prev = hash;
    }
    tamper(
        pool,
        &format!("update audit_head set head_hash = '\\x{}'", prev.to_hex()),
    )
    .await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn deleted_checkpoints_and_a_rewritten_tail_are_caught_by_the_witness(pool: PgPool) {
    let (ledger, signer) = (Ledger::new(pool.clone()), signer().await);
    let dir = std::env::temp_dir().join(format!("witness-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let log = CheckpointLog::new(dir.join("checkpoints"));
    let witnessed = AuditTrail::new(pool.clone()).with_witness(log.clone());
    let a = advertiser(&ledger, "100").await;
    write(&ledger, &a, 14).await;
    assert_eq!(witnessed.sign_checkpoints(&signer).await.expect("sign"), 3);
    let sizes: Vec<u64> = log
        .read()
        .expect("witness")
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(sizes, [2, 7, 12], "each signed checkpoint is in the file");
    witnessed
        .verify_signed(&signer)
        .await
        .expect("vault")
        .expect("intact");

    tamper(&pool, "delete from audit_checkpoints where size = 12").await;
    rewrite_from(&pool, 10).await;
    let database_alone = AuditTrail::new(pool.clone())
        .verify_signed(&signer)
        .await
        .expect("vault");
    assert!(
        database_alone.is_ok(),
        "the database alone cannot tell: {database_alone:?}"
    );
    assert_eq!(
        witnessed.verify_signed(&signer).await.expect("vault"),
        Err(ChainFault::CheckpointMismatch { size: 12, after: 7 })
    );
    // and a witness file gone missing is not taken for a witness with nothing to say
    std::fs::remove_file(log.path()).expect("remove");
    let lost = witnessed.verify_signed(&signer).await;
    assert!(
        matches!(lost, Err(audit::CheckpointError::Witness(_))),
        "{lost:?}"
    );
    std::fs::remove_dir_all(&dir).expect("clean");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_resumed_walk_checks_what_follows_and_that_its_start_still_holds(pool: PgPool) {
    let (ledger, signer) = (Ledger::new(pool.clone()), signer().await);
    let trail = AuditTrail::new(pool.clone());
    let a = advertiser(&ledger, "100").await;
    write(&ledger, &a, 9).await;
    trail.sign_checkpoints(&signer).await.expect("sign");
    let public = signer.public_keys().await.expect("public keys");
    let progress = AtomicU64::new(0);
    let first = trail
        .verify_signed_from(&public, None, &progress)
        .await
        .expect("vault")
        .expect("intact");
    assert_eq!(progress.load(Ordering::Relaxed), first.rows);
    write(&ledger, &a, 6).await;
    trail.sign_checkpoints(&signer).await.expect("sign");
    let start = VerifiedHead {
        rows: first.rows,
        head: first.head,
    };
    let progress = AtomicU64::new(0);
    let resumed = trail
        .verify_signed_from(&public, Some(start), &progress)
        .await
        .expect("vault")
        .expect("intact");
    assert_eq!(resumed.rows, first.rows + 6);
    assert_eq!(
        resumed.checkpoints, 1,
        "only the checkpoint after the start"
    );
    assert_eq!(progress.load(Ordering::Relaxed), resumed.rows);

    // a rewrite before the start (every hash after it recomputed) is caught at the start
    rewrite_from(&pool, 3).await;
    assert_eq!(
        trail
            .verify_signed_from(&public, Some(start), &AtomicU64::new(0))
            .await
            .expect("vault"),
        Err(ChainFault::VerifiedHeadChanged { rows: start.rows })
    );
}
