//! Telling the API, every few seconds, that this instance is alive and which revision of the
//! campaign feed it serves (operators see it in `adctl top`'s system panel). A heartbeat that
//! fails is logged and counted; serving goes on.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::runtime::api_session::ApiSession;
use crate::runtime::feed::LiveIndex;

/// How often a heartbeat is sent (the API counts an instance live for a minute).
pub const EVERY: Duration = Duration::from_secs(10);

/// What a heartbeat says.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Heartbeat {
    pub instance: String,
    pub revision: i64,
    pub campaigns: i32,
    pub feed_staleness_ms: i64,
    pub version: &'static str,
    pub started_at: DateTime<Utc>,
}

/// This instance's heartbeat as of now.
pub fn heartbeat(instance: &str, live: &LiveIndex, started_at: DateTime<Utc>) -> Heartbeat {
    let index = live.load();
    Heartbeat {
        instance: instance.to_owned(),
        revision: index.revision().max(0),
        campaigns: i32::try_from(index.len()).unwrap_or(i32::MAX),
        feed_staleness_ms: (live.staleness_s() * 1000.0).round() as i64,
        version: env!("CARGO_PKG_VERSION"),
        started_at,
    }
}

/// Sends `instance`'s heartbeat every [`EVERY`] until `shutdown` turns true.
pub async fn beat(
    mut session: ApiSession,
    instance: String,
    live: Arc<LiveIndex>,
    mut shutdown: watch::Receiver<bool>,
) {
    let started_at = Utc::now();
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = ticks.tick() => {}
        }
        let beat = heartbeat(&instance, &live, started_at);
        if let Err(e) = send(&mut session, &beat).await {
            metrics::counter!("servingd_heartbeat_errors_total").increment(1);
            tracing::warn!(error = %format!("{e:#}"), "the heartbeat did not reach the API");
        }
    }
}

async fn send(session: &mut ApiSession, beat: &Heartbeat) -> anyhow::Result<()> {
    let token = session.token().await?;
    let response = session
        .http()
        .post(session.url("/api/v1/servingd/heartbeat"))
        .bearer_auth(token)
        .json(beat)
        .send()
        .await
        .context("sending the heartbeat")?;
    if response.status() == reqwest::StatusCode::UNAUTHORIZED {
        session.forget_token();
    }
    response
        .error_for_status()
        .context("sending the heartbeat")?;
    Ok(())
}
