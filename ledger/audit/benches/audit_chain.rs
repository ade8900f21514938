//! The audit trail's cost on the batched ledger path, against the real PostgreSQL and OpenBao of
//! `scripts/services`. Prints figures and ratios; asserts nothing but that every transfer was
//! chained and the chain verifies.
//!
//!   cargo bench -p audit --bench audit_chain               full run (about two minutes)
//!   cargo bench -p audit --bench audit_chain  -- --smoke   tiny sizes, to check it runs
//!
//! - without: 200,000 `spend` transfers over 1,000 campaigns, batches of 1,000, 4 writers each
//!   owning a shard of the campaigns, on a database whose audit trigger is dropped;
//! - with: the same on a database with the audit trail (the trigger digests each statement's
//!   transfers), while a chainer appends the outbox to the hash chain (checkpointing the head
//!   every 10,000 rows); timed until the last transfer is chained, and the chain verified after.
//!   Three rounds alternate without and with; the median ratio with / without is the target
//!   (>= 0.8);
//! - the chainer alone over a backlog, and verify reading every transfer back: transfers/s;
//! - checkpoint signing through Vault transit (ed25519): latency of each signature.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use audit::{AuditTrail, CheckpointRules};
use ledger::{BatchMode, Ledger, MIGRATOR, NewTransfer};
use sqlx::postgres::PgPoolOptions;
use test_support::ScratchDatabase;
use vault::transit::TransitSigner;

use ledger::fixtures::funded;

const CAMPAIGNS: usize = 1000;
const BATCH: usize = 1000;
const WRITERS: usize = 4;
const RULES: CheckpointRules = CheckpointRules {
    rows: 10_000,
    every: Duration::from_secs(10),
};

#[tokio::main]
async fn main() -> Result<()> {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let (rows, signatures, rounds) = if smoke {
        (5_000, 10, 1)
    } else {
        (200_000, 200, 3)
    };
    println!(
        "audit chain: {rows} spend transfers, {CAMPAIGNS} campaigns, batches of {BATCH}, {WRITERS} writers, {rounds} rounds{}",
        if smoke {
            " (SMOKE RUN: sizes too small for meaningful figures)"
        } else {
            ""
        }
    );

    // Rounds alternate without and with, so that drift on the machine hits both alike.
    let mut ratios = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let without = without_trail(rows).await?;
        let (with, posted, lag) = with_trail(rows).await?;
        println!(
            "round {round}: without {without:>7.0} transfers/s | with {with:>7.0}/s posted and chained ({posted:.0}/s posted; chain caught up {lag:.2} s after) | ratio {:.2}",
            with / without
        );
        ratios.push(with / without);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "  with / without, median of {rounds}:  {:.2}   (target >= 0.80; lowest {:.2}, highest {:.2})",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );

    // the chainer alone, over a backlog it did not see arrive; then verify reads it all back
    let (ledger, db) = database("backlog").await?;
    let trail = AuditTrail::new(ledger.pool().clone());
    let campaigns = funded::setup(&ledger, CAMPAIGNS).await?;
    while trail.chain(100).await? > 0 {}
    let backlog = funded::spend_shards(&campaigns, rows, BATCH, WRITERS);
    post(&ledger, backlog).await?;
    let before = chained(&ledger).await?;
    let started = Instant::now();
    let mut appended = 0;
    loop {
        let n = trail.chain(20).await?;
        if n == 0 {
            break;
        }
        appended += n;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let covered = chained(&ledger).await? - before;
    println!(
        "chainer alone:            {:>10.0} transfers/s chained ({appended} audit rows covering {covered} transfers in {elapsed:.2} s)",
        covered as f64 / elapsed
    );
    let verify_started = Instant::now();
    let summary = trail
        .verify(vec![])
        .await?
        .map_err(|fault| anyhow::anyhow!("the chain does not verify: {fault}"))?;
    let total = chained(&ledger).await?;
    let elapsed = verify_started.elapsed().as_secs_f64();
    println!(
        "verify (no signatures):   {:>10.0} transfers/s read back and digested ({} rows covering {total} transfers in {elapsed:.2} s)",
        total as f64 / elapsed,
        summary.rows
    );
    drop_database(db, ledger).await?;

    let address = test_support::service_var("VAULT_ADDR")?;
    let token = test_support::service_var("VAULT_TOKEN")?;
    let signer = TransitSigner::new(
        &address,
        &token,
        "transit",
        &format!("audit-bench-{}", std::process::id()),
        Duration::from_secs(5),
    )?;
    signer.ensure_key().await?;
    let mut latencies = Vec::with_capacity(signatures);
    for n in 0..signatures {
        let message = audit::checkpoint_message(n as u64 + 1, &audit::GENESIS);
        let started = Instant::now();
        signer.sign(&message).await?;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "checkpoint signing via Vault transit: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({signatures} signatures)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    );
    Ok(())
}

/// Posts `rows` transfers on a database whose audit trigger is dropped: transfers/s.
async fn without_trail(rows: usize) -> Result<f64> {
    let (ledger, db) = database("without").await?;
    sqlx::query("drop trigger ledger_transfers_audit on ledger_transfers")
        .execute(ledger.pool())
        .await?;
    let campaigns = funded::setup(&ledger, CAMPAIGNS).await?;
    let shards = funded::spend_shards(&campaigns, rows, BATCH, WRITERS);
    let started = Instant::now();
    post(&ledger, shards).await?;
    let rate = rows as f64 / started.elapsed().as_secs_f64();
    drop_database(db, ledger).await?;
    Ok(rate)
}

/// Posts `rows` transfers with the audit trail while a chainer appends them to the chain;
/// transfers/s until the last is chained, transfers/s posted, and how long the chain lagged.
async fn with_trail(rows: usize) -> Result<(f64, f64, f64)> {
    let (ledger, db) = database("with").await?;
    let trail = AuditTrail::new(ledger.pool().clone());
    let campaigns = funded::setup(&ledger, CAMPAIGNS).await?;
    let shards = funded::spend_shards(&campaigns, rows, BATCH, WRITERS);
    while trail.chain(100).await? > 0 {}
    let before = chained(&ledger).await?;
    let done = Arc::new(AtomicBool::new(false));
    let chainer = {
        let (trail, done) = (trail.clone(), done.clone());
        tokio::spawn(async move {
            loop {
                // read before chaining: once the writers are done, a pass that finds nothing
                // has seen everything they committed
                let writers_done = done.load(Ordering::Acquire);
                let n = trail.chain(20).await?;
                trail.request_checkpoint(RULES).await?;
                if n == 0 {
                    if writers_done {
                        return anyhow::Ok(());
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        })
    };
    let started = Instant::now();
    post(&ledger, shards).await?;
    let posted_in = started.elapsed();
    done.store(true, Ordering::Release);
    chainer.await??;
    let chained_in = started.elapsed();
    anyhow::ensure!(
        chained(&ledger).await? - before == rows as i64,
        "every transfer chained once"
    );
    trail
        .verify(vec![])
        .await?
        .map_err(|fault| anyhow::anyhow!("the chain does not verify: {fault}"))?;
    drop_database(db, ledger).await?;
    Ok((
        rows as f64 / chained_in.as_secs_f64(),
        rows as f64 / posted_in.as_secs_f64(),
        (chained_in - posted_in).as_secs_f64(),
    ))
}

async fn database(label: &str) -> Result<(Ledger, ScratchDatabase)> {
    let db = ScratchDatabase::create(&format!("audit_bench_{label}")).await?;
    let pool = PgPoolOptions::new()
        .max_connections(WRITERS as u32 + 4)
        .connect_with(db.options())
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok((Ledger::new(pool), db))
}

async fn drop_database(db: ScratchDatabase, ledger: Ledger) -> Result<()> {
    ledger.pool().close().await;
    db.drop().await
}

async fn chained(ledger: &Ledger) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select coalesce(sum(cardinality(transfer_ids)), 0)::bigint from audit_log
              where action = 'ledger.post'",
    )
    .fetch_one(ledger.pool())
    .await?)
}

/// Every shard posted by its own writer, all at once.
async fn post(ledger: &Ledger, shards: Vec<Vec<Vec<NewTransfer>>>) -> Result<()> {
    let mut writers = Vec::new();
    for shard in shards {
        let ledger = ledger.clone();
        writers.push(tokio::spawn(async move {
            for batch in &shard {
                for result in ledger.transfer_batch(batch, BatchMode::Independent).await? {
                    result?;
                }
            }
            anyhow::Ok(())
        }));
    }
    for writer in writers {
        writer.await??;
    }
    Ok(())
}
