//! Starting servingd: connections, the state, the work beside the requests (feed, pacing,
//! reaper, health), serving, and the orderly stop that settles every lease.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use budget::{BudgetController, RedisBudgetStore};
use ledger::{Clock, SystemClock};
use redis::aio::ConnectionManager;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::decision::breaker::Breaker;
use crate::decision::ctr::{CtrModel, SmoothedCtr};
use crate::decision::eligibility::Rates;
use crate::decision::shedding::ValueTracker;
use crate::runtime::api_session::ApiSession;
use crate::runtime::caps::FrequencyCaps;
use crate::runtime::feed::{FeedClient, LiveIndex, follow};
use crate::runtime::heartbeat;
use crate::runtime::pacing_board::PacingBoard;
use crate::runtime::request_metrics::RequestMetrics;
use crate::runtime::serving_state::ServingState;
use crate::runtime::wallets::{LEASE_RULES, Wallets};
use crate::settings::Settings;
use arc_swap::ArcSwap;
use events::EventStream;
use fraud::Blocklist;
use fraud::score::Rules as FraudRules;
use fraud::windows::FraudWindows;

/// How long after a lease's deadline its events may still arrive.
const REAP_GRACE_MS: i64 = 60_000;
/// A prior click-through rate of 0.5%, worth 2,000 impressions.
const CTR_PRIOR_PPB: i64 = 5_000_000;
const CTR_PRIOR_WEIGHT: u64 = 2_000;

/// How often pacing probabilities are set again, and the leases of campaigns that left the
/// index are settled.
const PACING_STEP_EVERY: Duration = Duration::from_secs(1);

/// How often per-click leases are counted by their clicks: the clicks beyond expectation a CPC
/// campaign can be delivered at the end of its budget grow with this lag.
const TRUE_UP_EVERY: Duration = Duration::from_secs(1);

/// How often the blocklist's revision is checked (and the list reloaded when it moved).
const BLOCKLIST_REFRESH_EVERY: Duration = Duration::from_secs(2);

/// How often the supply partners' revision is checked: a disabled partner or a new credential
/// takes effect within this.
const PARTNERS_REFRESH_EVERY: Duration = Duration::from_secs(2);

/// A boxed unit of periodic work.
type Work = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Connects to Redis and PostgreSQL and builds the state.
pub async fn build(settings: Settings) -> anyhow::Result<Arc<ServingState>> {
    let pool = daemon::postgres::connect(
        "DATABASE_URL",
        settings.database_url.expose_secret(),
        8,
        daemon::postgres::Unreachable::Wait,
    )
    .await?;
    ledger::schema::require_current(&pool).await?;
    build_over(settings, pool).await
}

/// Builds the state over an existing PostgreSQL pool (tests hand in their own database).
pub async fn build_over(
    settings: Settings,
    pool: sqlx::PgPool,
) -> anyhow::Result<Arc<ServingState>> {
    build_over_with_clock(settings, pool, Arc::new(SystemClock)).await
}

/// [`build_over`], reading the time from `clock` (tests move a manual one).
pub async fn build_over_with_clock(
    settings: Settings,
    pool: sqlx::PgPool,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<ServingState>> {
    let client = redis::Client::open(settings.redis_url.as_str()).context("the Redis URL")?;
    let redis = ConnectionManager::new(client.clone())
        .await
        .context("connecting to Redis")?;
    // Frequency caps on a connection of their own: on the budget controller's, a burst of lease
    // renewals would queue ahead of the caps the requests wait on.
    let caps_redis = ConnectionManager::new(client)
        .await
        .context("connecting to Redis")?;
    let controller = Arc::new(BudgetController::new(
        RedisBudgetStore::new(redis.clone()),
        pool.clone(),
        LEASE_RULES,
        REAP_GRACE_MS,
        clock.clone(),
    ));
    let ctr: Arc<dyn CtrModel> = Arc::new(SmoothedCtr::new(CTR_PRIOR_PPB, CTR_PRIOR_WEIGHT));
    let tracking = crate::runtime::key_rings::tracking_keys(&settings).await?;
    let entry_keys = crate::runtime::key_rings::entry_keys(&settings).await?;
    // the partners before the first request: until they are read every request is refused
    let partners = ArcSwap::from_pointee(partners::Directory::empty());
    partners::store::reload_if_changed(&pool, &partners)
        .await
        .context("reading the supply partners")?;
    // the recorder first (unless the process installed one), then the handles that feed it
    crate::http::metrics_handle();
    Ok(Arc::new(ServingState {
        metrics: RequestMetrics::register(),
        rates: Rates::new(&settings.currency, settings.rates.clone()),
        live: Arc::new(LiveIndex::new(Rates::new(
            &settings.currency,
            settings.rates.clone(),
        ))),
        ctr,
        caps: FrequencyCaps::new(caps_redis),
        redis,
        db: pool,
        caps_breaker: Mutex::new(Breaker::new(5, 2_000)),
        wallets: Wallets::new(
            controller.clone(),
            &settings.server_id,
            settings.lease_want_micros,
            settings.pacing_share,
        ),
        controller,
        pacing: PacingBoard::new(settings.pacing_share, clock.now()),
        clock,
        in_flight: AtomicUsize::new(0),
        values: Mutex::new(ValueTracker::default()),
        budget_reachable: AtomicBool::new(false),
        tracking,
        partners,
        blocklist: ArcSwap::from_pointee(Blocklist::empty()),
        fraud_windows: FraudWindows::new(settings.event_namespace.clone()),
        fraud_rules: FraudRules::default(),
        events: EventStream::new(settings.event_shards, entry_keys)
            .with_namespace(settings.event_namespace.clone()),
        settings,
    }))
}

/// Serves on `listener` until `shutdown` completes; then stops the background work and settles
/// every lease held.
pub async fn run(
    state: Arc<ServingState>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let feed = FeedClient::new(
        &state.settings.api_url,
        state.settings.api_key.clone(),
        state.settings.feed_wait_s,
    )?;
    let session = ApiSession::new(
        &state.settings.api_url,
        state.settings.api_key.clone(),
        Duration::from_secs(10),
    )?;
    let mut tasks: Vec<JoinHandle<()>> = vec![
        tokio::spawn(follow(feed, state.live.clone(), stop_rx.clone())),
        tokio::spawn(heartbeat::beat(
            session,
            state.settings.server_id.clone(),
            state.live.clone(),
            stop_rx.clone(),
        )),
    ];
    tasks.extend(background(state.clone(), stop_rx));
    let app = crate::http::router(state.clone());
    // the peer address, for the tracking endpoints' client address
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("serving");
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    state.wallets.close().await;
    tracing::info!("stopped; leases settled");
    served
}

/// How often the metrics recorder folds histogram samples into summaries (installed as a bare
/// recorder it does no upkeep of its own, and unscraped samples would pile up without bound).
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The periodic work: pacing steps (and releasing the leases of campaigns gone from the index),
/// the lease reaper, counting per-click leases by their clicks, the budget health check, value
/// decay, the metrics recorder's upkeep.
fn background(state: Arc<ServingState>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let every = |period: Duration,
                 state: Arc<ServingState>,
                 mut stop: watch::Receiver<bool>,
                 work: fn(Arc<ServingState>) -> Work| {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tick.tick() => work(state.clone()).await,
                }
            }
        })
    };
    vec![
        every(PACING_STEP_EVERY, state.clone(), stop.clone(), |e| {
            Box::pin(async move {
                let index = e.live.load();
                e.pacing.step(&index, e.clock.now());
                let released = e.wallets.retain_live(&index);
                if released > 0 {
                    metrics::counter!("servingd_wallets_released_total").increment(released as u64);
                }
            })
        }),
        every(Duration::from_secs(5), state.clone(), stop.clone(), |e| {
            Box::pin(async move {
                e.values
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .decay(0.8);
            })
        }),
        every(Duration::from_secs(5), state.clone(), stop.clone(), |e| {
            Box::pin(async move {
                if let Err(err) = e.controller.reap().await {
                    tracing::warn!(error = %err, "reaping expired leases failed");
                }
            })
        }),
        every(TRUE_UP_EVERY, state.clone(), stop.clone(), |e| {
            Box::pin(async move {
                let window_ms = e.settings.click_window_s.saturating_mul(1000);
                match e.controller.true_up(window_ms).await {
                    Ok(moved) => {
                        metrics::counter!("servingd_click_counts_moved_total")
                            .increment(moved as u64);
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "counting per-click leases by their clicks failed")
                    }
                }
            })
        }),
        every(METRICS_UPKEEP_EVERY, state.clone(), stop.clone(), |_| {
            Box::pin(async move {
                if let Some(handle) = crate::http::metrics_handle() {
                    handle.run_upkeep();
                }
            })
        }),
        every(BLOCKLIST_REFRESH_EVERY, state.clone(), stop.clone(), |e| {
            Box::pin(async move {
                let rate = e.settings.blocklist_fp_rate;
                match fraud::blocklist::reload_if_changed(&e.db, &e.blocklist, rate).await {
                    Ok(_) => {
                        let list = e.blocklist.load();
                        metrics::gauge!("servingd_blocklist_entries").set(list.entries() as f64);
                        metrics::gauge!("servingd_blocklist_revision").set(list.revision() as f64);
                    }
                    Err(err) => tracing::warn!(error = %err, "reloading the blocklist failed"),
                }
            })
        }),
        every(PARTNERS_REFRESH_EVERY, state.clone(), stop.clone(), |e| {
            Box::pin(async move {
                match partners::store::reload_if_changed(&e.db, &e.partners).await {
                    Ok(_) => {
                        metrics::gauge!("servingd_partners").set(e.partners.load().len() as f64);
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "reloading the supply partners failed")
                    }
                }
            })
        }),
        every(Duration::from_secs(2), state, stop, |e| {
            Box::pin(async move {
                let ok = e.budget_dependencies_answer().await;
                e.budget_reachable.store(ok, Ordering::Relaxed);
                metrics::gauge!("servingd_budget_reachable").set(if ok { 1.0 } else { 0.0 });
                for (currency, micros) in e.unspent_by_currency() {
                    metrics::gauge!("servingd_held_unspent_micros", "currency" => currency.code().to_owned())
                        .set(micros as f64);
                }
            })
        }),
    ]
}
