//! The admin API under load over many campaigns, served on a loopback port and driven over HTTP.
//! Prints figures and ratios; asserts nothing but that the answers are right.
//!
//!   cargo bench -p api --bench api_load             100,000 campaigns
//!   cargo bench -p api --bench api_load -- --smoke  2,000 campaigns, short rounds
//!
//!   ... -- --only list | --only snapshot | --only reads | --only sweep   one part alone
//!
//! Needs the services (`eval "$(scripts/services env)"`); works in a scratch database it drops.
//!
//! - list page latency: `GET /api/v1/campaigns` pages of 50 at random positions (a random id as
//!   the cursor), unfiltered, by advertiser and by status, from several clients at once;
//! - feed snapshot: `GET /api/v1/feed/campaigns?since=0` as servingd takes it: time to the last
//!   byte and size;
//! - `GET /api/v1/campaigns/{id}` (random ids; token checked, rate limit counted, one row read)
//!   requests/s beside `GET /healthz` (a static answer through the same layers), same clients,
//!   same connections, alternating rounds; the ratio is printed;
//! - the hold sweep's query (every 10 s) over every campaign active, its day held and its hold
//!   holding money (the steady state: none needs a move): time per sweep. Runs last: it makes
//!   every seeded campaign active.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use api::Settings;
use api::auth::{Principal, Role};
use rand::Rng;
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use test_support::ScratchDatabase;
use tokio::net::TcpListener;
use uuid::Uuid;

const ADVERTISERS: usize = 100;
const CLIENTS: usize = 32;
const LIST_CLIENTS: usize = 8;
const PAGE: usize = 50;

struct Sizes {
    campaigns: usize,
    round: Duration,
    rounds: usize,
    list_requests: usize,
    snapshots: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let sizes = if smoke {
        Sizes {
            campaigns: 2_000,
            round: Duration::from_millis(500),
            rounds: 1,
            list_requests: 200,
            snapshots: 1,
        }
    } else {
        Sizes {
            campaigns: 100_000,
            round: Duration::from_secs(5),
            rounds: 3,
            list_requests: 6_000,
            snapshots: 5,
        }
    };
    let redis_url = test_support::service_var("REDIS_URL")?;
    let scratch = ScratchDatabase::create("adplat_bench_api").await?;
    let outcome = run(scratch.url(), &redis_url, &sizes, smoke).await;
    scratch.drop().await?;
    outcome
}

async fn run(db_url: &str, redis_url: &str, sizes: &Sizes, smoke: bool) -> Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(32)
        .connect(db_url)
        .await?;
    ledger::MIGRATOR.run(&pool).await?;
    let settings = bench_settings(redis_url)?;
    let state =
        api::server::state_over(pool.clone(), settings, api::server::system_clock()).await?;
    let admin = token(&state, Role::Admin)?;
    let service = token(&state, Role::Service)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    // The router alone (no hold sweep beside it: the seeded campaigns hold no money).
    let app = api::router(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS * 2)
        .build()?;

    println!(
        "admin API under load: {} campaigns of {ADVERTISERS} advertisers{}",
        sizes.campaigns,
        if smoke {
            " (SMOKE RUN: tiny sizes, figures not meaningful)"
        } else {
            ""
        }
    );
    let started = Instant::now();
    let (advertisers, ids) = seed(&http, &origin, &admin, &pool, sizes.campaigns).await?;
    println!(
        "seeded in {:.1} s (one campaign through the API, the rest copied in SQL)",
        started.elapsed().as_secs_f64()
    );

    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    let wanted = |part: &str| only.as_deref().is_none_or(|o| o == part);
    if wanted("list") {
        list_pages(&http, &origin, &admin, &advertisers, sizes).await?;
    }
    if wanted("snapshot") {
        let live: i64 =
            sqlx::query_scalar("select count(*) from campaigns where status <> 'archived'")
                .fetch_one(&pool)
                .await?;
        snapshot(&http, &origin, &service, sizes, live as usize).await?;
    }
    if wanted("reads") {
        reads_beside_static(&http, &origin, &admin, &ids, sizes).await?;
    }
    if wanted("sweep") {
        hold_sweep_query(&pool).await?;
    }

    server.abort();
    pool.close().await;
    Ok(())
}

fn bench_settings(redis_url: &str) -> Result<Settings> {
    Settings::local(redis_url, "bench")
}

fn token(state: &api::AppState, role: Role) -> Result<String> {
    state.keys.load().issue(
        &Principal::staff(role),
        chrono::Utc::now().timestamp(),
        3600,
    )
}

/// Advertisers through the API, one campaign through the API, then `campaigns - 1` copies of it
/// in SQL (spread over the advertisers and the statuses), each with its feed change.
async fn seed(
    http: &reqwest::Client,
    origin: &str,
    admin: &str,
    pool: &sqlx::PgPool,
    campaigns: usize,
) -> Result<(Vec<Uuid>, Vec<Uuid>)> {
    let mut advertisers = Vec::new();
    for n in 0..ADVERTISERS {
        let reply: Value = http
            .post(format!("{origin}/api/v1/advertisers"))
            .bearer_auth(admin)
            .json(&json!({"name": format!("Bench advertiser {n}"), "currency": "EUR"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        advertisers.push(id_of(&reply)?);
    }
    let template: Value = http
        .post(format!("{origin}/api/v1/campaigns"))
        .bearer_auth(admin)
        .json(&json!({
            "advertiser_id": advertisers[0],
            "name": "Bench campaign 0",
            "schedule": {"start": "2026-01-01T00:00:00Z", "end": "2027-12-31T00:00:00Z",
                         "time_zone": "Europe/Paris",
                         "day_parting": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                                          "start_hour": 8, "end_hour": 20}]},
            "budget": {"daily": "50", "lifetime": "1000"},
            "bid": {"kind": "cpm", "amount": "2.5"},
            "pacing": "even",
            "targeting": {"countries": ["FR", "DE", "ES"], "device_types": ["mobile", "desktop"], "os": ["ios", "android"],
                          "sizes": [{"w": 300, "h": 250}, {"w": 728, "h": 90}],
                          "categories": ["IAB1", "IAB19"]},
            "frequency_cap": {"count": 3, "period_s": 86400},
            "creatives": [
                {"id": "c1", "format": "banner", "w": 300, "h": 250,
                 "click_url": "https://shop.example.com/sale", "markup": "<a><img src=\"https://cdn.example.com/a.png\"></a>",
                 "adomain": "shop.example.com"},
                {"id": "c2", "format": "banner", "w": 728, "h": 90,
                 "click_url": "https://shop.example.com/sale", "asset_url": "https://cdn.example.com/b.png",
                 "adomain": "shop.example.com"}]
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let template = id_of(&template)?;
    let copies = campaigns.saturating_sub(1) as i64;
    let mut tx = pool.begin().await?;
    sqlx::query(
        r"insert into campaigns (id, advertiser_id, name, status, currency, daily_budget,
              lifetime_budget, bid_kind, bid_amount, pacing, schedule, targeting, frequency_cap,
              creatives, revision)
          select gen_random_uuid(), ($2::uuid[])[1 + n % array_length($2::uuid[], 1)],
              'Bench campaign ' || n,
              (array['active','active','paused','draft','archived','ended'])[1 + n % 6],
              t.currency, t.daily_budget, t.lifetime_budget, t.bid_kind,
              t.bid_amount + (n % 100) * 0.01, t.pacing, t.schedule, t.targeting,
              t.frequency_cap, t.creatives, t.revision + n
          from campaigns t, generate_series(1, $3::bigint) n
          where t.id = $1",
    )
    .bind(template)
    .bind(&advertisers)
    .bind(copies)
    .execute(&mut *tx)
    .await?;
    // Each copy's change: the template's change with the copy's own fields.
    sqlx::query(
        r"insert into campaign_changes (revision, campaign_id, campaign)
          select c.revision, c.id,
              t.campaign || jsonb_build_object('id', c.id, 'advertiser_id', c.advertiser_id,
                  'name', c.name, 'status', c.status, 'revision', c.revision,
                  'bid', jsonb_build_object('kind', c.bid_kind,
                                            'amount', to_char(c.bid_amount, 'FM999999999990.000000')))
          from campaigns c, campaign_changes t
          where t.campaign_id = $1 and c.id <> $1",
    )
    .bind(template)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update feed_revision set revision = (select max(revision) from campaign_changes)")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    sqlx::query("analyze campaigns").execute(pool).await?;
    sqlx::query("analyze campaign_changes")
        .execute(pool)
        .await?;
    let ids: Vec<Uuid> = sqlx::query_scalar("select id from campaigns")
        .fetch_all(pool)
        .await?;
    ensure!(ids.len() == campaigns, "seeded {} campaigns", ids.len());
    Ok((advertisers, ids))
}

fn id_of(reply: &Value) -> Result<Uuid> {
    reply["id"]
        .as_str()
        .context("no id in the reply")?
        .parse()
        .context("the id is not a UUID")
}

/// List pages at random positions, unfiltered, by advertiser and by status.
async fn list_pages(
    http: &reqwest::Client,
    origin: &str,
    token: &str,
    advertisers: &[Uuid],
    sizes: &Sizes,
) -> Result<()> {
    let advertisers = Arc::new(advertisers.to_vec());
    let per_client = sizes.list_requests / LIST_CLIENTS;
    let mut kinds: Vec<(&str, Vec<Duration>)> = vec![
        ("unfiltered", Vec::new()),
        ("by advertiser", Vec::new()),
        ("by status", Vec::new()),
    ];
    let mut tasks = Vec::new();
    for _ in 0..LIST_CLIENTS {
        let (http, origin, token) = (http.clone(), origin.to_owned(), token.to_owned());
        let advertisers = advertisers.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen: Vec<(usize, Duration)> = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let kind = i % 3;
                let (cursor, filter) = {
                    let mut rng = rand::rng();
                    let filter = match kind {
                        0 => String::new(),
                        1 => format!(
                            "&advertiser_id={}",
                            advertisers[rng.random_range(0..advertisers.len())]
                        ),
                        _ => {
                            let statuses = ["active", "paused", "draft", "archived", "ended"];
                            format!("&status={}", statuses[rng.random_range(0..statuses.len())])
                        }
                    };
                    (Uuid::from_u128(rng.random()), filter)
                };
                let url = format!("{origin}/api/v1/campaigns?limit={PAGE}&cursor={cursor}{filter}");
                let started = Instant::now();
                let response = http.get(&url).bearer_auth(&token).send().await?;
                ensure!(response.status() == 200, "{url}: {}", response.status());
                let _ = response.bytes().await?;
                seen.push((kind, started.elapsed()));
            }
            anyhow::Ok(seen)
        }));
    }
    for task in tasks {
        for (kind, took) in task.await?? {
            kinds[kind].1.push(took);
        }
    }
    println!("\nlist page (limit {PAGE}, random position), {LIST_CLIENTS} clients at once:");
    let mut all = Vec::new();
    for (name, mut took) in kinds {
        println!("  {name:<14} {}", percentiles(&mut took));
        all.extend(took);
    }
    println!("  {:<14} {}", "all", percentiles(&mut all));
    Ok(())
}

/// A snapshot read only to count it (a `Value` of it would weigh more than the server's copy).
#[derive(serde::Deserialize)]
struct SnapshotCount {
    snapshot: bool,
    campaigns: Vec<serde::de::IgnoredAny>,
    next_cursor: Option<String>,
}

/// The full snapshot servingd takes at start, page by page (1000 campaigns a page).
async fn snapshot(
    http: &reqwest::Client,
    origin: &str,
    token: &str,
    sizes: &Sizes,
    live: usize,
) -> Result<()> {
    let mut times = Vec::new();
    let mut size = 0;
    let mut count = 0;
    for _ in 0..sizes.snapshots {
        let started = Instant::now();
        (size, count) = (0, 0);
        let mut query = "since=0".to_owned();
        loop {
            let response = http
                .get(format!("{origin}/api/v1/feed/campaigns?{query}"))
                .bearer_auth(token)
                .send()
                .await?
                .error_for_status()?;
            let body = response.bytes().await?;
            size += body.len();
            let page: SnapshotCount = serde_json::from_slice(&body)?;
            ensure!(page.snapshot, "not a snapshot");
            count += page.campaigns.len();
            match page.next_cursor {
                Some(cursor) => query = format!("since=0&cursor={cursor}"),
                None => break,
            }
        }
        times.push(started.elapsed());
    }
    ensure!(
        count == live,
        "the snapshot had {count} campaigns of {live} not archived"
    );
    times.sort();
    println!(
        "\nfeed snapshot (since=0, pages of 1000): {count} campaigns, {:.1} MB ({:.0} bytes per campaign)",
        size as f64 / 1e6,
        size as f64 / count.max(1) as f64
    );
    println!(
        "  time to last byte: min {:.0} ms, median {:.0} ms, max {:.0} ms ({} runs)",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        times.len()
    );
    if let Some(peak) = peak_rss_mb() {
        println!("  peak memory of this process so far (server and client): {peak:.0} MB");
    }
    Ok(())
}

/// `GET /api/v1/campaigns/{id}` beside `GET /healthz`, same clients, alternating rounds.
async fn reads_beside_static(
    http: &reqwest::Client,
    origin: &str,
    token: &str,
    ids: &[Uuid],
    sizes: &Sizes,
) -> Result<()> {
    let ids = Arc::new(ids.to_vec());
    // warm the connections and the statement caches
    hammer(
        http,
        origin,
        token,
        &ids,
        Target::Static,
        Duration::from_millis(300),
    )
    .await?;
    hammer(
        http,
        origin,
        token,
        &ids,
        Target::Campaign,
        Duration::from_millis(300),
    )
    .await?;
    let (mut statics, mut reads) = (Vec::new(), Vec::new());
    let (mut static_lat, mut read_lat) = (Vec::new(), Vec::new());
    for _ in 0..sizes.rounds {
        let (rate, lat) = hammer(http, origin, token, &ids, Target::Static, sizes.round).await?;
        statics.push(rate);
        static_lat.extend(lat);
        let (rate, lat) = hammer(http, origin, token, &ids, Target::Campaign, sizes.round).await?;
        reads.push(rate);
        read_lat.extend(lat);
    }
    let (s, r) = (median(&mut statics), median(&mut reads));
    println!(
        "\n{CLIENTS} clients as fast as they can, {} rounds of {:.1} s each, alternating:",
        sizes.rounds,
        sizes.round.as_secs_f64()
    );
    println!(
        "  GET /healthz (static)        {s:>9.0} req/s   {}",
        percentiles(&mut static_lat)
    );
    println!(
        "  GET /api/v1/campaigns/{{id}}   {r:>9.0} req/s   {}",
        percentiles(&mut read_lat)
    );
    println!("  campaign read / static       {:>9.2}", r / s);
    Ok(())
}

#[derive(Clone, Copy)]
enum Target {
    Static,
    Campaign,
}

/// `CLIENTS` tasks sending back to back for `round`; requests/s and every latency.
async fn hammer(
    http: &reqwest::Client,
    origin: &str,
    token: &str,
    ids: &Arc<Vec<Uuid>>,
    target: Target,
    round: Duration,
) -> Result<(f64, Vec<Duration>)> {
    let started = Instant::now();
    let deadline = started + round;
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (http, origin, token, ids) = (
            http.clone(),
            origin.to_owned(),
            token.to_owned(),
            ids.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            while Instant::now() < deadline {
                let request = match target {
                    Target::Static => http.get(format!("{origin}/healthz")),
                    Target::Campaign => {
                        let id = ids[rand::rng().random_range(0..ids.len())];
                        http.get(format!("{origin}/api/v1/campaigns/{id}"))
                            .bearer_auth(&token)
                    }
                };
                let sent = Instant::now();
                let response = request.send().await?;
                ensure!(response.status() == 200, "status {}", response.status());
                let _ = response.bytes().await?;
                took.push(sent.elapsed());
            }
            anyhow::Ok(took)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok((all.len() as f64 / started.elapsed().as_secs_f64(), all))
}

fn percentiles(took: &mut [Duration]) -> String {
    if took.is_empty() {
        return "no requests".into();
    }
    took.sort();
    let at = |q: f64| ms(took[((took.len() as f64 * q) as usize).min(took.len() - 1)]);
    format!(
        "p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} requests)",
        at(0.50),
        at(0.99),
        ms(took[took.len() - 1]),
        took.len()
    )
}

/// The process's peak resident memory (Linux), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// The query the hold sweep runs every 10 s to find campaigns whose hold may need to move, with
/// every campaign active, its day's budget held and its hold holding money: the ledger's list
/// of holding campaigns is as long as the campaigns table, and nothing is due.
async fn hold_sweep_query(pool: &sqlx::PgPool) -> Result<()> {
    sqlx::query(
        r"update campaigns set status = 'active',
                 held_day = (now() at time zone (schedule->>'time_zone'))::date",
    )
    .execute(pool)
    .await?;
    let holding: Vec<ledger::CampaignId> = sqlx::query_scalar("select id from campaigns")
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(ledger::CampaignId)
        .collect();
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let due =
            api::campaigns::store::needing_hold_sweep(pool, chrono::Utc::now(), &holding).await?;
        times.push(started.elapsed());
        ensure!(
            due.is_empty(),
            "{} campaigns due in the steady state",
            due.len()
        );
    }
    times.sort();
    println!(
        "\nhold sweep query, {} active campaigns all holding: min {:.0} ms, median {:.0} ms, max {:.0} ms per sweep (every 10 s)",
        holding.len(),
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
    );
    Ok(())
}
