//! 100 simulated serving instances spend one campaign's budget through the real controller (real
//! Redis, real PostgreSQL), at random rates, until it runs out; a random tenth of them crash
//! without settling. The ledger must bill no more than the budget, serving must not run past it
//! by more than the in-flight bound, and budget must not be left unspent while there was demand.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ledger::budget::{
    BudgetController, LeaseRules, RedisBudgetStore, StoreError, Wallet, WalletRules,
};
use ledger::{
    Amount, BatchMode, LeaseId, Ledger, MIGRATOR, Money, NewTransfer, References, SystemClock,
    TransferKind,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use redis::aio::ConnectionLike;
use sqlx::PgPool;
use tokio::sync::{Notify, mpsc};

use crate::budget_redis::{cluster, single_node};
use crate::helpers::{Advertiser, advertiser, transfer};

const SERVERS: usize = 100;
const BUDGET_UNITS: &str = "200";
const BUDGET: i64 = 200_000_000;
const MAX_PRICE: i64 = 5_000;
const RULES: LeaseRules = LeaseRules {
    ttl_ms: 600,
    server_window_ms: 2_000,
};
const GRACE_MS: i64 = 1_000;

/// One served ad's spend, on its way to the ledger.
struct Spent {
    lease: LeaseId,
    micros: i64,
    at: tokio::time::Instant,
}

/// What the writer found posting the servers' spend.
struct Written {
    /// Spend the ledger refused (over-delivery).
    refused: i64,
    /// The longest any spend waited before it was posted.
    max_lag: Duration,
}

/// How often the writer posts what has arrived. Far below the controller's grace: the reaper
/// counts a lease's posted spend as all it spent.
const WRITE_EVERY: Duration = Duration::from_millis(10);

/// Posts the servers' spend as the ledger writer does: one writer for all of them, a batch (one
/// transfer per lease) each `WRITE_EVERY`, until every server has hung up.
async fn write_spend(
    ledger: Ledger,
    a: Arc<Advertiser>,
    mut spent: mpsc::UnboundedReceiver<Spent>,
) -> Written {
    let mut written = Written {
        refused: 0,
        max_lag: Duration::ZERO,
    };
    let mut open = true;
    while open {
        let mut batch: HashMap<LeaseId, i64> = HashMap::new();
        let mut oldest: Option<tokio::time::Instant> = None;
        let until = tokio::time::Instant::now() + WRITE_EVERY;
        loop {
            match tokio::time::timeout_at(until, spent.recv()).await {
                Ok(Some(s)) => {
                    *batch.entry(s.lease).or_default() += s.micros;
                    oldest = Some(oldest.map_or(s.at, |o| o.min(s.at)));
                }
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        let (leases, items): (Vec<i64>, Vec<NewTransfer>) = batch
            .into_iter()
            .map(|(lease, micros)| {
                let mut t = transfer(&a.hold, &a.spend, "1", TransferKind::Spend);
                t.amount = Amount::try_from(Money::from_micros(micros)).expect("positive");
                t.references = References {
                    campaign: Some(a.campaign),
                    lease: Some(lease),
                    ..References::default()
                };
                (micros, t)
            })
            .unzip();
        let results = ledger
            .transfer_batch(&items, BatchMode::Independent)
            .await
            .expect("posting spend");
        for (micros, result) in leases.into_iter().zip(results) {
            if result.is_err() {
                written.refused += micros;
            }
        }
        if let Some(oldest) = oldest {
            written.max_lag = written.max_lag.max(oldest.elapsed());
        }
    }
    written
}

struct Outcome {
    served: i64,
    demand_unmet: i64,
}

/// What a disruption test checks beyond the common bounds.
struct Report {
    rebuilds: i64,
}

/// Runs the simulation; `disrupt` runs alongside it (a flush, an outage), given the pool and the
/// campaign's spend account so it can wait for the run to be under way.
async fn simulate<C: ConnectionLike + Clone + Send + Sync + 'static, Fut>(
    pool: PgPool,
    store: RedisBudgetStore<C>,
    seed: u64,
    disrupt: impl FnOnce(PgPool, i64) -> Fut,
) -> Report
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let ledger = Ledger::new(pool.clone());
    let a = Arc::new(advertiser(&ledger, BUDGET_UNITS).await);
    ledger
        .transfer(transfer(&a.cash, &a.hold, BUDGET_UNITS, TransferKind::Hold))
        .await
        .expect("hold");
    let controller = Arc::new(BudgetController::new(
        store,
        pool.clone(),
        RULES,
        GRACE_MS,
        Arc::new(SystemClock),
    ));

    let stop_reaper = Arc::new(Notify::new());
    let reaper = {
        let (controller, stop) = (controller.clone(), stop_reaper.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.notified() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
                // While Redis is away the reaper fails too; it tries again on its next round.
                if let Err(e) = controller.reap().await {
                    eprintln!("reaper: {e}");
                }
            }
        })
    };
    let disruption = tokio::spawn(disrupt(pool.clone(), a.spend.id.0));

    // Served spend reaches the ledger as the ledger writer posts it: one writer, on connections
    // of its own (not queued behind the controller's).
    let (spend_to_post, spent) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_spend(
        Ledger::new(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .connect_with((*pool.connect_options()).clone())
                .await
                .expect("the writer's pool"),
        ),
        a.clone(),
        spent,
    ));
    let mut rng = StdRng::seed_from_u64(seed);
    let crashing: Vec<bool> = {
        let mut flags = vec![false; SERVERS];
        for i in rand::seq::index::sample(&mut rng, SERVERS, SERVERS / 10) {
            flags[i] = true;
        }
        flags
    };
    let crashed_names: Arc<Vec<String>> = Arc::new(
        crashing
            .iter()
            .enumerate()
            .filter(|(_, crashes)| **crashes)
            .map(|(n, _)| format!("srv-{n}"))
            .collect(),
    );
    let mut servers = Vec::new();
    for (n, crashes) in crashing.into_iter().enumerate() {
        let (spend_to_post, a, controller) = (spend_to_post.clone(), a.clone(), controller.clone());
        let (pool, crashed_names) = (pool.clone(), crashed_names.clone());
        let mut rng = StdRng::seed_from_u64(seed * 1000 + n as u64);
        servers.push(tokio::spawn(async move {
            let wallet = Wallet::new(
                a.campaign,
                &format!("srv-{n}"),
                WalletRules {
                    // stop spending a lease 100 ms before the controller's deadline when its
                    // renewal does not come through (Redis away)
                    spend_window: Duration::from_millis(RULES.ttl_ms as u64 - 100),
                    ..WalletRules::fixed(2_000_000, 200_000, MAX_PRICE)
                },
            );
            let stop = Arc::new(Notify::new());
            let refiller = tokio::spawn(wallet.clone().run(
                controller.clone(),
                Duration::from_millis(150),
                stop.clone(),
            ));
            let crash_after = crashes.then(|| Duration::from_millis(rng.random_range(100..1_500)));
            let started = tokio::time::Instant::now();
            let mut served = 0i64;
            let mut idle_since: Option<tokio::time::Instant> = None;
            loop {
                if let Some(after) = crash_after
                    && started.elapsed() >= after
                {
                    // Events already emitted still reach the ledger; the leases are never settled.
                    refiller.abort();
                    return Outcome {
                        served,
                        demand_unmet: 0,
                    };
                }
                for _ in 0..rng.random_range(1..6) {
                    let price = rng.random_range(1_000..=MAX_PRICE);
                    match wallet.try_spend(price) {
                        Some(lease) => {
                            served += price;
                            let at = tokio::time::Instant::now();
                            let spent = Spent {
                                lease,
                                micros: price,
                                at,
                            };
                            spend_to_post.send(spent).expect("the writer runs");
                            idle_since = None;
                        }
                        None => {
                            idle_since.get_or_insert_with(tokio::time::Instant::now);
                        }
                    }
                }
                // Out of budget for a while, and nothing is left to reap whose budget would come
                // back (on a loaded machine that can take seconds): done.
                if idle_since.is_some_and(|t| t.elapsed() > Duration::from_millis(2_500))
                    && !budget_may_come_back(&pool, &a, &crashed_names).await
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(rng.random_range(1..4))).await;
            }
            stop.notify_one();
            refiller.await.expect("refiller");
            Outcome {
                served,
                demand_unmet: wallet.refused(),
            }
        }));
    }
    drop(spend_to_post);
    let mut total = Outcome {
        served: 0,
        demand_unmet: 0,
    };
    for server in servers {
        let o = server.await.expect("server");
        total.served += o.served;
        total.demand_unmet += o.demand_unmet;
    }
    let written = writer.await.expect("writer");
    disruption.await.expect("disruption");
    // Let the crashed servers' leases pass deadline and grace, then reap them.
    tokio::time::sleep(Duration::from_millis(
        (RULES.ttl_ms + GRACE_MS + 200) as u64,
    ))
    .await;
    stop_reaper.notify_one();
    reaper.await.expect("reaper");
    controller.reap().await.expect("final reap");

    let billed: rust_decimal::Decimal =
        sqlx::query_scalar("select posted from ledger_accounts where id = $1")
            .bind(a.spend.id.0)
            .fetch_one(&pool)
            .await
            .expect("spend");
    let billed = Money::try_from(billed)
        .expect("money")
        .to_micros()
        .expect("micros");
    let state = controller
        .store()
        .load(a.campaign)
        .await
        .expect("load")
        .expect("state");
    let open: i64 = sqlx::query_scalar("select count(*) from budget_leases where campaign_id = $1 and state in ('requested', 'open')")
        .bind(a.campaign.0)
        .fetch_one(&pool)
        .await
        .expect("open leases");
    let late: (i64, Option<rust_decimal::Decimal>) = sqlx::query_as(
        "select count(*), sum(amount_micros)::numeric from budget_log where action = 'late' and campaign_id = $1",
    )
    .bind(a.campaign.0)
    .fetch_one(&pool)
    .await
    .expect("late settlements");
    eprintln!(
        "seed {seed}: late settlements {late:?}, longest wait to be posted {:?}; budget {BUDGET}, served {}, billed {billed}, refused by the ledger {}, left {}, unmet spends {}, redis {:?}",
        written.max_lag,
        total.served,
        written.refused,
        BUDGET - billed,
        total.demand_unmet,
        (state.remaining, state.spent, state.open.len())
    );
    assert!(
        billed <= BUDGET,
        "billed {billed} above the budget {BUDGET}"
    );
    assert_eq!(
        written.refused, 0,
        "every served impression was within a lease, so billable (late settlements {late:?}, longest wait to be posted {:?})",
        written.max_lag
    );
    assert_eq!(total.served, billed, "served and billed agree to the micro");
    let overshoot = (total.served - BUDGET).max(0);
    assert!(
        overshoot * 1000 <= BUDGET,
        "served overshoot {overshoot} above 0.1% of the budget"
    );
    let unspent = BUDGET - billed;
    assert!(
        unspent * 200 <= BUDGET,
        "left {unspent} unspent while there was demand: above 0.5%"
    );
    assert_eq!(open, 0, "every lease closed: settled, or reaped");
    assert!(state.is_consistent(), "{state:?}");
    assert_eq!(state.spent, billed);
    assert!(
        controller
            .reconcile(false)
            .await
            .expect("reconcile")
            .iter()
            .all(|d| d.in_sync())
    );
    let rebuilds: i64 = sqlx::query_scalar(
        "select count(*) from budget_log where action = 'rebuild' and campaign_id = $1",
    )
    .bind(a.campaign.0)
    .fetch_one(&pool)
    .await
    .expect("rebuilds");
    Report { rebuilds }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_hundred_servers_spend_a_budget_on_a_single_node(pool: PgPool) {
    simulate(pool, single_node().await, 7, |_, _| async {}).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_hundred_servers_spend_a_budget_on_a_cluster(pool: PgPool) {
    simulate(pool, cluster().await, 8, |_, _| async {}).await;
}

/// FLUSHALL in the middle of the run (on a Redis of this test's own): the controller rebuilds
/// every campaign from the ledger before granting anything more, and the same bounds hold.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_flushall_mid_run_is_rebuilt_from_the_ledger(pool: PgPool) {
    let redis = PrivateRedis::start();
    let store = reconnecting_store(&redis.url()).await;
    let url = redis.url();
    let report = simulate(pool, store, 9, |pool, spend| async move {
        billed_at_least(&pool, spend, BUDGET * 3 / 10).await;
        let client = redis::Client::open(url).expect("url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        redis::cmd("FLUSHALL")
            .query_async::<()>(&mut conn)
            .await
            .expect("flushall");
        // and spending goes on afterwards
        billed_at_least(&pool, spend, BUDGET * 6 / 10).await;
    })
    .await;
    assert!(
        report.rebuilds >= 2,
        "built once at first, and again after the flush"
    );
}

/// Redis stopped for half a second mid-run and started again empty: calls fail with clear errors
/// meanwhile, servers spend only what they hold, and work resumes when Redis is back.
#[sqlx::test(migrator = "MIGRATOR")]
async fn redis_stopped_and_started_mid_run(pool: PgPool) {
    let redis = Arc::new(std::sync::Mutex::new(PrivateRedis::start()));
    let url = redis.lock().expect("redis").url();
    let store = reconnecting_store(&url).await;
    let probe = reconnecting_store(&url).await;
    let outage = redis.clone();
    let report = simulate(pool, store, 10, |pool, spend| async move {
        billed_at_least(&pool, spend, BUDGET / 4).await;
        // Stopping and starting a process blocks: off the runtime's one thread, which the
        // simulated servers share.
        let stopping = outage.clone();
        tokio::task::spawn_blocking(move || stopping.lock().expect("redis").stop())
            .await
            .expect("stop");
        // a call meanwhile fails with a clear error, and nothing panics
        let answer = probe.load(ledger::CampaignId::new()).await;
        assert!(matches!(answer, Err(StoreError::Redis(_))), "{answer:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        tokio::task::spawn_blocking(move || outage.lock().expect("redis").restart())
            .await
            .expect("restart");
        // and spending goes on afterwards
        billed_at_least(&pool, spend, BUDGET * 6 / 10).await;
    })
    .await;
    assert!(
        report.rebuilds >= 2,
        "built once at first, and again when Redis came back empty"
    );
}

/// Whether budget may still come back: a lease of a crashed server not yet reaped, or a
/// request whose answer was lost (Redis away; older than a lease lives), which a rebuild
/// reserves until it is reaped.
async fn budget_may_come_back(pool: &PgPool, a: &Advertiser, crashed: &[String]) -> bool {
    sqlx::query_scalar(
        "select exists (select 1 from budget_leases where campaign_id = $1
             and ((state = 'open' and server = any($2))
               or (state = 'requested' and created_at < now() - make_interval(secs => $3))))",
    )
    .bind(a.campaign.0)
    .bind(crashed)
    .bind(RULES.ttl_ms as f64 / 1000.0)
    .fetch_one(pool)
    .await
    .expect("open leases")
}

/// Waits until the ledger has billed `micros` on the spend account (at most 60 seconds).
async fn billed_at_least(pool: &PgPool, spend: i64, micros: i64) {
    let threshold = Money::from_micros(micros).as_decimal();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "billing stalled below {micros} micros"
        );
        let billed: rust_decimal::Decimal =
            sqlx::query_scalar("select posted from ledger_accounts where id = $1")
                .bind(spend)
                .fetch_one(pool)
                .await
                .expect("billed");
        if billed >= threshold {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A redis-server of one test's own, on a free loopback port, with no persistence.
struct PrivateRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let mut redis = PrivateRedis { port, child: None };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn restart(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/services installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the private redis-server did not start on port {}",
            self.port
        );
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A store on a connection that reconnects by itself.
async fn reconnecting_store(url: &str) -> RedisBudgetStore<redis::aio::ConnectionManager> {
    let client = redis::Client::open(url).expect("url");
    RedisBudgetStore::new(
        redis::aio::ConnectionManager::new(client)
            .await
            .expect("connect"),
    )
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
