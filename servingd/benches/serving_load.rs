//! servingd under load with 10,000 active campaigns, measured with the load generator against a
//! bare static endpoint of the same server, same clients, same settings, in one run. Prints
//! figures and ratios; asserts nothing but that requests were answered.
//!
//!   cargo bench -p servingd --bench serving_load             10,000 campaigns
//!   cargo bench -p servingd --bench serving_load -- --smoke  200 campaigns, short rounds
//!   cargo bench -p servingd --bench serving_load -- --soak 30
//!       decisions only, as fast as the clients go, for 30 s after the warm-up (to profile)
//!   cargo bench -p servingd --bench serving_load -- --without-caps
//!       no campaign has a frequency cap: what the cap round trips to Redis cost
//!
//! Needs the services (`eval "$(scripts/services env)"`); the API and servingd run in this
//! process over a scratch database it drops at the end.
//!
//! - decisions/s as fast as 32 clients can send, beside `GET /healthz` (target ratio >= 0.7);
//! - the no-bid path (a 1×1 slot no campaign takes) beside the static endpoint (target >= 0.9);
//! - p99 latency at half the static endpoint's maximum rate, decisions against static (target
//!   <= 1.5 × static and <= 5 ms);
//! - for reference, a bare POST route on the same runtime that reads the same bodies and answers
//!   204 (what any POST route could reach), and the mean time of each decision stage.
//!
//! The endpoints alternate over three rounds and each ratio is the median of the rounds' ratios.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use api::auth::{Principal, Role};
use loadgen::{Plan, Report};
use serde_json::{Value, json};
use test_support::ScratchDatabase;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// The allocator servingd's binary runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CLIENTS: usize = 32;
/// Rounds of alternating endpoints (the smoke run takes one).
const ROUNDS: usize = 3;
const ADVERTISERS: usize = 50;

#[tokio::main]
async fn main() -> Result<()> {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let capped = !std::env::args().any(|a| a == "--without-caps");
    let redis_url = test_support::service_var("REDIS_URL")?;
    let scratch = ScratchDatabase::create("adplat_bench_serving").await?;
    let outcome = run(scratch.url(), &redis_url, smoke, capped).await;
    scratch.drop().await?;
    outcome
}

async fn run(db_url: &str, redis_url: &str, smoke: bool, capped: bool) -> Result<()> {
    let campaigns = if smoke { 200 } else { 10_000 };
    let round = Duration::from_secs(if smoke { 1 } else { 4 });
    // servingd's own recorder, as its binary installs it (the API's would otherwise take it)
    servingd::http::metrics_handle();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(24)
        .connect(db_url)
        .await?;
    ledger::MIGRATOR.run(&pool).await?;

    // The admin API.
    let api_settings = api::Settings::local(redis_url, "bench")?;
    let state =
        api::server::state_over(pool.clone(), api_settings, api::server::system_clock()).await?;
    let admin = state.keys.load().issue(
        &Principal::staff(Role::Admin),
        chrono::Utc::now().timestamp(),
        3600,
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api_url = format!("http://{}", listener.local_addr()?);
    let app = api::router(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();

    println!(
        "servingd under load: {campaigns} active campaigns{}{}",
        if capped {
            ", one in seven with a frequency cap"
        } else {
            ", none with a frequency cap"
        },
        if smoke {
            " (SMOKE RUN: tiny sizes, figures not meaningful)"
        } else {
            ""
        }
    );
    let started = std::time::Instant::now();
    let (service_key, partner_key) = seed(&http, &api_url, &admin, campaigns, capped).await?;
    println!(
        "created and activated through the API in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // servingd.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let serving = format!("http://{}", listener.local_addr()?);
    let settings = servingd::settings::Settings {
        api_url: api_url.clone(),
        api_key: service_key.into(),
        redis_url: redis_url.to_owned(),
        server_id: format!("bench-{}", std::process::id()),
        public_url: serving.clone(),
        capacity: 4_096,
        dev_random_tracking_key: true,
        ..servingd::settings::Settings::default()
    };
    let state = servingd::server::build_over(settings, pool.clone()).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(servingd::server::run(state.clone(), listener, async {
        let _ = stopped.await;
    }));
    for _ in 0..600 {
        if state.live.load().len() == campaigns {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ensure!(
        state.live.load().len() == campaigns,
        "the index has {} campaigns",
        state.live.load().len()
    );

    // The ceiling: a bare POST route that reads the same bodies and answers 204, served on
    // the same runtime, so the figures show what the POST alone costs beside a static GET.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare = format!("http://{}", listener.local_addr()?);
    let sink = axum::Router::new().route(
        "/sink",
        axum::routing::post(|body: axum::body::Bytes| async move {
            std::hint::black_box(body);
            axum::http::StatusCode::NO_CONTENT
        }),
    );
    tokio::spawn(async move { axum::serve(listener, sink).await });
    let plan = |path: &str, rate: f64, get: bool, unmatched: bool, seed: u64| Plan {
        url: if path == "/sink" {
            format!("{bare}{path}")
        } else {
            format!("{serving}{path}")
        },
        partner_key: Some(partner_key.clone()),
        rate,
        duration: round,
        clients: CLIENTS,
        users: 100_000,
        seed,
        get,
        unmatched,
        click_share: None,
    };
    // Warm-up: leases come in for the campaigns that win, connections open.
    let warm = loadgen::run(&Plan {
        duration: round * 2,
        ..plan("/openrtb2/auction", 0.0, false, false, 1)
    })
    .await?;
    println!("warm-up: {}", warm.summary());
    if let Some(seconds) = std::env::args()
        .skip_while(|a| a != "--soak")
        .nth(1)
        .and_then(|s| s.parse::<u64>().ok())
    {
        let soak = loadgen::run(&Plan {
            duration: Duration::from_secs(seconds),
            ..plan("/openrtb2/auction", 0.0, false, false, 9)
        })
        .await?;
        println!("soak: {}", soak.summary());
        print_stage_means(&state);
        let _ = stop.send(());
        served.await??;
        pool.close().await;
        return Ok(());
    }

    // Rounds alternate the endpoints, and each ratio is taken within a round and then the
    // median over rounds: this machine's speed drifts by half from one minute to the next, and
    // comparing neighbours keeps that out of the ratios.
    let rounds = if smoke { 1 } else { ROUNDS };
    let mut maxima: Vec<[Report; 4]> = Vec::new();
    for r in 0..rounds as u64 {
        let seed = 10 * r;
        let statics = loadgen::run(&plan("/healthz", 0.0, true, false, seed + 2)).await?;
        let decisions =
            loadgen::run(&plan("/openrtb2/auction", 0.0, false, false, seed + 3)).await?;
        let no_bids = loadgen::run(&plan("/openrtb2/auction", 0.0, false, true, seed + 4)).await?;
        let sunk = loadgen::run(&plan("/sink", 0.0, false, false, seed + 5)).await?;
        maxima.push([statics, decisions, no_bids, sunk]);
    }
    let half = median(maxima.iter().map(|m| m[0].throughput())) / 2.0;
    let mut halves: Vec<[Report; 2]> = Vec::new();
    for r in 0..rounds as u64 {
        let seed = 10 * r;
        let statics = loadgen::run(&plan("/healthz", half, true, false, seed + 6)).await?;
        let decisions =
            loadgen::run(&plan("/openrtb2/auction", half, false, false, seed + 7)).await?;
        halves.push([statics, decisions]);
    }
    let names = [
        "static GET /healthz, max",
        "decisions, max",
        "no-bid path, max",
        "bare POST answered 204, max",
    ];
    for (r, round) in maxima.iter().enumerate() {
        println!("round {}", r + 1);
        for (name, report) in names.iter().zip(round) {
            ensure!(
                report.errors == 0 && report.sent > 0,
                "{name}: {}",
                report.summary()
            );
            println!("  {name:<30} {}", report.summary());
        }
    }
    for (r, round) in halves.iter().enumerate() {
        println!(
            "round {} at {half:.0} req/s (half the static maximum)",
            r + 1
        );
        for (name, report) in ["static", "decisions"].iter().zip(round) {
            ensure!(
                report.errors == 0 && report.sent > 0,
                "{name}: {}",
                report.summary()
            );
            println!("  {name:<30} {}", report.summary());
        }
    }
    let ratio = |i: usize| median(maxima.iter().map(|m| m[i].throughput() / m[0].throughput()));
    let ms = |r: &Report| r.latency(0.99).as_secs_f64() * 1e3;
    println!("medians over {rounds} rounds:");
    println!(
        "  decisions / static              {:>6.2}   (target >= 0.70)",
        ratio(1)
    );
    println!(
        "  no-bid / static                 {:>6.2}   (target >= 0.90)",
        ratio(2)
    );
    println!(
        "  bare POST / static              {:>6.2}   (what a POST route that does nothing reaches)",
        ratio(3)
    );
    println!(
        "  p99 at {half:.0} req/s: decisions {:.2} ms, static {:.2} ms, ratio {:.2}   (target <= 1.5 and <= 5 ms)",
        median(halves.iter().map(|h| ms(&h[1]))),
        median(halves.iter().map(|h| ms(&h[0]))),
        median(halves.iter().map(|h| ms(&h[1]) / ms(&h[0]).max(1e-6))),
    );
    print_stage_means(&state);
    let _ = stop.send(());
    served.await??;
    pool.close().await;
    Ok(())
}

/// The median of `values`.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Mean time per call of each decision stage over the whole run, from servingd's metrics.
fn print_stage_means(state: &servingd::runtime::serving_state::ServingState) {
    let mut text = String::new();
    state.metrics.render(&mut text);
    let value = |series: &str| {
        let prefix = format!("{series} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    println!("mean time per call, microseconds, whole run (wall time on a loaded machine):");
    for stage in [
        "parse",
        "candidates",
        "auction",
        "caps",
        "spend",
        "decide",
        "total",
    ] {
        let series = |part: &str| match stage {
            "total" => value(&format!("servingd_request_duration_seconds_{part}")),
            _ => value(&format!(
                "servingd_stage_seconds_{part}{{stage=\"{stage}\"}}"
            )),
        };
        if let (Some(sum), Some(count)) = (series("sum"), series("count")) {
            println!(
                "  {stage:<12} {:>8.2}   ({count:.0} calls)",
                sum / count.max(1.0) * 1e6
            );
        }
    }
}

/// Advertisers with cash, a service key, a supply partner, and `campaigns` campaigns created
/// and activated through the API, spread over the load generator's countries and sizes: the
/// service key and the partner's credential.
async fn seed(
    http: &reqwest::Client,
    api: &str,
    admin: &str,
    campaigns: usize,
    capped: bool,
) -> Result<(String, String)> {
    async fn post(http: &reqwest::Client, url: String, admin: &str, body: Value) -> Result<Value> {
        let response = http
            .post(&url)
            .bearer_auth(admin)
            .header("idempotency-key", Uuid::now_v7().to_string())
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        ensure!(status.is_success(), "{url}: {status} {body}");
        Ok(body)
    }
    let key = post(
        http,
        format!("{api}/api/v1/api-keys"),
        admin,
        json!({"name": "servingd", "role": "service"}),
    )
    .await?;
    let partner = post(
        http,
        format!("{api}/api/v1/partners"),
        admin,
        json!({"name": "Bench exchange", "currency": "USD"}),
    )
    .await?;
    let mut advertisers = Vec::new();
    for n in 0..ADVERTISERS {
        let adv = post(
            http,
            format!("{api}/api/v1/advertisers"),
            admin,
            json!({"name": format!("Bench {n}"), "currency": "USD"}),
        )
        .await?;
        let id = adv["id"].as_str().context("id")?.to_owned();
        post(
            http,
            format!("{api}/api/v1/advertisers/{id}/deposits"),
            admin,
            json!({"amount": "100000000"}),
        )
        .await?;
        advertisers.push(id);
    }
    let countries = ["US", "GB", "DE", "FR", "ES", "IT", "CA", "BR", "JP", "IN"];
    let sizes = [(300, 250), (728, 90), (320, 50), (160, 600)];
    let gate = Arc::new(Semaphore::new(8));
    let mut tasks = Vec::new();
    for n in 0..campaigns {
        let (http, api, admin, gate) =
            (http.clone(), api.to_owned(), admin.to_owned(), gate.clone());
        let adv = advertisers[n % ADVERTISERS].clone();
        let (w, h) = sizes[n % sizes.len()];
        let targeted: Vec<&str> = if n % 5 == 0 {
            Vec::new()
        } else {
            vec![
                countries[n % countries.len()],
                countries[(n / 3) % countries.len()],
            ]
        };
        let bid = if n % 10 == 0 {
            json!({"kind": "cpc", "amount": format!("0.{:02}", 20 + n % 60)})
        } else {
            json!({"kind": "cpm", "amount": format!("{}.{:02}", 1 + n % 3, n % 100)})
        };
        let body = json!({
            "advertiser_id": adv,
            "name": format!("Bench campaign {n}"),
            "schedule": {"start": "2026-01-01T00:00:00Z", "time_zone": "UTC"},
            "budget": {"daily": "5000"},
            "bid": bid,
            "pacing": if n % 2 == 0 { "even" } else { "accelerated" },
            "targeting": {"countries": targeted},
            // one campaign in seven capped, spread over every bid tier, so winners' caps are
            // checked in Redis on the decision path
            "frequency_cap": if capped && n % 7 == 0 { json!({"count": 5, "period_s": 3600}) } else { Value::Null },
            "creatives": [{"id": "c", "format": "banner", "w": w, "h": h,
                           "click_url": "https://shop.example.com", "markup": "<b>ad</b>",
                           "adomain": "shop.example.com"}]
        });
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await?;
            let created = post(&http, format!("{api}/api/v1/campaigns"), &admin, body).await?;
            let id = created["id"].as_str().context("id")?.to_owned();
            post(
                &http,
                format!("{api}/api/v1/campaigns/{id}/activate"),
                &admin,
                json!({}),
            )
            .await?;
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok((
        key["api_key"].as_str().context("api_key")?.to_owned(),
        partner["credential"]
            .as_str()
            .context("credential")?
            .to_owned(),
    ))
}
