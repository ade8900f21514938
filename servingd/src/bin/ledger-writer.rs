//! `ledger-writer`: posts the spend of served events from the event stream to the ledger, exactly
//! once, and records every event for reports and the fraud scorer, until stopped (SIGTERM or
//! Ctrl-C). The work is `events::LedgerWriter`, one per duty, each in its own consumer
//! group; the binary ships with servingd, which produces the events. Every setting is a flag
//! or its environment variable (`ledger-writer --help`). `/metrics` and `/healthz` at
//! `--listen-addr` say how far behind the stream it is and whether its loops still step.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use daemon::postgres::Unreachable;
use events::writer_status;
use events::{
    Duty, EntryKeys, EventStream, LedgerWriter, SharedEntryKeys, WriterError, WriterSettings,
    WriterStatus,
};
use redis::aio::ConnectionLike;
use secrecy::SecretString;
use servingd::runtime::key_rings::{self, KeySource};
use servingd::settings::VaultSecret;
use tokio::sync::watch;

/// Decoding stream replies and building batches allocates many small, short-lived values.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Posts the spend of served events from servingd's event stream to the ledger, exactly once,
/// and records every event for reports and the fraud scorer, until SIGTERM or Ctrl-C.
#[derive(Parser)]
#[command(name = "ledger-writer", version)]
struct Args {
    /// PostgreSQL, where the ledger is (postgres://user:password@host:port/database).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The Redis servingd appends events to.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:56379/")]
    redis_url: String,
    /// Read the stream from this Redis Cluster instead of REDIS_URL (its nodes, comma
    /// separated): only where servingd writes its events to the same cluster.
    #[arg(long, env = "REDIS_CLUSTER_URLS", value_delimiter = ',')]
    redis_cluster_urls: Vec<String>,
    /// Shards of the event stream: the number servingd was given.
    #[arg(long, env = "EVENT_SHARDS", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..))]
    event_shards: u16,
    /// Put before every event stream key: what servingd was given.
    #[arg(long, env = "EVENT_NAMESPACE", default_value = "")]
    event_namespace: String,
    /// Keys that check each event stream entry's seal, `ID:KEY,ID:KEY`: servingd's
    /// EVENT_ENTRY_KEYS. Entries they do not verify are set aside, never billed. Required
    /// unless they come from Vault.
    #[arg(long, env = "EVENT_ENTRY_KEYS", hide_env_values = true)]
    entry_keys: Option<String>,
    /// Take the entry keys from this path of Vault's KV state instead (with --vault-addr and
    /// --vault-token); a new version is taken up within --secrets-refresh-s.
    #[arg(long, env = "EVENT_ENTRY_KEYS_VAULT_PATH")]
    entry_keys_vault_path: Option<String>,
    /// Vault (OpenBao), for the entry keys.
    #[arg(long, env = "VAULT_ADDR")]
    vault_addr: Option<String>,
    /// Vault's token.
    #[arg(long, env = "VAULT_TOKEN", hide_env_values = true)]
    vault_token: Option<String>,
    /// Vault's KV mount holding the entry keys.
    #[arg(long, env = "LEDGER_WRITER_VAULT_KV_MOUNT", default_value = "secret")]
    vault_kv_mount: String,
    /// How often the entry keys are read again from Vault, seconds.
    #[arg(long, env = "LEDGER_WRITER_SECRETS_REFRESH_S", default_value_t = 30)]
    secrets_refresh_s: u64,
    /// The duties this process takes on: run billing and recording in separate processes to
    /// give the money path a machine of its own.
    #[arg(
        long,
        env = "LEDGER_WRITER_DUTIES",
        value_delimiter = ',',
        default_value = "bill,record"
    )]
    duties: Vec<DutyName>,
    /// This writer's name in the consumer groups: keep it across restarts to take back its
    /// pending entries at once (default: one made from the host and process).
    #[arg(long, env = "LEDGER_WRITER_CONSUMER")]
    consumer: Option<String>,
    /// Most entries read, posted and acknowledged at once per shard.
    #[arg(long, env = "LEDGER_WRITER_BATCH", default_value_t = 2000,
          value_parser = clap::value_parser!(u16).range(1..=10_000))]
    batch: u16,
    /// How long another writer's unacknowledged entries wait before this one takes them over,
    /// milliseconds.
    #[arg(long, env = "LEDGER_WRITER_CLAIM_IDLE_MS", default_value_t = 30_000)]
    claim_idle_ms: u64,
    /// Where /metrics and /healthz are served.
    #[arg(
        long,
        env = "LEDGER_WRITER_LISTEN_ADDR",
        default_value = "127.0.0.1:8091"
    )]
    listen_addr: String,
    /// /healthz fails once a writer has had no successful step for this many seconds.
    #[arg(long, env = "LEDGER_WRITER_STALLED_AFTER_S", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    stalled_after_s: u64,
}

/// A duty, as the settings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DutyName {
    /// Post each event's spend to the ledger.
    Bill,
    /// Record each event for reports and the fraud scorer.
    Record,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    daemon::init_logging();
    daemon::exit("ledger-writer", run(args).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let shards = args.event_shards;
    let stream = EventStream::new(shards, entry_keys(&args).await?)
        .with_namespace(args.event_namespace.clone());
    let mut duties = Vec::new();
    for duty in &args.duties {
        let duty = match duty {
            DutyName::Bill => Duty::Bill,
            DutyName::Record => Duty::Record,
        };
        if !duties.contains(&duty) {
            duties.push(duty);
        }
    }
    let mut settings = WriterSettings::default();
    if let Some(consumer) = args.consumer.clone() {
        settings.consumer = consumer;
    }
    settings.batch = usize::from(args.batch);
    settings.claim_idle = Duration::from_millis(args.claim_idle_ms);
    // each shard's billing loop uses up to two connections at once, its recording loop one
    let connections = 3 * u32::from(shards.min(32)) + 2;
    let pool = daemon::postgres::connect(
        "DATABASE_URL",
        &args.database_url,
        connections,
        Unreachable::Wait,
    )
    .await?;
    ledger::schema::require_current(&pool).await?;
    let ledger = ledger::Ledger::new(pool);
    tracing::info!(consumer = %settings.consumer, shards, ?duties, "ledger writer starting");
    if args.redis_cluster_urls.is_empty() {
        let client = redis::Client::open(args.redis_url.as_str()).context("REDIS_URL")?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(events::REDIS_RESPONSE_TIMEOUT));
        let conn = redis::aio::ConnectionManager::new_with_config(client, config)
            .await
            .with_context(|| format!("connecting to Redis at {} (REDIS_URL)", args.redis_url))?;
        tracing::info!(redis = %args.redis_url, "reading events from Redis");
        let writers = writers(&ledger, conn.clone(), &stream, &settings, &duties);
        watch(&args, &ledger, conn, &writers).await?;
        serve(writers).await
    } else {
        let nodes: Vec<&str> = args.redis_cluster_urls.iter().map(|u| u.trim()).collect();
        let client = redis::cluster::ClusterClientBuilder::new(nodes)
            .response_timeout(events::REDIS_RESPONSE_TIMEOUT)
            .build()
            .context("REDIS_CLUSTER_URLS")?;
        let conn = client.get_async_connection().await.with_context(|| {
            format!(
                "connecting to the Redis Cluster at {} (REDIS_CLUSTER_URLS)",
                args.redis_cluster_urls.join(",")
            )
        })?;
        tracing::info!(cluster = %args.redis_cluster_urls.join(","), "reading events from the Redis Cluster");
        let writers = writers(&ledger, conn.clone(), &stream, &settings, &duties);
        watch(&args, &ledger, conn, &writers).await?;
        serve(writers).await
    }
}

/// The keys that check entries' seals, from Vault or `--entry-keys`.
async fn entry_keys(args: &Args) -> anyhow::Result<SharedEntryKeys> {
    let vault = match &args.entry_keys_vault_path {
        None => None,
        Some(path) => {
            let (Some(address), Some(token)) = (&args.vault_addr, &args.vault_token) else {
                anyhow::bail!(
                    "EVENT_ENTRY_KEYS_VAULT_PATH needs VAULT_ADDR and VAULT_TOKEN as well"
                );
            };
            let mut secret = VaultSecret::new(address, token, path);
            secret.kv_mount = args.vault_kv_mount.clone();
            secret.refresh_s = args.secrets_refresh_s;
            Some(secret)
        }
    };
    let keys = args.entry_keys.clone().map(SecretString::from);
    let source = KeySource {
        setting: "EVENT_ENTRY_KEYS",
        keys: keys.as_ref(),
        signing: None,
        vault: vault.as_ref(),
        dev_random: false,
    };
    key_rings::load(source, EntryKeys::from).await
}

/// Serves the writers' /metrics and /healthz at `--listen-addr`.
async fn watch<C>(
    args: &Args,
    ledger: &ledger::Ledger,
    redis: C,
    writers: &[Arc<LedgerWriter<C>>],
) -> anyhow::Result<()>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let watched = Watched {
        writers: writers.to_vec(),
        redis,
        db: ledger.pool().clone(),
        stalled_after: Duration::from_secs(args.stalled_after_s),
    };
    daemon::status::serve(
        "LEDGER_WRITER_LISTEN_ADDR",
        &args.listen_addr,
        Arc::new(watched),
    )
    .await
}

/// What /metrics and /healthz read.
struct Watched<C> {
    writers: Vec<Arc<LedgerWriter<C>>>,
    redis: C,
    db: sqlx::PgPool,
    stalled_after: Duration,
}

impl<C> Watched<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn statuses(&self) -> Vec<WriterStatus> {
        let mut statuses = Vec::new();
        for writer in &self.writers {
            statuses.push(writer.status(&mut self.redis.clone()).await);
        }
        statuses
    }
}

impl<C> daemon::status::Status for Watched<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn metrics(&self) -> String {
        let dead_letters = events::reads::dead_letter_rows(&self.db).await.ok();
        writer_status::render_metrics(&self.statuses().await, dead_letters)
    }

    async fn health(&self) -> Result<(), Vec<String>> {
        let statuses: Vec<WriterStatus> = self.writers.iter().map(|w| w.local_status()).collect();
        writer_status::health(&statuses, std::time::SystemTime::now(), self.stalled_after)
    }
}

/// One writer per duty, sharing the ledger and the connection.
fn writers<C>(
    ledger: &ledger::Ledger,
    conn: C,
    stream: &EventStream,
    settings: &WriterSettings,
    duties: &[Duty],
) -> Vec<Arc<LedgerWriter<C>>>
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
            Arc::new(LedgerWriter::new(
                ledger.clone(),
                conn.clone(),
                stream.clone(),
                settings,
            ))
        })
        .collect()
}

/// Runs the writers until a shutdown signal, then lets them finish the batches in hand. A
/// writer that ends before that (a loop panicked, its consumer group could not be set up) stops
/// the others and the process, non-zero, so that a supervisor restarts it.
async fn serve<C>(writers: Vec<Arc<LedgerWriter<C>>>) -> anyhow::Result<()>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let (stop, stopped) = watch::channel(false);
    let mut running = tokio::task::JoinSet::new();
    for writer in writers {
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
                    unsealed = totals.unsealed,
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
