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
use ledger::{Amount, LeaseId, Ledger, MIGRATOR, Money, References, SystemClock, TransferKind};
use rand::{Rng, SeedableRng, rngs::StdRng};
use redis::aio::ConnectionLike;
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::budget_redis::{cluster, single_node};
use crate::helpers::{Advertiser, advertiser, transfer};

const SERVERS: usize = 100;
const BUDGET_UNITS: &str = "200";
const BUDGET: i64 = 200_000_000;
const MAX_PRICE: i64 = 5_000;
const RULES: LeaseRules = LeaseRules {
    ttl_ms: 600,
    server_window_ms: 2_000,
    max_price: MAX_PRICE,
};
const GRACE_MS: i64 = 300;

/// Posts a server's served spend, per lease, as the ledger writer would; returns what the ledger
/// refused (over-delivery).
async fn deliver(ledger: &Ledger, a: &Advertiser, pending: &mut HashMap<LeaseId, i64>) -> i64 {
    let mut refused = 0;
    for (lease, micros) in pending.drain() {
        let mut t = transfer(&a.hold, &a.spend, "1", TransferKind::Spend);
        t.amount = Amount::try_from(Money::from_micros(micros)).expect("positive");
        t.references = References {
            campaign: Some(a.campaign),
            lease: Some(lease),
            ..References::default()
        };
        if ledger.transfer(t).await.is_err() {
            refused += micros;
        }
    }
    refused
}

struct Outcome {
    served: i64,
    refused_by_ledger: i64,
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
        let (ledger, a, controller) = (ledger.clone(), a.clone(), controller.clone());
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
                    ..WalletRules::fixed(2_000_000, 200_000)
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
            let mut pending: HashMap<LeaseId, i64> = HashMap::new();
            let (mut served, mut refused_by_ledger) = (0i64, 0i64);
            let mut idle_since: Option<tokio::time::Instant> = None;
            loop {
                if let Some(after) = crash_after
                    && started.elapsed() >= after
                {
                    // Events already emitted still reach the ledger; the leases are never settled.
                    refused_by_ledger += deliver(&ledger, &a, &mut pending).await;
                    refiller.abort();
                    return Outcome {
                        served,
                        refused_by_ledger,
                        demand_unmet: 0,
                    };
                }
                for _ in 0..rng.random_range(1..6) {
                    let price = rng.random_range(1_000..=MAX_PRICE);
                    match wallet.try_spend(price) {
                        Some(lease) => {
                            served += price;
                            *pending.entry(lease).or_default() += price;
                            idle_since = None;
                        }
                        None => {
                            idle_since.get_or_insert_with(tokio::time::Instant::now);
                        }
                    }
                }
                if pending.len() > 3 || rng.random_ratio(1, 20) {
                    refused_by_ledger += deliver(&ledger, &a, &mut pending).await;
                }
                // Out of budget for a while, and no crashed server's lease is left to reap (its
                // budget comes back when it is; on a loaded machine that can take seconds): done.
                if idle_since.is_some_and(|t| t.elapsed() > Duration::from_millis(2_500))
                    && !crashed_leases_open(&pool, &a, &crashed_names).await
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(rng.random_range(1..4))).await;
            }
            refused_by_ledger += deliver(&ledger, &a, &mut pending).await;
            stop.notify_one();
            refiller.await.expect("refiller");
            Outcome {
                served,
                refused_by_ledger,
                demand_unmet: wallet.refused(),
            }
        }));
    }
    let mut total = Outcome {
        served: 0,
        refused_by_ledger: 0,
        demand_unmet: 0,
    };
    for server in servers {
        let o = server.await.expect("server");
        total.served += o.served;
        total.refused_by_ledger += o.refused_by_ledger;
        total.demand_unmet += o.demand_unmet;
    }
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
    eprintln!(
        "budget {BUDGET}, served {}, billed {billed}, refused by the ledger {}, left {}, unmet spends {}, redis {:?}",
        total.served,
        total.refused_by_ledger,
        BUDGET - billed,
        total.demand_unmet,
        (state.remaining, state.spent, state.open.len())
    );
    assert!(
        billed <= BUDGET,
        "billed {billed} above the budget {BUDGET}"
    );
    assert_eq!(
        total.refused_by_ledger, 0,
        "every served impression was within a lease, so billable"
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
        outage.lock().expect("redis").stop();
        // a call meanwhile fails with a clear error, and nothing panics
        let answer = probe.load(ledger::CampaignId::new()).await;
        assert!(matches!(answer, Err(StoreError::Redis(_))), "{answer:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        outage.lock().expect("redis").restart();
        // and spending goes on afterwards
        billed_at_least(&pool, spend, BUDGET * 6 / 10).await;
    })
    .await;
    assert!(
        report.rebuilds >= 2,
        "built once at first, and again when Redis came back empty"
    );
}

/// Whether a lease of a crashed server is still open (not yet reaped).
async fn crashed_leases_open(pool: &PgPool, a: &Advertiser, crashed: &[String]) -> bool {
    sqlx::query_scalar(
        "select exists (select 1 from budget_leases where campaign_id = $1
             and state in ('requested', 'open') and server = any($2))",
    )
    .bind(a.campaign.0)
    .bind(crashed)
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
