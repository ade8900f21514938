//! 100 simulated serving instances spend one campaign's budget through the real controller (real
//! Redis, real PostgreSQL), at random rates, until it runs out; a random tenth of them crash
//! without settling. The ledger must bill no more than the budget, serving must not run past it
//! by more than the in-flight bound, and budget must not be left unspent while there was demand.
//! The same run with a budget of a few dozen impressions, and with CPC campaigns whose
//! impressions count their expected cost until the clicks (0.1% to 10% of them, each a moment
//! after its impression) are billed and the controller counts those instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use budget::{BudgetController, LeaseRules, RedisBudgetStore, StoreError, Wallet, WalletRules};

/// The budget of the runs with Redis disrupted.
const BUDGET: i64 = Scenario::DEFAULT.budget;
use ledger::{
    Amount, BatchMode, LeaseId, Ledger, MIGRATOR, Money, NewTransfer, References, ShiftedClock,
    TransferKind,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use redis::aio::ConnectionLike;
use sqlx::PgPool;
use tokio::sync::{Notify, mpsc};

use crate::redis_store::{cluster, single_node};
use ledger::fixtures::{Advertiser, advertiser, transfer};

const SERVERS: usize = 100;
/// The longest a run may take (they take seconds; a loaded CI machine, a minute).
const SIMULATION_LIMIT: Duration = Duration::from_secs(300);
/// The most one impression costs at CPM.
const MAX_PRICE: i64 = 5_000;
/// How long after a per-click lease closes its clicks still count.
const CLICK_WINDOW_MS: i64 = 1_000;
/// Clicks come within this of their impression, well within the window; late ones come after
/// the window has closed.
const CLICK_DELAY_MS: u64 = 300;
const LATE_CLICK_DELAY_MS: std::ops::RangeInclusive<u64> = 1_500..=2_500;

/// How the campaign pays.
#[derive(Debug, Clone, Copy)]
enum Pricing {
    /// Per impression, at a clearing price from 1,000 to `MAX_PRICE` micros.
    Cpm,
    /// Per click at `cpc` micros; each impression is clicked with probability `ctr` and counts
    /// `cpc ×` the predicted click rate against its lease until its clicks are known. The
    /// prediction starts at `predicted` and learns from the clicks seen, as servingd's does
    /// (worth `PRIOR_IMPRESSIONS` impressions). A share `late` of the clicks come after their
    /// lease's click window has closed.
    Cpc {
        cpc: i64,
        ctr: f64,
        predicted: f64,
        late: f64,
    },
}

/// The highest click rate a prediction gives.
const MAX_CLICK_RATE: f64 = 0.1;

/// How many impressions a click-rate prediction's prior is worth: servingd's for the rate its
/// budget counts (a tenth of its predictions' prior, so the count learns fast).
const PRIOR_IMPRESSIONS: f64 = 200.0;

/// Impressions and clicks seen so far, for the click-rate prediction. As servingd's count, it
/// learns from impressions old enough for their clicks to have come (`CLICK_DELAY_MS`): counted
/// the moment they are served, the newest impressions' clicks still to come would pull the rate
/// below the real one, and the campaign would serve past its budget until the clicks caught up.
#[derive(Default)]
struct Seen {
    clicks: AtomicU64,
    impressions: std::sync::Mutex<Impressions>,
}

/// Impressions served, in 10 ms steps until they are `CLICK_DELAY_MS` old.
#[derive(Default)]
struct Impressions {
    recent: std::collections::VecDeque<(tokio::time::Instant, u64)>,
    matured: u64,
}

impl Seen {
    fn served(&self) {
        let now = tokio::time::Instant::now();
        let mut impressions = self.impressions.lock().expect("impressions");
        match impressions.recent.back_mut() {
            Some((at, n)) if now.duration_since(*at) < Duration::from_millis(10) => *n += 1,
            _ => impressions.recent.push_back((now, 1)),
        }
    }

    fn predicted(&self, prior: f64) -> f64 {
        let matured = {
            let mut impressions = self.impressions.lock().expect("impressions");
            let now = tokio::time::Instant::now();
            while let Some(&(at, n)) = impressions.recent.front()
                && now.duration_since(at) >= Duration::from_millis(CLICK_DELAY_MS)
            {
                impressions.matured += n;
                impressions.recent.pop_front();
            }
            impressions.matured
        };
        let (i, c) = (matured as f64, self.clicks.load(Ordering::Relaxed) as f64);
        // at most the rate a lease's smallest grant is sized for, as servingd caps its own
        ((c + prior * PRIOR_IMPRESSIONS) / (i + PRIOR_IMPRESSIONS)).min(MAX_CLICK_RATE)
    }
}

/// One campaign's budget and pricing.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    budget: i64,
    pricing: Pricing,
}

impl Scenario {
    const DEFAULT: Scenario = Scenario {
        budget: 200_000_000,
        pricing: Pricing::Cpm,
    };

    /// What one impression costs its lease at most (for CPC: at the highest click rate a
    /// prediction gives).
    fn unit(&self) -> i64 {
        match self.pricing {
            Pricing::Cpm => MAX_PRICE,
            Pricing::Cpc { cpc, .. } => expected_cost(cpc, MAX_CLICK_RATE),
        }
    }

    /// Impressions a server shows per round: CPC campaigns with rare clicks show more, so that
    /// clicks come at about the same pace.
    fn impressions_per_event(&self) -> u32 {
        match self.pricing {
            Pricing::Cpm => 1,
            Pricing::Cpc { ctr, .. } => (0.02 / ctr).ceil().max(1.0) as u32,
        }
    }
}

fn expected_cost(cpc: i64, predicted: f64) -> i64 {
    ((cpc as f64 * predicted).ceil() as i64).max(1)
}
const RULES: LeaseRules = LeaseRules {
    ttl_ms: 600,
    server_window_ms: 2_000,
};
const GRACE_MS: i64 = 1_000;

/// One served ad's spend (or a click's), on its way to the ledger from `at` on.
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
    clicks: Arc<Seen>,
) -> Written {
    let mut written = Written {
        refused: 0,
        max_lag: Duration::ZERO,
    };
    let mut open = true;
    // clicks wait here until they happen
    let mut later: Vec<Spent> = Vec::new();
    while open || !later.is_empty() {
        let mut batch: HashMap<LeaseId, i64> = HashMap::new();
        let mut oldest: Option<tokio::time::Instant> = None;
        let until = tokio::time::Instant::now() + WRITE_EVERY;
        while open {
            match tokio::time::timeout_at(until, spent.recv()).await {
                Ok(Some(s)) => later.push(s),
                Ok(None) => open = false,
                Err(_) => break,
            }
        }
        if !open {
            tokio::time::sleep_until(until).await;
        }
        let now = tokio::time::Instant::now();
        for s in later.extract_if(.., |s| s.at <= now) {
            clicks.clicks.fetch_add(1, Ordering::Relaxed);
            *batch.entry(s.lease).or_default() += s.micros;
            oldest = Some(oldest.map_or(s.at, |o| o.min(s.at)));
        }
        let (leases, items): (Vec<(LeaseId, i64)>, Vec<NewTransfer>) = batch
            .into_iter()
            .map(|(lease, micros)| {
                let mut t = transfer(&a.hold, &a.spend, "1", TransferKind::Spend);
                t.amount = Amount::try_from(Money::from_micros(micros)).expect("positive");
                t.references = References {
                    campaign: Some(a.campaign),
                    lease: Some(lease),
                    ..References::default()
                };
                ((lease, micros), t)
            })
            .unzip();
        let results = ledger
            .transfer_batch(&items, BatchMode::Independent)
            .await
            .expect("posting spend");
        for ((lease, micros), result) in leases.into_iter().zip(results) {
            if result.is_err() {
                written.refused += micros;
                // as the ledger writer does: what the ledger refused is recorded against its lease
                sqlx::query(
                    "insert into unbilled_events (event_id, campaign_id, lease_id, amount, currency, reason, event_at)
                     values ($1, $2, $3, $4, 'USD', 'over_delivery', now())",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(a.campaign.0)
                .bind(lease.0)
                .bind(Money::from_micros(micros).as_decimal())
                .execute(ledger.pool())
                .await
                .expect("unbilled");
            }
        }
        if let Some(oldest) = oldest {
            written.max_lag = written.max_lag.max(oldest.elapsed());
        }
    }
    written
}

struct Outcome {
    /// What was delivered: impressions' prices, or clicks' (all sent to the ledger).
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
    scenario: Scenario,
    disrupt: impl FnOnce(PgPool, i64) -> Fut,
) -> Report
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let budget = scenario.budget;
    let budget_units = Money::from_micros(budget).to_string();
    let ledger = Ledger::new(pool.clone());
    let a = Arc::new(advertiser(&ledger, &budget_units).await);
    ledger
        .transfer(transfer(
            &a.cash,
            &a.hold,
            &budget_units,
            TransferKind::Hold,
        ))
        .await
        .expect("hold");
    // the controller's clock runs in real time while servers spend, and skips the waits at the
    // end (the crashed servers' deadlines, the click window) instead of sleeping through them
    let clock = Arc::new(ShiftedClock::new());
    let controller = Arc::new(BudgetController::new(
        store,
        pool.clone(),
        RULES,
        GRACE_MS,
        clock.clone(),
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
                if let Err(e) = controller.true_up(CLICK_WINDOW_MS).await {
                    eprintln!("true-up: {e}");
                }
            }
        })
    };
    let disruption = tokio::spawn(disrupt(pool.clone(), a.spend.id.0));

    // Served spend reaches the ledger as the ledger writer posts it: one writer, on connections
    // of its own (not queued behind the controller's).
    let (spend_to_post, spent) = mpsc::unbounded_channel();
    let seen = Arc::new(Seen::default());
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
        seen.clone(),
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
        let seen = seen.clone();
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
                    per_click: matches!(scenario.pricing, Pricing::Cpc { .. }),
                    ..WalletRules::fixed(2_000_000, 200_000, scenario.unit())
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
                // a run that cannot end (leases asked for and returned unspent forever) fails
                // here rather than holding up the whole test run
                assert!(
                    started.elapsed() < SIMULATION_LIMIT,
                    "srv-{n} still serving after {SIMULATION_LIMIT:?}"
                );
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
                for _ in 0..rng.random_range(1..6) * scenario.impressions_per_event() {
                    let (price, billed) = match scenario.pricing {
                        Pricing::Cpm => {
                            let price = rng.random_range(1_000..=MAX_PRICE);
                            (price, Some((price, 0)))
                        }
                        Pricing::Cpc {
                            cpc,
                            ctr,
                            predicted,
                            late,
                        } => {
                            let click = rng.random_bool(ctr).then(|| {
                                let delay = match rng.random_bool(late) {
                                    true => rng.random_range(LATE_CLICK_DELAY_MS),
                                    false => rng.random_range(1..=CLICK_DELAY_MS),
                                };
                                (cpc, delay)
                            });
                            (expected_cost(cpc, seen.predicted(predicted)), click)
                        }
                    };
                    match wallet.try_spend(price) {
                        Some(lease) => {
                            idle_since = None;
                            seen.served();
                            let Some((micros, delay_ms)) = billed else {
                                continue;
                            };
                            served += micros;
                            let at = tokio::time::Instant::now() + Duration::from_millis(delay_ms);
                            let spent = Spent { lease, micros, at };
                            spend_to_post.send(spent).expect("the writer runs");
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
    // The crashed servers' leases pass deadline and grace, then are reaped.
    stop_reaper.notify_one();
    reaper.await.expect("reaper");
    clock.advance(chrono::Duration::milliseconds(
        RULES.ttl_ms + GRACE_MS + 200,
    ));
    controller.reap().await.expect("final reap");
    // every click window closes
    clock.advance(chrono::Duration::milliseconds(CLICK_WINDOW_MS));
    controller
        .true_up(CLICK_WINDOW_MS)
        .await
        .expect("final true-up");

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
        "seed {seed} {scenario:?}: late settlements {late:?}, longest wait to be posted {:?}; served {}, billed {billed}, refused by the ledger {}, left {}, unmet spends {}, redis {:?}",
        written.max_lag,
        total.served,
        written.refused,
        budget - billed,
        total.demand_unmet,
        (state.remaining, state.spent, state.open.len())
    );
    assert!(
        billed <= budget,
        "billed {billed} above the budget {budget}"
    );
    assert_eq!(
        total.served,
        billed + written.refused,
        "everything delivered was either billed or refused"
    );
    let unspent = budget - billed;
    match scenario.pricing {
        Pricing::Cpm => {
            assert_eq!(
                written.refused, 0,
                "every served impression was within a lease, so billable (late settlements {late:?}, longest wait to be posted {:?})",
                written.max_lag
            );
            // a budget is delivered to within 0.5%, or to less than one impression: what is
            // left below the price of the next one cannot be
            assert!(
                unspent * 200 <= budget || unspent < MAX_PRICE,
                "left {unspent} unspent while there was demand: above 0.5% and an impression"
            );
        }
        Pricing::Cpc { cpc, late, .. } => {
            // Clicks beyond the budget: near its end every server holds about one impression at
            // the highest click rate (`unit`), and the clicks on what is out when the budget runs
            // out may exceed their expectation (by a few times its square root); clicks later
            // than their window are not counted at all. The bound is the sum of the three.
            let in_flight = SERVERS as i64 * scenario.unit();
            let excess = 3.0 * (in_flight as f64 / cpc as f64).sqrt() * cpc as f64;
            let late_clicks = (late * total.served as f64 * 2.0) as i64;
            let bound = in_flight + excess as i64 + late_clicks;
            eprintln!(
                "clicks refused {} against a bound of {bound} (in flight {in_flight}, excess {excess:.0}, late {late_clicks})",
                written.refused
            );
            assert!(
                written.refused <= bound,
                "clicks refused beyond the budget: {} above {bound}",
                written.refused
            );
            assert!(
                unspent * 200 <= budget || unspent < cpc,
                "left {unspent} unspent while there was demand: above 0.5% and a click"
            );
        }
    }
    assert_eq!(open, 0, "every lease closed: settled, or reaped");
    assert!(state.is_consistent(), "{state:?}");
    // the controller counts what was delivered: billed, and clicks refused beyond the budget;
    // late clicks are not counted (reconciliation reports them as drift)
    let late = matches!(scenario.pricing, Pricing::Cpc { late, .. } if late > 0.0);
    if late {
        assert!(state.spent <= billed + written.refused);
    } else {
        assert_eq!(state.spent, billed + written.refused);
        assert!(
            controller
                .reconcile(false)
                .await
                .expect("reconcile")
                .iter()
                .all(|d| d.in_sync())
        );
    }
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
    simulate(
        pool,
        single_node().await,
        7,
        Scenario::DEFAULT,
        |_, _| async {},
    )
    .await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_hundred_servers_spend_a_budget_on_a_cluster(pool: PgPool) {
    simulate(pool, cluster().await, 8, Scenario::DEFAULT, |_, _| async {}).await;
}

/// A budget of a few dozen impressions (0.10 at 1,000 to 5,000 micros each) among 100 servers:
/// shared out in small pieces from the first lease, never served past, delivered to the last
/// impression it can pay for.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_hundred_servers_share_a_budget_of_a_few_dozen_impressions(pool: PgPool) {
    let scenario = Scenario {
        budget: 100_000,
        pricing: Pricing::Cpm,
    };
    simulate(pool, single_node().await, 11, scenario, |_, _| async {}).await;
}

/// A CPC campaign at a click rate of `ctr`, first predicted as `predicted`, with a share `late`
/// of its clicks after their window: 400 clicks of 0.50.
async fn cpc_campaign(pool: PgPool, seed: u64, ctr: f64, predicted: f64, late: f64) {
    let scenario = Scenario {
        budget: 200_000_000,
        pricing: Pricing::Cpc {
            cpc: 500_000,
            ctr,
            predicted,
            late,
        },
    };
    simulate(pool, single_node().await, seed, scenario, |_, _| async {}).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_cpc_campaign_clicked_one_time_in_a_thousand_delivers_its_budget(pool: PgPool) {
    cpc_campaign(pool, 12, 0.001, 0.001, 0.0).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_cpc_campaign_clicked_two_times_in_a_hundred_delivers_its_budget(pool: PgPool) {
    cpc_campaign(pool, 13, 0.02, 0.02, 0.0).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_cpc_campaign_clicked_one_time_in_ten_delivers_its_budget(pool: PgPool) {
    cpc_campaign(pool, 14, 0.1, 0.1, 0.0).await;
}

/// The click rate predicted at a quarter of the real one at first (a new campaign), learned
/// from the clicks as they come: its impressions count too little until their clicks are
/// billed, and the count follows the clicks.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_cpc_campaign_clicked_more_than_predicted_stays_within_its_bound(pool: PgPool) {
    cpc_campaign(pool, 15, 0.02, 0.005, 0.0).await;
}

/// One click in twenty comes after its lease's window has closed: it is billed while the hold
/// allows, but never counted, so the campaign may deliver up to its value beyond the budget.
#[sqlx::test(migrator = "MIGRATOR")]
async fn late_clicks_stay_within_their_bound(pool: PgPool) {
    cpc_campaign(pool, 16, 0.02, 0.02, 0.05).await;
}

/// FLUSHALL in the middle of the run (on a Redis of this test's own): the controller rebuilds
/// every campaign from the ledger before granting anything more, and the same bounds hold.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_flushall_mid_run_is_rebuilt_from_the_ledger(pool: PgPool) {
    let redis = PrivateRedis::start();
    let store = reconnecting_store(&redis.url()).await;
    let url = redis.url();
    let report = simulate(
        pool,
        store,
        9,
        Scenario::DEFAULT,
        |pool, spend| async move {
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
        },
    )
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
    let report = simulate(
        pool,
        store,
        10,
        Scenario::DEFAULT,
        |pool, spend| async move {
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
        },
    )
    .await;
    assert!(
        report.rebuilds >= 2,
        "built once at first, and again when Redis came back empty"
    );
}

/// Whether budget may still come back: a lease of a crashed server not yet reaped, a request
/// whose answer was lost (Redis away; older than a lease lives), which a rebuild reserves until
/// it is reaped, or a per-click lease whose clicks are not yet all counted.
async fn budget_may_come_back(pool: &PgPool, a: &Advertiser, crashed: &[String]) -> bool {
    sqlx::query_scalar(
        "select exists (select 1 from budget_leases where campaign_id = $1
             and ((state = 'open' and server = any($2))
               or (state = 'requested' and created_at < now() - make_interval(secs => $3))
               or (per_click and not clicks_final and state in ('settled', 'reaped'))))",
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
