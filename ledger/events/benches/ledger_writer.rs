//! The ledger writer against the real Redis and PostgreSQL of `scripts/services`: served events
//! from the stream to committed spend transfers, and to recorded events. Prints figures; asserts
//! nothing but that every event was billed and recorded. Every entry is sealed, and every seal
//! checked by the writer, as in production.
//!
//!   cargo bench -p events --bench ledger_writer              full run (about a minute)
//!   cargo bench -p events --bench ledger_writer -- --smoke   tiny sizes, to check it runs
//!   ... -- --shards N        another number of stream shards than servingd's 16
//!   ... -- --batch N         another batch size than the writer's 2000
//!   ... -- --backlog-only    the throughput figures alone (billing, then recording)
//!   ... -- --backlog N       another backlog than 200,000 events
//!
//! - throughput: 200,000 billed impressions over 1,000 campaigns waiting in the stream (event
//!   ids as random as real auction ids), then a billing writer started: events/s until the last
//!   is committed and acknowledged (target >= 50,000/s); then a recording writer over the same
//!   backlog, alone; then both duties at once over a fresh backlog, as `ledger-writer` runs them;
//! - lag: producers append through the tracking endpoints' append script at a steady 10,000
//!   events/s for 15 s while both duties run; every 10 ms the time since the event being
//!   billed was appended (target < 1 s).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use events::{
    Billing, Duty, EntryKeys, EventKind, EventStream, LedgerWriter, ServedEvent, WriterSettings,
};
use ledger::{LeaseId, Ledger, MIGRATOR};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use test_support::ScratchDatabase;
use tokio::sync::watch;

use ledger::fixtures::funded;

/// The allocator the `ledger-writer` binary runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Shards of the stream (servingd's default), unless `--shards N`.
const SHARDS: u16 = 16;
const CAMPAIGNS: usize = 1000;

struct Sizes {
    backlog: usize,
    rate: usize,
    seconds: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let sizes = if smoke {
        Sizes {
            backlog: 5_000,
            rate: 1_000,
            seconds: 2,
        }
    } else {
        Sizes {
            backlog: arg("--backlog").unwrap_or(200_000),
            rate: 10_000,
            seconds: 15,
        }
    };
    let redis_url = test_support::service_var("REDIS_URL")?;
    let scratch = ScratchDatabase::create("ledger_writer_bench").await?;
    let namespace = format!("bench-{}:", std::process::id());
    let shards = arg("--shards").unwrap_or(SHARDS);
    let keys = EntryKeys::parse(test_support::ENTRY_KEYS, None)?.shared();
    let stream = EventStream::new(shards, keys).with_namespace(namespace);
    let mut redis = redis::Client::open(redis_url)?
        .get_multiplexed_async_connection()
        .await
        .context("connecting to Redis")?;
    redis.set_response_timeout(events::REDIS_RESPONSE_TIMEOUT);
    let outcome = run(scratch.options(), &stream, redis.clone(), &sizes, smoke).await;
    let mut conn = redis;
    for shard in stream.shards() {
        let _: () = redis::cmd("DEL")
            .arg(stream.key(shard))
            .query_async(&mut conn)
            .await?;
    }
    scratch.drop().await?;
    outcome
}

fn event(campaign: ledger::CampaignId, lease: LeaseId, n: usize) -> ServedEvent {
    ServedEvent {
        // auction ids are random: so are these (but reproducible, and distinct per n)
        id: format!("{:016x}-{n:09}:1", scramble(n as u64)),
        kind: EventKind::Impression,
        campaign,
        lease,
        billing: Billing::PerMille,
        price_micros: 1_500_000,
        at_ms: chrono::Utc::now().timestamp_millis(),
        ip: "203.0.113.7".into(),
        device: None,
        user_agent: Some("Mozilla/5.0 (bench)".into()),
        invalid: None,
        partner: None,
        test: false,
    }
}

async fn run(
    database: PgConnectOptions,
    stream: &EventStream,
    mut redis: redis::aio::MultiplexedConnection,
    sizes: &Sizes,
    smoke: bool,
) -> Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(2 * u32::from(stream.len()) + 4)
        .connect_with(database)
        .await?;
    MIGRATOR.run(&pool).await?;
    if let Ok(sql) = std::env::var("BENCH_SQL") {
        sqlx::raw_sql(&sql).execute(&pool).await?;
    }
    let ledger = Ledger::new(pool.clone());
    let campaigns = funded::setup(&ledger, CAMPAIGNS).await?;
    let leases: Vec<LeaseId> = campaigns.iter().map(|_| LeaseId::new()).collect();
    println!(
        "ledger writer: {} shards, {CAMPAIGNS} campaigns, batches of {}{}",
        stream.len(),
        arg("--batch").unwrap_or(WriterSettings::default().batch),
        if smoke {
            " (SMOKE RUN: sizes too small for meaningful figures)"
        } else {
            ""
        }
    );

    append_backlog(&mut redis, stream, &campaigns, &leases, 0, sizes.backlog).await?;
    let batch = arg("--batch").unwrap_or(WriterSettings::default().batch);
    let writer_for = |duty| {
        Arc::new(LedgerWriter::new(
            ledger.clone(),
            redis.clone(),
            stream.clone(),
            WriterSettings {
                consumer: "bench".into(),
                batch,
                ..WriterSettings::for_duty(duty)
            },
        ))
    };
    let (billing, recording) = (writer_for(Duty::Bill), writer_for(Duty::Record));
    billing.prepare().await?;
    recording.prepare().await?;

    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let mut running = vec![tokio::spawn(billing.clone().run(stopped.clone()))];
    wait_for(&billing, sizes.backlog).await;
    let rate = sizes.backlog as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(
        billing.totals().billed == sizes.backlog,
        "billed {} of {}",
        billing.totals().billed,
        sizes.backlog
    );
    println!(
        "billing, backlog of {}: {rate:>10.0} events/s committed to the ledger and acknowledged ({:.2} s)   (target >= 50000)",
        sizes.backlog,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    running.push(tokio::spawn(recording.clone().run(stopped.clone())));
    wait_for(&recording, sizes.backlog).await;
    println!(
        "recording, the same backlog: {:>10.0} events/s recorded in ad_events and acknowledged",
        sizes.backlog as f64 / started.elapsed().as_secs_f64()
    );

    if std::env::args().any(|a| a == "--backlog-only") {
        let _ = stop.send(true);
        for r in running {
            r.await??;
        }
        pool.close().await;
        return Ok(());
    }

    // both duties at once, as ledger-writer runs them, over a fresh backlog: the same two cores
    // do the work of both
    let _ = stop.send(true);
    for r in running.drain(..) {
        r.await??;
    }
    append_backlog(
        &mut redis,
        stream,
        &campaigns,
        &leases,
        sizes.backlog,
        sizes.backlog,
    )
    .await?;
    let (stop, stopped) = watch::channel(false);
    let before = (billing.totals().entries, recording.totals().entries);
    let started = Instant::now();
    running.push(tokio::spawn(billing.clone().run(stopped.clone())));
    running.push(tokio::spawn(recording.clone().run(stopped.clone())));
    wait_for(&billing, before.0 + sizes.backlog).await;
    let billed_in = started.elapsed();
    wait_for(&recording, before.1 + sizes.backlog).await;
    println!(
        "both duties at once, backlog of {}: billing {:>8.0} events/s, recording done after {:.2} s ({:.0} events/s)",
        sizes.backlog,
        sizes.backlog as f64 / billed_in.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        sizes.backlog as f64 / started.elapsed().as_secs_f64(),
    );
    let writer = billing.clone();

    // steady traffic through the append script, as the tracking endpoints send it
    let next = Arc::new(AtomicUsize::new(0));
    let total = sizes.rate * sizes.seconds as usize;
    // when each event was appended, nanoseconds after the start (0: not yet); events are due
    // in sequence order, so the c-th committed is about the c-th appended
    let produced_at: Arc<Vec<AtomicU64>> =
        Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let producers = 64;
    let steady_start = Instant::now();
    let mut tasks = Vec::new();
    let campaign_ids: Arc<Vec<(ledger::CampaignId, LeaseId)>> = Arc::new(
        campaigns
            .iter()
            .zip(&leases)
            .map(|(c, l)| (c.id, *l))
            .collect(),
    );
    for _ in 0..producers {
        let (mut conn, stream, next, produced_at, ids) = (
            redis.clone(),
            stream.clone(),
            next.clone(),
            produced_at.clone(),
            campaign_ids.clone(),
        );
        let (rate, backlog) = (sizes.rate, sizes.backlog);
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(());
                }
                // the n-th event is due at n / rate seconds
                let due = steady_start + Duration::from_secs_f64(n as f64 / rate as f64);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    tokio::time::sleep(wait).await;
                }
                let (campaign, lease) = ids[n % CAMPAIGNS];
                let e = event(campaign, lease, 2 * backlog + n);
                stream.append(&mut conn, &e, 60).await?;
                let nanos = steady_start.elapsed().as_nanos().max(1) as u64;
                produced_at[n].store(nanos, Ordering::Relaxed);
            }
        }));
    }
    let base = writer.totals().entries;
    let mut lags = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let consumed = writer.totals().entries - base;
        if consumed > 0 && consumed <= total {
            let appended = produced_at[consumed - 1].load(Ordering::Relaxed);
            if appended > 0 {
                let now = steady_start.elapsed().as_nanos() as u64;
                lags.push(Duration::from_nanos(now.saturating_sub(appended)));
            }
        }
        if consumed >= total {
            break;
        }
    }
    for t in tasks {
        t.await??;
    }
    let achieved = total as f64 / steady_start.elapsed().as_secs_f64();
    lags.sort();
    let at = |q: f64| lags[((lags.len() as f64 * q) as usize).min(lags.len() - 1)];
    println!(
        "steady {} events/s for {} s (achieved {achieved:.0}/s): lag p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms   (target < 1000 ms)",
        sizes.rate,
        sizes.seconds,
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
    );
    wait_for(&recording, before.1 + sizes.backlog + total).await;
    let _ = stop.send(true);
    for r in running {
        r.await??;
    }
    let (spend, recorded): (i64, i64) = sqlx::query_as(
        "select (select count(*) from ledger_transfers where kind = 'spend'),
                (select count(*) from ad_events)",
    )
    .fetch_one(&pool)
    .await?;
    anyhow::ensure!(
        spend as usize == 2 * sizes.backlog + total && recorded == spend,
        "{spend} spend transfers and {recorded} recorded for {} events",
        2 * sizes.backlog + total
    );
    pool.close().await;
    Ok(())
}

/// The number after `flag` on the command line.
fn arg<T: std::str::FromStr>(flag: &str) -> Option<T> {
    std::env::args()
        .skip_while(|a| a != flag)
        .nth(1)
        .and_then(|n| n.parse().ok())
}

/// Appends events `from..from + count` straight to the shards' streams, in pipelines.
async fn append_backlog(
    redis: &mut redis::aio::MultiplexedConnection,
    stream: &EventStream,
    campaigns: &[funded::Campaign],
    leases: &[LeaseId],
    from: usize,
    count: usize,
) -> Result<()> {
    let mut pipe = redis::pipe();
    for n in from..from + count {
        let c = n % CAMPAIGNS;
        let e = event(campaigns[c].id, leases[c], n);
        let mut cmd = redis::cmd("XADD");
        cmd.arg(stream.key(stream.shard_of(e.campaign))).arg("*");
        for (k, v) in stream.sealed_fields(&e) {
            cmd.arg(k).arg(v);
        }
        pipe.add_command(cmd).ignore();
        if n % 1000 == 999 || n + 1 == from + count {
            let _: () = pipe.query_async(redis).await?;
            pipe = redis::pipe();
        }
    }
    Ok(())
}

/// Waits until `writer` has handled `entries` in all.
async fn wait_for<C>(writer: &LedgerWriter<C>, entries: usize)
where
    C: redis::aio::ConnectionLike + Clone + Send + Sync + 'static,
{
    while writer.totals().entries < entries {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A bijective scramble of `n` (splitmix64's finaliser): distinct, random-looking ids.
fn scramble(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
