//! Connecting to PostgreSQL and Redis, serving until shutdown, and the work that runs beside
//! the requests (the hold sweep).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use audit::{AuditTrail, CheckpointRules};
use budget::{BudgetController, LeaseRules, RedisBudgetStore};
use ledger::{Clock, Ledger, SystemClock};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::revocations::{RELOAD_EVERY, Revocations};
use crate::auth::sign_in_guard::SignInGuard;
use crate::auth::sign_in_policy::SignInPolicy;
use crate::auth::{Role, secrets, store as auth_store};
use crate::feed::FeedSignal;
use crate::http::rate_limit::RateLimiter;
use crate::settings::Settings;
use crate::state::{AppState, Inner};

/// Connects to everything the API needs; the database must have every migration (`api
/// migrate` applies them).
pub async fn connect(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let db = daemon::postgres::connect(
        "DATABASE_URL",
        settings.database_url.expose_secret(),
        settings.database_max_connections,
        daemon::postgres::Unreachable::Wait,
    )
    .await?;
    ledger::schema::require_current(&db).await?;
    state_over(db, settings, clock).await
}

/// State over an existing pool (tests hand in their own database).
pub async fn state_over(
    db: sqlx::PgPool,
    settings: Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<AppState> {
    let client = redis::Client::open(settings.redis_url.as_str()).context("the Redis URL")?;
    let redis = redis::aio::ConnectionManager::new(client)
        .await
        .context("connecting to Redis")?;
    let keys = crate::key_source::load(&settings).await?;
    let revocations = Revocations::default();
    revocations
        .reload(&db, clock.now(), settings.jwt.token_ttl_s)
        .await
        .context("reading the revoked API keys")?;
    let limiter = RateLimiter::new(
        redis.clone(),
        settings.rate_limit_per_s,
        settings.rate_limit_burst,
    );
    Ok(AppState::new(Inner {
        ledger: Ledger::new(db.clone()).with_clock(clock.clone()),
        audit: {
            let trail = AuditTrail::new(db.clone()).with_clock(clock.clone());
            match &settings.checkpoint_log {
                Some(path) => trail.with_witness(audit::witness::CheckpointLog::new(path)),
                None => trail,
            }
        },
        unrefreshed: Default::default(),
        budgets: BudgetController::new(
            RedisBudgetStore::new(redis.clone()),
            db.clone(),
            LeaseRules::PLATFORM,
            0,
            clock.clone(),
        ),
        feed: FeedSignal::listen(db.clone()),
        db,
        sign_in: SignInGuard::new(
            redis.clone(),
            &settings.signin_namespace,
            SignInPolicy::default(),
            settings.signin_hashing,
            Duration::from_millis(settings.signin_hashing_wait_ms),
        ),
        redis,
        keys,
        revocations,
        limiter,
        clock,
        settings,
    }))
}

/// How long the background tasks get, together, to finish what they are doing once the
/// requests have drained (a chain pass, a sweep of every campaign, a signature from Vault);
/// those still running then are aborted.
const BACKGROUND_GRACE: Duration = Duration::from_secs(15);

/// The most chain passes the chainer makes on the way out (what others add meanwhile waits
/// for the next instance).
const LAST_CHAIN_PASSES: usize = 100;

/// Serves on `listener` until `shutdown` completes, then drains in-flight requests, tells the
/// background tasks to stop (the chainer chains what waits in the outbox first) and waits for
/// them.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop, stopping) = watch::channel(false);
    let background = [
        (
            "hold sweep",
            tokio::spawn(sweep_until(state.clone(), stopping.clone())),
        ),
        (
            "audit chainer",
            tokio::spawn(chain_until(state.clone(), stopping.clone())),
        ),
        (
            "revocations",
            tokio::spawn(revocations_until(state.clone(), stopping.clone())),
        ),
        (
            "audit signer",
            tokio::spawn(sign_until(state.clone(), stopping)),
        ),
    ];
    let upkeep = tokio::spawn(crate::http::metrics::upkeep_forever());
    let metrics = match state.settings.metrics_addr {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr} (ADPLAT_API_METRICS_ADDR)"))?;
            tracing::info!(%addr, "serving /metrics");
            let metrics = crate::metrics_router(state.clone());
            Some(tokio::spawn(
                async move { axum::serve(listener, metrics).await },
            ))
        }
        None => None,
    };
    let app = crate::router(state);
    // the peer's address reaches the handlers (sign-in limits count by it)
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving");
    tracing::info!("requests drained; stopping the background tasks");
    let _ = stop.send(true);
    let deadline = tokio::time::Instant::now() + BACKGROUND_GRACE;
    for (name, mut task) in background {
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(task = name, error = %e, "a background task failed"),
            Err(_) => {
                tracing::warn!(
                    task = name,
                    "a background task did not stop in time; aborted"
                );
                task.abort();
            }
        }
    }
    // the metrics' upkeep and listener hold no work of their own
    upkeep.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    served
}

/// Waits `pause`, or less if told to stop; whether to stop.
async fn stopped_during(pause: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(pause) => {}
        _ = stop.changed() => {}
    }
    *stop.borrow()
}

/// Reads the revoked API keys again every [`RELOAD_EVERY`]: another instance's revocation holds
/// here within about a second.
async fn revocations_until(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        let now = state.clock.now();
        let ttl_s = state.settings.jwt.token_ttl_s;
        if let Err(e) = state.revocations.reload(&state.db, now, ttl_s).await {
            tracing::warn!(error = %e, "reading the revoked API keys failed");
        }
        if stopped_during(RELOAD_EVERY, &mut stop).await {
            return;
        }
    }
}

async fn sweep_until(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(state.settings.hold_sweep_interval_s.max(1));
    loop {
        match crate::campaigns::service::sweep_holds(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(campaigns = n, "hold sweep moved budgets"),
            Err(e) => tracing::warn!(error = %e, "hold sweep failed"),
        }
        if stopped_during(every, &mut stop).await {
            return;
        }
    }
}

/// Outbox entries the chainer takes per transaction (each a transaction's transfers or budget
/// actions, or one admin action): a batch of the ledger writer is 2,000 transfers.
const CHAIN_ENTRIES: i64 = 20;

/// Moves the audit outbox into the hash chain as it fills, and asks for a checkpoint of the head
/// when one is due (every API instance runs one; they take turns on the chain's head). Told to
/// stop, it chains what waits in the outbox (up to `LAST_CHAIN_PASSES` passes) before it returns.
async fn chain_until(state: AppState, mut stop: watch::Receiver<bool>) {
    let rules = CheckpointRules {
        rows: state.settings.audit_checkpoint_rows.max(1),
        every: Duration::from_secs(state.settings.audit_checkpoint_interval_s.max(1)),
    };
    loop {
        let chained = state.audit.chain(CHAIN_ENTRIES).await;
        let checkpoint = state.audit.request_checkpoint(rules).await;
        let pause = match (chained, checkpoint) {
            (Ok(0), Ok(_)) => Duration::from_millis(500),
            (Ok(_), Ok(_)) => Duration::ZERO,
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "chaining the audit outbox failed");
                Duration::from_secs(1)
            }
        };
        if stopped_during(pause, &mut stop).await {
            break;
        }
    }
    for _ in 0..LAST_CHAIN_PASSES {
        match state.audit.chain(CHAIN_ENTRIES).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "chaining the audit outbox on the way out failed; it waits");
                return;
            }
        }
    }
}

/// Signs waiting audit checkpoints through Vault transit, in order; while Vault is away they wait
/// and the chain goes on growing. Without Vault settings, nothing is signed.
async fn sign_until(state: AppState, mut stop: watch::Receiver<bool>) {
    let Some(vault) = state.settings.vault.clone() else {
        tracing::warn!("no Vault settings: audit checkpoints stay unsigned");
        return;
    };
    let signer = match vault.audit_signer(vault::VAULT_TIMEOUT) {
        Ok(signer) => signer,
        Err(e) => {
            tracing::error!(error = %e, "audit checkpoints stay unsigned");
            return;
        }
    };
    let mut key_ready = false;
    loop {
        if !key_ready {
            match signer.ensure_key().await {
                Ok(()) => key_ready = true,
                Err(e) => tracing::warn!(error = %e, "preparing the audit signing key failed"),
            }
        }
        if key_ready && let Err(e) = state.audit.sign_checkpoints(&signer).await {
            tracing::warn!(error = %e, "signing audit checkpoints failed; they wait");
        }
        if stopped_during(Duration::from_secs(1), &mut stop).await {
            return;
        }
    }
}

/// Creates an admin user unless one exists; `false` when one did (nothing is changed).
pub async fn bootstrap_admin(
    db: &sqlx::PgPool,
    username: &str,
    password: &str,
) -> anyhow::Result<bool> {
    if auth_store::admin_exists(db).await? {
        return Ok(false);
    }
    anyhow::ensure!(
        (12..=256).contains(&password.chars().count()),
        "the admin password must have 12 to 256 characters"
    );
    let hash = secrets::hash(password)?;
    let mut tx = db.begin().await?;
    let id = auth_store::insert_user(&mut *tx, username, &hash, Role::Admin, None, None)
        .await
        .context("creating the admin user")?;
    let user = crate::advertisers::store::user(&mut *tx, id)
        .await?
        .context("the admin user just created")?;
    let entry = crate::audit_records::Change::of("user.create", format!("user:{id}"), None)
        .after(&user)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .by_service("bootstrap-admin", user.created_at);
    AuditTrail::new(db.clone()).record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(true)
}

/// The system clock, for binaries.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
