//! Verifying a long audit chain, against the real PostgreSQL and OpenBao of `scripts/services`.
//! Prints figures; asserts nothing but that the chain verifies.
//!
//!   cargo bench -p audit --bench audit_verify              full run (10 million rows: about
//!                                                          half an hour, most of it loading)
//!   cargo bench -p audit --bench audit_verify -- --smoke   20,000 rows, to check it runs
//!   ... -- --rows N                                        another length
//!
//! A chain of N admin rows is written straight into a scratch database (hashes computed here,
//! loaded with COPY), with a checkpoint signed through Vault every 100,000 rows and one at the
//! end. Then:
//! - a full walk (`full: true`): rows/s, and the time;
//! - 1,000 more rows and a signed checkpoint, then a walk resumed from the latest signed
//!   checkpoint up to the last intact head, as `POST /api/v1/audit/verifications` runs it:
//!   the time (target < 1 s).

use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use audit::{AuditRecord, AuditTrail, ChainHash, Head, Link, VerifiedHead, checkpoint_message};
use chrono::Utc;
use ledger::MIGRATOR;
use sqlx::postgres::PgPoolOptions;
use test_support::ScratchDatabase;
use uuid::Uuid;
use vault::transit::TransitSigner;

/// Rows between two signed checkpoints.
const CHECKPOINT_EVERY: u64 = 100_000;
/// Rows loaded by one COPY.
const COPY_CHUNK: u64 = 50_000;

#[tokio::main]
async fn main() -> Result<()> {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let rows: u64 = arg("--rows").unwrap_or(if smoke { 20_000 } else { 10_000_000 });
    let scratch = ScratchDatabase::create("audit_verify_bench").await?;
    let outcome = run(&scratch, rows, smoke).await;
    scratch.drop().await?;
    outcome
}

async fn run(scratch: &ScratchDatabase, rows: u64, smoke: bool) -> Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(scratch.options())
        .await?;
    MIGRATOR.run(&pool).await?;
    let signer = signer().await?;
    println!(
        "audit verify: a chain of {rows} rows, a signed checkpoint every {CHECKPOINT_EVERY}{}",
        if smoke {
            " (SMOKE RUN: sizes too small for meaningful figures)"
        } else {
            ""
        }
    );
    let loading = Instant::now();
    let head = append(&pool, &signer, None, rows).await?;
    println!(
        "  loaded in {:.0} s ({:.0} rows/s, hashes computed here, COPY)",
        loading.elapsed().as_secs_f64(),
        rows as f64 / loading.elapsed().as_secs_f64()
    );

    let trail = AuditTrail::new(pool.clone());
    let public = signer.public_keys().await?;
    let started = Instant::now();
    let full = trail
        .verify_signed_from(&public, None, &AtomicU64::new(0))
        .await?
        .map_err(|fault| anyhow::anyhow!("the chain does not verify: {fault}"))?;
    let full_time = started.elapsed();
    ensure!(
        full.rows == rows && full.head == head.hash,
        "walked {} rows",
        full.rows
    );
    println!(
        "  full walk: {:.1} s, {:.0} rows/s, {} checkpoints held",
        full_time.as_secs_f64(),
        rows as f64 / full_time.as_secs_f64(),
        full.checkpoints
    );

    let last_intact = VerifiedHead {
        rows: full.rows,
        head: full.head,
    };
    let head = append(&pool, &signer, Some(head), 1_000).await?;
    let started = Instant::now();
    let start = trail
        .resume_point(&public, last_intact.rows)
        .await?
        .context("a signed checkpoint to resume from")?;
    let resumed = trail
        .verify_signed_from(&public, Some(start), &AtomicU64::new(0))
        .await?
        .map_err(|fault| anyhow::anyhow!("the chain does not verify: {fault}"))?;
    let resumed_time = started.elapsed();
    ensure!(
        resumed.head == head.hash,
        "the resumed walk ended elsewhere"
    );
    println!(
        "  resumed walk after 1000 more rows: {:.0} ms from row {} ({} rows walked)   (target < 1000 ms)",
        resumed_time.as_secs_f64() * 1e3,
        start.rows,
        resumed.rows - start.rows
    );
    pool.close().await;
    Ok(())
}

/// Appends `count` admin rows after `head` (`None`: an empty chain), a signed checkpoint every
/// [`CHECKPOINT_EVERY`] rows and at the end; the new head.
async fn append(
    pool: &sqlx::PgPool,
    signer: &TransitSigner,
    head: Option<Head>,
    count: u64,
) -> Result<Head> {
    let mut last: Option<Link> = head.map(|h| Link {
        position: h.size,
        prev: ChainHash([0; 32]),
        hash: h.hash,
    });
    let first = last.map_or(1, |l| l.position + 1);
    let end = first + count;
    // to the microsecond, as PostgreSQL keeps it
    let at =
        chrono::DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).context("now")?;
    let advertiser = Uuid::now_v7();
    let mut position = first;
    while position < end {
        let chunk_end = (position + COPY_CHUNK).min(end);
        let mut csv = String::with_capacity(((chunk_end - position) * 400) as usize);
        let mut checkpoints = Vec::new();
        for p in position..chunk_end {
            let record = AuditRecord {
                at,
                actor: "0193a5f0-0000-7000-8000-00000000e001".into(),
                role: "operator".into(),
                action: "campaign.update".into(),
                object: format!("campaign:{}", Uuid::from_u128(u128::from(p))),
                advertiser: Some(advertiser),
                request_id: Some(format!(
                    "{} (caller: r-{p})",
                    Uuid::from_u128(u128::from(p))
                )),
                before: Some(serde_json::json!({"name": format!("n{}", p - 1)})),
                after: Some(serde_json::json!({"name": format!("n{p}")})),
            };
            let link = Link::after(last.as_ref(), &record);
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{},\"{}\",\"{}\",\\x{},\\x{}\n",
                link.position,
                at.to_rfc3339(),
                record.actor,
                record.role,
                record.action,
                record.object,
                advertiser,
                record.request_id.as_deref().unwrap_or_default(),
                record
                    .before
                    .as_ref()
                    .map(|v| v.to_string().replace('"', "\"\""))
                    .unwrap_or_default(),
                record
                    .after
                    .as_ref()
                    .map(|v| v.to_string().replace('"', "\"\""))
                    .unwrap_or_default(),
                link.prev.to_hex(),
                link.hash.to_hex(),
            ));
            if p % CHECKPOINT_EVERY == 0 || p + 1 == end {
                checkpoints.push(link);
            }
            last = Some(link);
        }
        let mut conn = pool.acquire().await?;
        let mut copy = conn
            .copy_in_raw(
                "copy audit_log (position, at, actor, role, action, object, advertiser_id, request_id,
                                 before, after, prev_hash, hash) from stdin (format csv)",
            )
            .await?;
        copy.send(csv.into_bytes()).await?;
        copy.finish().await?;
        for link in checkpoints {
            let signature = signer
                .sign(&checkpoint_message(link.position, &link.hash))
                .await?;
            sqlx::query(
                "insert into audit_checkpoints (size, head_hash, signature, key_version, signed_at)
                 values ($1, $2, $3, $4, now())",
            )
            .bind(link.position as i64)
            .bind(&link.hash.0[..])
            .bind(&signature.text)
            .bind(signature.key_version as i32)
            .execute(&mut *conn)
            .await?;
        }
        position = chunk_end;
    }
    let head = last.context("no rows")?;
    sqlx::query("update audit_head set size = $1, head_hash = $2")
        .bind(head.position as i64)
        .bind(&head.hash.0[..])
        .execute(pool)
        .await?;
    Ok(Head {
        size: head.position,
        hash: head.hash,
    })
}

async fn signer() -> Result<TransitSigner> {
    let test_support::Vault { address, token } = test_support::vault();
    let key = format!("audit-verify-bench-{}", Uuid::now_v7().simple());
    let signer = TransitSigner::new(&address, &token, "transit", &key, Duration::from_secs(10))?;
    signer.ensure_key().await?;
    Ok(signer)
}

/// The number after `flag` on the command line.
fn arg<T: std::str::FromStr>(flag: &str) -> Option<T> {
    std::env::args()
        .skip_while(|a| a != flag)
        .nth(1)
        .and_then(|n| n.parse().ok())
}
