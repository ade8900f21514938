//! `fraud-scorer`: fraud level 3. Every `FRAUD_SCORER_EVERY_S` (60) seconds it judges the events
//! of the last `FRAUD_SCORER_WINDOW_S` (600) seconds together, refunds the billed ads of the
//! sources it convicts and adds those sources to the blocklist (`DATABASE_URL`). Runs until
//! SIGTERM or Ctrl-C. The work is `fraud::scorer`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use fraud::offline::Rules;
use fraud::scorer::score_recent;

#[tokio::main]
async fn main() -> ExitCode {
    daemon::init_logging();
    daemon::exit("fraud-scorer", run().await)
}

fn seconds(name: &str, default: u64) -> anyhow::Result<Duration> {
    match std::env::var(name).ok().filter(|v| !v.is_empty()) {
        Some(v) => v
            .parse()
            .ok()
            .filter(|s: &u64| *s > 0)
            .map(Duration::from_secs)
            .with_context(|| format!("{name}={v:?} is not a positive number of seconds")),
        None => Ok(Duration::from_secs(default)),
    }
}

async fn run() -> anyhow::Result<()> {
    let database = std::env::var("DATABASE_URL").context("set DATABASE_URL")?;
    let every = seconds("FRAUD_SCORER_EVERY_S", 60)?;
    let window = seconds("FRAUD_SCORER_WINDOW_S", 600)?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&database)
        .await
        .context("connecting to PostgreSQL")?;
    let ledger = ledger::Ledger::new(pool.clone());
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
        match score_recent(&pool, &ledger, window, &rules, chrono::Utc::now()).await {
            Ok(outcome) => tracing::info!(
                events = outcome.events,
                convicted = outcome.sources,
                invalidated = outcome.invalidated,
                refunds = outcome.refunds,
                refunded = %outcome.refunded,
                "scored"
            ),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "scoring failed"),
        }
    }
}
