//! Following the API's campaign feed: a snapshot (taken page by page), then the changes since
//! its revision by long-poll, each page applied by swapping in a whole new index. When the API cannot be
//! reached servingd keeps serving the last good index, backs off (with jitter) and exports how
//! stale the index is.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use rand::Rng;
use secrecy::SecretString;
use tokio::sync::watch;

use crate::decision::campaign::FeedEntry;
use crate::decision::eligibility::Rates;
use crate::decision::index::CampaignIndex;
use crate::runtime::api_session::ApiSession;

/// The index and how fresh it is, shared by the follower and the request path.
pub struct LiveIndex {
    index: ArcSwap<CampaignIndex>,
    loaded: AtomicBool,
    /// When the feed last answered, Unix milliseconds.
    last_ok_ms: AtomicI64,
}

impl LiveIndex {
    /// No campaigns yet; bids to be valued with `rates`.
    pub fn new(rates: Rates) -> LiveIndex {
        LiveIndex {
            index: ArcSwap::from_pointee(CampaignIndex::empty(rates)),
            loaded: AtomicBool::new(false),
            last_ok_ms: AtomicI64::new(0),
        }
    }

    /// The current index (one revision throughout).
    pub fn load(&self) -> Arc<CampaignIndex> {
        self.index.load_full()
    }

    /// Replaces the index.
    pub fn store(&self, index: CampaignIndex) {
        metrics::gauge!("servingd_index_revision").set(index.revision() as f64);
        metrics::gauge!("servingd_index_campaigns").set(index.len() as f64);
        self.index.store(Arc::new(index));
        self.loaded.store(true, Ordering::Release);
    }

    /// Whether a snapshot has been loaded.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    fn mark_ok(&self) {
        self.last_ok_ms
            .store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    /// Seconds since the feed last answered (0 before it ever did).
    pub fn staleness_s(&self) -> f64 {
        let last = self.last_ok_ms.load(Ordering::Relaxed);
        if last == 0 {
            return 0.0;
        }
        (chrono::Utc::now().timestamp_millis() - last).max(0) as f64 / 1000.0
    }
}

/// A page of the feed with each campaign still raw JSON, to be read on its own ([`FeedEntry`]).
/// A page of the feed, each campaign left as JSON (read one by one).
pub type FeedPage = domain::feed::FeedPage<serde_json::Value>;

/// A client of the feed.
pub struct FeedClient {
    session: ApiSession,
    wait_s: u64,
    /// Most campaigns asked for in one page of a snapshot.
    snapshot_page: u16,
}

enum Poll {
    Page(FeedPage),
    /// The revision is unknown to the API: start again from a snapshot.
    Gone,
}

impl FeedClient {
    /// A client of the API at `api_url`, signing in with a service `api_key`.
    pub fn new(api_url: &str, api_key: SecretString, wait_s: u64) -> anyhow::Result<FeedClient> {
        Ok(FeedClient {
            session: ApiSession::new(api_url, api_key, Duration::from_secs(wait_s + 15))?,
            wait_s,
            snapshot_page: 1000,
        })
    }

    /// The changes after `since`, or with `since` 0 the whole snapshot, page after page.
    async fn poll(&mut self, since: i64) -> anyhow::Result<Poll> {
        if since != 0 {
            let query = format!("since={since}&wait_s={}", self.wait_s);
            return self.page(&query).await;
        }
        self.snapshot().await.map(Poll::Page)
    }

    /// Pages of at most `campaigns` campaigns for a snapshot (the API's most is 1000).
    pub fn with_snapshot_page(mut self, campaigns: u16) -> Self {
        self.snapshot_page = campaigns.clamp(1, 1000);
        self
    }

    /// A whole snapshot: its pages, each after the last, joined into one.
    pub async fn snapshot(&mut self) -> anyhow::Result<FeedPage> {
        let limit = self.snapshot_page;
        let mut query = format!("since=0&limit={limit}");
        let mut snapshot: Option<FeedPage> = None;
        loop {
            let Poll::Page(page) = self.page(&query).await? else {
                anyhow::bail!("the feed refused a page of its own snapshot");
            };
            let next = page.next_cursor.clone();
            match snapshot.as_mut() {
                None => snapshot = Some(page),
                Some(whole) => whole.campaigns.extend(page.campaigns),
            }
            match next {
                Some(cursor) => query = format!("since=0&limit={limit}&cursor={cursor}"),
                None => break,
            }
        }
        let mut whole = snapshot.context("the feed answered no page")?;
        whole.more = false;
        whole.next_cursor = None;
        Ok(whole)
    }

    /// One page of the feed.
    async fn page(&mut self, query: &str) -> anyhow::Result<Poll> {
        let token = self.session.token().await?;
        let response = self
            .session
            .http()
            .get(self.session.url(&format!("/api/v1/feed/campaigns?{query}")))
            .bearer_auth(token)
            .send()
            .await
            .context("polling the campaign feed")?;
        match response.status() {
            reqwest::StatusCode::GONE => Ok(Poll::Gone),
            reqwest::StatusCode::UNAUTHORIZED => {
                self.session.forget_token();
                anyhow::bail!("the API refused the token; signing in again")
            }
            status if !status.is_success() => anyhow::bail!("the campaign feed answered {status}"),
            _ => Ok(Poll::Page(
                response.json().await.context("reading the campaign feed")?,
            )),
        }
    }
}

/// Follows the feed into `live` until `shutdown` turns true.
pub async fn follow(
    mut client: FeedClient,
    live: Arc<LiveIndex>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut since = 0;
    let mut backoff = Duration::from_millis(250);
    loop {
        let polled = tokio::select! {
            _ = shutdown.changed() => return,
            polled = client.poll(since) => polled,
        };
        match polled {
            Ok(Poll::Page(page)) => {
                live.mark_ok();
                backoff = Duration::from_millis(250);
                since = apply(&live, page);
            }
            Ok(Poll::Gone) => {
                tracing::warn!(
                    since,
                    "the feed no longer knows our revision; taking a snapshot"
                );
                since = 0;
            }
            Err(e) => {
                metrics::counter!("servingd_feed_errors_total").increment(1);
                tracing::warn!(error = %format!("{e:#}"), "campaign feed unavailable; serving the last index");
                let jitter = rand::rng().random_range(0.5..1.5);
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(backoff.mul_f64(jitter)) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
        metrics::gauge!("servingd_feed_staleness_seconds").set(live.staleness_s());
    }
}

/// Applies one page; returns the revision to ask from next.
fn apply(live: &LiveIndex, page: FeedPage) -> i64 {
    let (index, skipped) = if page.snapshot {
        let campaigns: Vec<_> = page.campaigns.into_iter().map(FeedEntry::read).collect();
        live.load().from_snapshot(page.revision, campaigns)
    } else if page.changes.is_empty() {
        return page.revision.max(live.load().revision());
    } else {
        let changes: Vec<_> = (page.changes.into_iter())
            .map(|c| FeedEntry::read(c.campaign))
            .collect();
        live.load().with_changes(page.revision, changes)
    };
    for (id, why) in skipped {
        tracing::warn!(campaign = %id, reason = %why, "campaign left out of the index");
    }
    live.store(index);
    page.revision
}
