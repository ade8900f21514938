//! `fraud-scorer`: fraud level 3. Every `--every-s` seconds it judges the events of the last
//! `--window-s` seconds together, refunds the billed ads of the sources it convicts and adds
//! those sources to the blocklist. Runs until SIGTERM or Ctrl-C. The work is `fraud::scorer`;
//! every setting is a flag or its environment variable (`fraud-scorer --help`). `/metrics` and
//! `/healthz` at `--listen-addr` say what its runs did and whether they still succeed.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use clap::Parser;
use daemon::postgres::Unreachable;
use fraud::offline::Rules;
use fraud::scorer::score_recent;
use fraud::scorer_status::ScorerProgress;

/// Fraud level 3: judges the recent events of each source together, refunds the billed ads of
/// the sources it convicts and adds them to the blocklist, every few seconds until SIGTERM or
/// Ctrl-C.
#[derive(Parser)]
#[command(name = "fraud-scorer", version)]
struct Args {
    /// PostgreSQL, where the events, the ledger and the blocklist are.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Seconds between two scorings.
    #[arg(long, env = "FRAUD_SCORER_EVERY_S", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    every_s: u64,
    /// Seconds of events judged together each time.
    #[arg(long, env = "FRAUD_SCORER_WINDOW_S", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..))]
    window_s: u64,
    /// Where /metrics and /healthz are served.
    #[arg(
        long,
        env = "FRAUD_SCORER_LISTEN_ADDR",
        default_value = "127.0.0.1:8092"
    )]
    listen_addr: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    daemon::init_logging();
    daemon::exit("fraud-scorer", run(args).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let every = Duration::from_secs(args.every_s);
    let window = Duration::from_secs(args.window_s);
    let pool =
        daemon::postgres::connect("DATABASE_URL", &args.database_url, 4, Unreachable::Wait).await?;
    ledger::schema::require_current(&pool).await?;
    let ledger = ledger::Ledger::new(pool.clone());
    let watched = Arc::new(Watched {
        progress: Mutex::new(ScorerProgress::default()),
        started: SystemTime::now(),
        // two runs may fail (or take a whole interval) before the scorer counts as stalled
        stalled_after: every * 3 + Duration::from_secs(60),
    });
    daemon::status::serve(
        "FRAUD_SCORER_LISTEN_ADDR",
        &args.listen_addr,
        watched.clone(),
    )
    .await?;
    let rules = Rules::default();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(
        every_s = every.as_secs(),
        window_s = window.as_secs(),
        "fraud scorer starting"
    );
    // one stop signal for the whole run: a SIGTERM that arrives while scoring is kept
    let stop = daemon::shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut stop => return Ok(()),
        }
        let scored = score_recent(&pool, &ledger, window, &rules, chrono::Utc::now()).await;
        match &scored {
            Ok(outcome) => tracing::info!(
                events = outcome.events,
                convicted = outcome.sources,
                invalidated = outcome.invalidated,
                refunds = outcome.refunds,
                refunded = ?outcome.refunded,
                "scored"
            ),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "scoring failed"),
        }
        watched
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(
                scored.as_ref().map_err(|e| format!("{e:#}")),
                SystemTime::now(),
            );
    }
}

/// What /metrics and /healthz read.
struct Watched {
    progress: Mutex<ScorerProgress>,
    started: SystemTime,
    stalled_after: Duration,
}

impl Watched {
    fn progress(&self) -> ScorerProgress {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl daemon::status::Status for Watched {
    async fn metrics(&self) -> String {
        self.progress().render_metrics()
    }

    async fn health(&self) -> Result<(), Vec<String>> {
        self.progress()
            .health(self.started, SystemTime::now(), self.stalled_after)
    }
}
