//! Ledger throughput against the real PostgreSQL of `scripts/services`, with the baselines the
//! targets are stated against. Prints figures and ratios; asserts nothing.
//!
//!   cargo bench -p ledger --bench ledger_throughput            full run (about two minutes)
//!   cargo bench -p ledger --bench ledger_throughput -- --smoke  tiny sizes, to check it runs
//!   ... -- --only single | --only batched                       one half of the figures
//!
//! Figures, all on the same server and settings:
//! - single transfers/s: 8 tasks, 8 connections, each posting one `hold` transfer at a time
//!   between random advertisers' own accounts (low contention, like pgbench's random rows);
//! - `pgbench -N` TPS at 8 clients (its "simple update" script: one update, select and insert);
//! - batched transfers/s at 1,000 and 5,000 per batch: `spend` transfers over 1,000 campaigns,
//!   one batch per transaction, by 1 writer and by 4 writers each owning a shard of the campaigns
//!   (as the ledger writer's consumers own shards of the event stream);
//! - a raw COPY of the same rows, in the same shards, batches and transactions, into a table of
//!   the same columns with no index, constraint or trigger.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ledger::{
    Amount, BatchMode, Currency, Ledger, MIGRATOR, NewTransfer, TransferId, TransferKind,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection};
use test_support::ScratchDatabase;

struct Sizes {
    /// Length of each timed run of single transfers and of pgbench.
    seconds: u64,
    /// Alternating rounds of single transfers and pgbench.
    rounds: usize,
    advertisers: usize,
    batched_rows: usize,
    pgbench_scale: u32,
}

use funded::{Campaign, setup};
use ledger::fixtures::funded;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let sizes = if smoke {
        Sizes {
            seconds: 1,
            rounds: 1,
            advertisers: 50,
            batched_rows: 10_000,
            pgbench_scale: 1,
        }
    } else {
        Sizes {
            seconds: 8,
            rounds: 3,
            advertisers: 1000,
            batched_rows: 200_000,
            pgbench_scale: 10,
        }
    };
    let db = ScratchDatabase::create("ledger_bench").await?;
    let pgbench_db = ScratchDatabase::create("ledger_bench_pgbench").await?;
    let outcome = run(&db, &pgbench_db, &sizes, smoke).await;
    db.drop().await?;
    pgbench_db.drop().await?;
    outcome
}

async fn run(
    db: &ScratchDatabase,
    pgbench_db: &ScratchDatabase,
    sizes: &Sizes,
    smoke: bool,
) -> Result<()> {
    let options = db.options();
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options.clone())
        .await?;
    MIGRATOR.run(&pool).await?;
    let ledger = Ledger::new(pool.clone());
    let campaigns = Arc::new(setup(&ledger, sizes.advertisers).await?);
    let version: String = sqlx::query_scalar("show server_version")
        .fetch_one(&pool)
        .await?;
    println!(
        "ledger throughput: PostgreSQL {version}, {} cores{}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if smoke {
            " (SMOKE RUN: sizes too small for meaningful figures)"
        } else {
            ""
        }
    );

    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    if only.as_deref() != Some("batched") {
        // Alternate the two in rounds and compare medians, so a noisy neighbour on this shared
        // machine weighs on both alike.
        let pgbench = Pgbench::init(pgbench_db.url(), sizes.pgbench_scale)?;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        single_transfers(&ledger, &campaigns, 1).await?; // warm up connections and caches
        for _ in 0..sizes.rounds {
            ours.push(single_transfers(&ledger, &campaigns, sizes.seconds).await?);
            theirs.push(pgbench.simple_update(sizes.seconds)?);
        }
        let (single, tps) = (median(&mut ours), median(&mut theirs));
        println!(
            "single transfers, 8 connections     {single:>10.0} transfers/s   (median of {:.0?})",
            ours
        );
        println!(
            "pgbench -N, 8 clients               {tps:>10.0} tps           (median of {:.0?})",
            theirs
        );
        let ratio = single / tps;
        println!("  single / pgbench -N               {ratio:>10.2}   (target >= 0.80)");
    }
    let batch_sizes: &[usize] = if only.as_deref() == Some("single") {
        &[]
    } else {
        &[1000, 5000]
    };
    for &batch in batch_sizes {
        for writers in [1, 4] {
            let shards = funded::spend_shards(&campaigns, sizes.batched_rows, batch, writers);
            let raw = raw_copy(&options, &shards).await?;
            let batched = batched_transfers(&ledger, shards).await?;
            let label = format!(
                "{batch} per batch, {writers} writer{}",
                if writers > 1 { "s" } else { "" }
            );
            println!(
                "batched transfers, {label:<22} {batched:>10.0} transfers/s   (target >= 50000)"
            );
            println!("raw COPY,          {label:<22} {raw:>10.0} rows/s");
            let ratio = batched / raw;
            println!("  batched / raw COPY                {ratio:>10.2}   (target >= 0.50)");
        }
    }
    pool.close().await;
    Ok(())
}

async fn single_transfers(
    ledger: &Ledger,
    campaigns: &Arc<Vec<Campaign>>,
    seconds: u64,
) -> Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..8u64 {
        let (ledger, campaigns, done) = (ledger.clone(), campaigns.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(worker);
            let amount = Amount::parse("0.01")?;
            let usd = Currency::parse("USD")?;
            while Instant::now() < deadline {
                let c = &campaigns[rng.random_range(0..campaigns.len())];
                let t = NewTransfer::new(
                    TransferId::new(),
                    c.cash.id,
                    c.hold.id,
                    amount,
                    usd,
                    TransferKind::Hold,
                );
                ledger.transfer(t).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// Every shard posted by its own writer (a task with a connection of its own), all at once.
async fn batched_transfers(ledger: &Ledger, shards: Vec<Vec<Vec<NewTransfer>>>) -> Result<f64> {
    let started = Instant::now();
    let mut writers = Vec::new();
    for shard in shards {
        let ledger = ledger.clone();
        writers.push(tokio::spawn(async move {
            let mut rows = 0usize;
            for batch in &shard {
                for result in ledger.transfer_batch(batch, BatchMode::Independent).await? {
                    result?;
                    rows += 1;
                }
            }
            anyhow::Ok(rows)
        }));
    }
    let mut rows = 0;
    for writer in writers {
        rows += writer.await??;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// The same shards and batches COPY'd, one transaction per batch, by as many writers.
async fn raw_copy(options: &PgConnectOptions, shards: &[Vec<Vec<NewTransfer>>]) -> Result<f64> {
    let mut setup = PgConnection::connect_with(options).await?;
    setup
        .execute(
            "drop table if exists bench_raw_transfers; \
             create table bench_raw_transfers as table ledger_transfers with no data",
        )
        .await?;
    let now = chrono::Utc::now().to_rfc3339();
    let started = Instant::now();
    let mut writers = Vec::new();
    for (w, shard) in shards.iter().enumerate() {
        let mut conn = PgConnection::connect_with(options).await?;
        let (shard, now) = (shard.clone(), now.clone());
        writers.push(tokio::spawn(async move {
            let mut rows = 0usize;
            let mut seq = (w as u64) << 40;
            for batch in &shard {
                rows += copy_batch(&mut conn, batch, &mut seq, &now).await?;
            }
            anyhow::Ok(rows)
        }));
    }
    let mut rows = 0;
    for writer in writers {
        rows += writer.await??;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

async fn copy_batch(
    conn: &mut PgConnection,
    batch: &[NewTransfer],
    seq: &mut u64,
    now: &str,
) -> Result<usize> {
    let mut csv = String::with_capacity(batch.len() * 200);
    for t in batch {
        *seq += 1;
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},,,{},,,{{}},{now}\n",
            t.id,
            seq,
            t.debit,
            t.credit,
            t.amount,
            t.currency,
            t.kind,
            t.references.event.as_deref().unwrap_or("")
        ));
    }
    let mut tx = conn.begin().await?;
    let mut copy = tx
        .copy_in_raw(
            "copy bench_raw_transfers (id, seq, debit_account_id, credit_account_id, amount, currency, kind, \
             advertiser_id, campaign_id, event_id, lease_id, pending_id, metadata, posted_at) \
             from stdin with (format csv)",
        )
        .await?;
    copy.send(csv.as_bytes()).await?;
    let rows = copy.finish().await? as usize;
    tx.commit().await?;
    Ok(rows)
}

/// Where pgbench runs: its binary and the connection string of its own database.
struct Pgbench {
    bin: String,
    target: String,
}

impl Pgbench {
    /// `pgbench -i` at the given scale on the database at `target`.
    fn init(target: &str, scale: u32) -> Result<Self> {
        let bin =
            std::env::var("PGBIN").map_or_else(|_| "pgbench".into(), |d| format!("{d}/pgbench"));
        let target = target.to_owned();
        let init = Command::new(&bin)
            .args(["-i", "-q", "-s", &scale.to_string(), &target])
            .output()?;
        if !init.status.success() {
            bail!(
                "pgbench -i failed: {}",
                String::from_utf8_lossy(&init.stderr)
            );
        }
        Ok(Pgbench { bin, target })
    }

    /// `pgbench -N` at 8 clients for `seconds`; its TPS.
    fn simple_update(&self, seconds: u64) -> Result<f64> {
        let seconds = seconds.to_string();
        let out = Command::new(&self.bin)
            .args([
                "-N",
                "-n",
                "-c",
                "8",
                "-j",
                "2",
                "-T",
                &seconds,
                &self.target,
            ])
            .output()?;
        if !out.status.success() {
            bail!(
                "pgbench -N failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("tps = "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no tps line in pgbench output:\n{text}"))
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
