//! The campaign feed: every campaign change takes the next global revision in its own
//! transaction; servingd reads a snapshot, then every change after the revision it has.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

/// The channel a committed change is announced on (the payload is its revision).
pub const CHANNEL: &str = "campaign_feed";

/// The latest revision known to be committed, pushed by PostgreSQL notifications; long-polls
/// wait on it.
#[derive(Clone)]
pub struct FeedSignal {
    latest: watch::Receiver<i64>,
}

impl FeedSignal {
    /// Listens for committed changes in the background (reconnecting when the listener fails).
    pub fn listen(pool: PgPool) -> Self {
        let (tx, rx) = watch::channel(0);
        tokio::spawn(async move {
            loop {
                if let Err(e) = relay(&pool, &tx).await {
                    tracing::warn!(error = %e, "campaign feed listener failed; reconnecting");
                }
                if tx.is_closed() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        FeedSignal { latest: rx }
    }

    /// Waits until a revision after `since` is announced, or `timeout` passes.
    pub async fn wait_after(&self, since: i64, timeout: Duration) {
        let mut rx = self.latest.clone();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|latest| *latest > since)).await;
    }
}

async fn relay(pool: &PgPool, tx: &watch::Sender<i64>) -> anyhow::Result<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    loop {
        let notification = listener.recv().await?;
        if let Ok(revision) = notification.payload().parse::<i64>() {
            tx.send_if_modified(|latest| {
                let newer = revision > *latest;
                if newer {
                    *latest = revision;
                }
                newer
            });
        }
        if tx.is_closed() {
            return Ok(());
        }
    }
}
