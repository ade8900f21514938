//! `ledger-writer`: posts the spend of served events from the event stream to the ledger, exactly
//! once, and records every event for reports and the fraud scorer, until stopped (SIGTERM or
//! Ctrl-C). The work is `events::LedgerWriter`, one per duty, each in its own consumer
//! group; the binary ships with servingd, which produces the events.
//!
//! `LEDGER_WRITER_DUTIES` (`bill,record`) picks the duties this process takes on: run billing
//! and recording in separate processes to give the money path a machine of its own.
//!
//! Settings from the environment: `DATABASE_URL`, `REDIS_URL` (or `LEDGER_WRITER_CLUSTER_URLS`, comma
//! separated, for a Redis Cluster), `EVENT_SHARDS` (16) and `EVENT_NAMESPACE` (empty), which
//! must match servingd's, `LEDGER_WRITER_CONSUMER` (this writer's name in the consumer group;
//! keep it across restarts to take back its pending entries at once), `LEDGER_WRITER_BATCH`
//! (2000) and `LEDGER_WRITER_CLAIM_IDLE_MS` (30000: how long another writer's unacknowledged
//! entries wait before this one takes them over).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use events::{Duty, EventStream, LedgerWriter, WriterError, WriterSettings};
use redis::aio::ConnectionLike;
use tokio::sync::watch;

/// Decoding stream replies and building batches allocates many small, short-lived values.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    daemon::init_logging();
    daemon::exit("ledger-writer", run().await)
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match var(name) {
        Some(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a valid number")),
        None => Ok(default),
    }
}

async fn run() -> anyhow::Result<()> {
    let database = var("DATABASE_URL").context("set DATABASE_URL")?;
    let shards: u16 = number("EVENT_SHARDS", 16)?;
    anyhow::ensure!(shards > 0, "EVENT_SHARDS is at least 1");
    let stream =
        EventStream::new(shards).with_namespace(var("EVENT_NAMESPACE").unwrap_or_default());
    let duties = duties(
        var("LEDGER_WRITER_DUTIES")
            .as_deref()
            .unwrap_or("bill,record"),
    )?;
    let mut settings = WriterSettings::default();
    if let Some(consumer) = var("LEDGER_WRITER_CONSUMER") {
        settings.consumer = consumer;
    }
    settings.batch = number("LEDGER_WRITER_BATCH", settings.batch)?;
    anyhow::ensure!(
        (1..=10_000).contains(&settings.batch),
        "LEDGER_WRITER_BATCH is from 1 to 10000"
    );
    settings.claim_idle = Duration::from_millis(number(
        "LEDGER_WRITER_CLAIM_IDLE_MS",
        settings.claim_idle.as_millis() as u64,
    )?);
    let pool = sqlx::postgres::PgPoolOptions::new()
        // each shard's billing loop uses up to two connections at once, its recording loop one
        .max_connections(3 * u32::from(shards.min(32)) + 2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&database)
        .await
        .context("connecting to PostgreSQL")?;
    ledger::MIGRATOR
        .run(&pool)
        .await
        .context("applying migrations")?;
    let ledger = ledger::Ledger::new(pool);
    tracing::info!(consumer = %settings.consumer, shards, ?duties, "ledger writer starting");
    match var("LEDGER_WRITER_CLUSTER_URLS") {
        Some(urls) => {
            let nodes: Vec<&str> = urls.split(',').map(str::trim).collect();
            let client = redis::cluster::ClusterClientBuilder::new(nodes)
                .response_timeout(events::REDIS_RESPONSE_TIMEOUT)
                .build()
                .context("LEDGER_WRITER_CLUSTER_URLS")?;
            let conn = client
                .get_async_connection()
                .await
                .context("connecting to the Redis Cluster")?;
            serve(writers(&ledger, conn, &stream, &settings, &duties)).await
        }
        None => {
            let url = var("REDIS_URL").context("set REDIS_URL (or LEDGER_WRITER_CLUSTER_URLS)")?;
            let client = redis::Client::open(url).context("REDIS_URL")?;
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_response_timeout(Some(events::REDIS_RESPONSE_TIMEOUT));
            let conn = redis::aio::ConnectionManager::new_with_config(client, config)
                .await
                .context("connecting to Redis")?;
            serve(writers(&ledger, conn, &stream, &settings, &duties)).await
        }
    }
}

/// One writer per duty, sharing the ledger and the connection.
fn writers<C>(
    ledger: &ledger::Ledger,
    conn: C,
    stream: &EventStream,
    settings: &WriterSettings,
    duties: &[Duty],
) -> Vec<LedgerWriter<C>>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    duties
        .iter()
        .map(|duty| {
            let settings = WriterSettings {
                duty: *duty,
                group: duty.group().into(),
                ..settings.clone()
            };
            LedgerWriter::new(ledger.clone(), conn.clone(), stream.clone(), settings)
        })
        .collect()
}

/// The duties named in `list` (comma separated), each once.
fn duties(list: &str) -> anyhow::Result<Vec<Duty>> {
    let mut duties = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let duty = match name {
            "bill" => Duty::Bill,
            "record" => Duty::Record,
            other => anyhow::bail!("LEDGER_WRITER_DUTIES: {other:?} is not a duty (bill, record)"),
        };
        if !duties.contains(&duty) {
            duties.push(duty);
        }
    }
    anyhow::ensure!(
        !duties.is_empty(),
        "LEDGER_WRITER_DUTIES names no duty (bill, record)"
    );
    Ok(duties)
}

/// Runs the writers until a shutdown signal, then lets them finish the batches in hand. A
/// writer that ends before that (a loop panicked, its consumer group could not be set up) stops
/// the others and the process, non-zero, so that a supervisor restarts it.
async fn serve<C>(writers: Vec<LedgerWriter<C>>) -> anyhow::Result<()>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let (stop, stopped) = watch::channel(false);
    let mut running = tokio::task::JoinSet::new();
    for writer in writers {
        let writer = Arc::new(writer);
        let stopped = stopped.clone();
        running.spawn(async move {
            let ended = writer.clone().run(stopped).await;
            (writer, ended)
        });
    }
    let mut failure = None;
    tokio::select! {
        _ = daemon::shutdown_signal() => {
            tracing::info!("stopping: the batches in hand are finished first");
        }
        Some(ended) = running.join_next() => {
            failure = Some(early_end(ended));
        }
    }
    let _ = stop.send(true);
    while let Some(ended) = running.join_next().await {
        match ended {
            Ok((writer, Ok(()))) => {
                let totals = writer.totals();
                tracing::info!(
                    duty = ?writer.duty(),
                    entries = totals.entries,
                    billed = totals.billed,
                    repeated = totals.repeated,
                    unbilled = totals.unbilled,
                    recorded = totals.recorded,
                    dead = totals.dead,
                    "ledger writer stopped"
                );
            }
            other => {
                failure.get_or_insert_with(|| early_end(other));
            }
        }
    }
    failure.map_or(Ok(()), Err)
}

/// How a writer's task ended: the writer and its run's result, or the task's failure.
type Ended<C> = Result<(Arc<LedgerWriter<C>>, Result<(), WriterError>), tokio::task::JoinError>;

/// Why a writer ended while it should have run on.
fn early_end<C>(ended: Ended<C>) -> anyhow::Error
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    match ended {
        Ok((writer, Ok(()))) => anyhow::anyhow!("the {:?} writer stopped by itself", writer.duty()),
        Ok((writer, Err(e))) => anyhow::anyhow!("the {:?} writer failed: {e}", writer.duty()),
        Err(e) => anyhow::anyhow!("a writer task ended: {e}"),
    }
}
