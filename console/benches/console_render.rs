//! The console's server render and download size, against the real API over a scratch database.
//! Prints figures and ratios; asserts only that the pages are right.
//!
//!   cargo bench -p console --features ssr --bench console_render             1,000 campaigns
//!   cargo bench -p console --features ssr --bench console_render -- --smoke  50 campaigns
//!
//! Needs the services (`eval "$(scripts/services env)"`) and the browser bundle
//! (`scripts/build-console`) for the download sizes.
//!
//! - the campaign list (`GET /campaigns`, the first page of 50) of an advertiser with 1,000
//!   campaigns, time to the last byte, one request at a time: p50, p95 (target p95 < 50 ms on a
//!   2-core machine); beside it, the API calls the page makes (its two pages of 500 campaigns),
//!   so the console's own share shows;
//! - what a browser downloads for its first page (the sign-in page, its stylesheet, script and
//!   wasm), compressed as the console serves it (brotli, and gzip): target under 600 KB.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use api::auth::{Principal, Role};
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use test_support::ScratchDatabase;
use tokio::net::TcpListener;

const PASSWORD: &str = "a long passphrase for the bench";
const SITE_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../build/console");

#[tokio::main]
async fn main() -> Result<()> {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let (campaigns, requests) = if smoke { (50, 20) } else { (1_000, 300) };
    let redis_url = test_support::service_var("REDIS_URL")?;
    let scratch = ScratchDatabase::create("adplat_bench_console").await?;
    let outcome = run(scratch.url(), &redis_url, campaigns, requests, smoke).await;
    scratch.drop().await?;
    outcome
}

async fn run(
    db_url: &str,
    redis_url: &str,
    campaigns: usize,
    requests: usize,
    smoke: bool,
) -> Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect(db_url)
        .await?;
    ledger::MIGRATOR.run(&pool).await?;
    let settings = api::Settings::local(redis_url, "bench")?;
    let state =
        api::server::state_over(pool.clone(), settings, api::server::system_clock()).await?;
    let admin = state.keys.load().issue(
        &Principal::staff(Role::Admin),
        chrono::Utc::now().timestamp(),
        3600,
    )?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let api_url = format!("http://{}", listener.local_addr()?);
    let api_server = tokio::spawn(api::server::serve(state, listener, std::future::pending()));
    let options = leptos::prelude::LeptosOptions::builder()
        .output_name("console")
        .site_root(SITE_ROOT)
        .site_pkg_dir("pkg")
        .build();
    let console = console::serve::router(options, console::server::ApiBase(api_url.clone()), false);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let console_url = format!("http://{}", listener.local_addr()?);
    let console_server = tokio::spawn(async move { axum::serve(listener, console).await });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    println!(
        "console render: the campaign list of an advertiser with {campaigns} campaigns{}",
        if smoke {
            " (SMOKE RUN: tiny sizes, figures not meaningful)"
        } else {
            ""
        }
    );
    let started = Instant::now();
    let advertiser = seed(&http, &api_url, &admin, campaigns).await?;
    println!(
        "seeded {campaigns} campaigns through the API in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (cookies, token) = sign_in(&http, &console_url).await?;

    // the page as a browser asks for it, one request at a time, after a warm-up
    let page = format!("{console_url}/campaigns");
    let get_page = || {
        http.get(&page)
            .header("cookie", &cookies)
            .header("accept", "text/html")
            .send()
    };
    for _ in 0..10 {
        get_page().await?.bytes().await?;
    }
    // each round: the page, then the API calls it makes alone (the advertiser's campaigns, 500
    // a page, read as the console reads them), so both see the same moment
    #[derive(serde::Deserialize)]
    struct ApiPage {
        #[allow(dead_code)]
        items: Vec<domain::campaign::Campaign>,
        next_cursor: Option<String>,
    }
    let mut took = Vec::with_capacity(requests);
    let mut api_took = Vec::with_capacity(requests);
    let mut html = String::new();
    for _ in 0..requests {
        let at = Instant::now();
        let response = get_page().await?;
        ensure!(
            response.status() == 200,
            "the list answered {}",
            response.status()
        );
        html = response.text().await?;
        took.push(at.elapsed());

        let at = Instant::now();
        let mut cursor: Option<String> = None;
        loop {
            let mut path =
                format!("{api_url}/api/v1/campaigns?limit=500&advertiser_id={advertiser}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page: ApiPage = http
                .get(&path)
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        api_took.push(at.elapsed());
    }
    ensure!(
        html.contains(&format!("{campaigns} campaigns; page 1 of")),
        "the list shows the advertiser's campaigns"
    );
    let rendered = Percentiles::of(&mut took);
    println!("GET /campaigns (50 rows of {campaigns}): {rendered}");
    let api_part = Percentiles::of(&mut api_took);
    println!("  of which the API's pages of 500 campaigns: {api_part}");
    println!(
        "  the console's own share at p50: {:.2} ms ({:.0} % of the page)",
        rendered.p50_ms - api_part.p50_ms,
        100.0 * (rendered.p50_ms - api_part.p50_ms) / rendered.p50_ms
    );
    println!(
        "  p95 {:.2} ms against the 50 ms target: {:.2}x",
        rendered.p95_ms,
        rendered.p95_ms / 50.0
    );

    download_sizes(&http, &console_url).await?;
    console_server.abort();
    api_server.abort();
    pool.close().await;
    Ok(())
}

/// An advertiser with a user and `campaigns` campaigns, created through the API (8 at a time):
/// the advertiser's id.
async fn seed(http: &reqwest::Client, api: &str, admin: &str, campaigns: usize) -> Result<String> {
    let post = |path: String, body: Value| {
        let request = http
            .post(format!("{api}{path}"))
            .bearer_auth(admin)
            .json(&body);
        async move {
            let response = request.send().await?;
            let status = response.status();
            let body: Value = response.json().await?;
            ensure!(status.is_success(), "{path}: {status} {body}");
            Ok::<Value, anyhow::Error>(body)
        }
    };
    let advertiser = post(
        "/api/v1/advertisers".into(),
        json!({"name": "Bench Ltd", "currency": "EUR"}),
    )
    .await?["id"]
        .as_str()
        .context("an advertiser id")?
        .to_owned();
    post(
        format!("/api/v1/advertisers/{advertiser}/users"),
        json!({"username": "bench", "password": PASSWORD}),
    )
    .await?;
    let mut created = 0;
    while created < campaigns {
        let batch = (created..campaigns.min(created + 8)).map(|i| {
            post(
                "/api/v1/campaigns".into(),
                json!({
                    "advertiser_id": advertiser, "name": format!("Campaign {i:04}"),
                    "schedule": {"start": "2027-01-01T00:00:00Z", "time_zone": "Europe/Paris"},
                    "budget": {"daily": format!("{}.50", 10 + i % 90)},
                    "bid": {"kind": "cpm", "amount": "1.20"},
                    "targeting": {"countries": ["FR", "DE"]},
                }),
            )
        });
        for done in futures_util::future::join_all(batch).await {
            done?;
        }
        created = campaigns.min(created + 8);
    }
    Ok(advertiser)
}

/// Signs the bench's user in through the console's form: the cookies, and an API token of its
/// own for timing the API alone.
async fn sign_in(http: &reqwest::Client, console: &str) -> Result<(String, String)> {
    let page = http.get(format!("{console}/sign-in")).send().await?;
    let csrf = cookie(page.headers(), "adplat_csrf").context("a CSRF cookie")?;
    let signed = http
        .post(format!("{console}/sign-in"))
        .header("cookie", format!("adplat_csrf={csrf}"))
        .form(&[
            ("username", "bench"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await?;
    let session = cookie(signed.headers(), "adplat_session").context("signed in")?;
    let csrf = cookie(signed.headers(), "adplat_csrf").context("a new CSRF cookie")?;
    Ok((
        format!("adplat_csrf={csrf}; adplat_session={session}"),
        session,
    ))
}

fn cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// What the browser downloads for the sign-in page, as served (compressed), in bytes.
async fn download_sizes(http: &reqwest::Client, console: &str) -> Result<()> {
    let wasm = std::path::Path::new(SITE_ROOT).join("pkg/console_bg.wasm");
    if !wasm.exists() {
        println!(
            "download sizes: skipped ({} is missing: run scripts/build-console)",
            wasm.display()
        );
        return Ok(());
    }
    let files = [
        "/sign-in",
        "/pkg/console.css",
        "/pkg/console.js",
        "/pkg/console_bg.wasm",
    ];
    for encoding in ["br", "gzip"] {
        let mut total = 0usize;
        let mut parts = Vec::new();
        for file in files {
            // reqwest decompresses only what it asked to be compressed itself: these bytes are
            // the ones on the wire
            let response = http
                .get(format!("{console}{file}"))
                .header("accept-encoding", encoding)
                .send()
                .await?;
            ensure!(response.status() == 200, "{file}: {}", response.status());
            let served = response
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("identity")
                .to_owned();
            let size = response.bytes().await?.len();
            total += size;
            parts.push(format!("{file} {:.1} KB ({served})", size as f64 / 1000.0));
        }
        println!(
            "first page download, {encoding}: {:.1} KB against the 600 KB target ({:.2}x): {}",
            total as f64 / 1000.0,
            total as f64 / 600_000.0,
            parts.join(", ")
        );
    }
    Ok(())
}

/// Latency percentiles of a run.
struct Percentiles {
    p50_ms: f64,
    p95_ms: f64,
    max_ms: f64,
    count: usize,
}

impl Percentiles {
    fn of(took: &mut [Duration]) -> Self {
        took.sort_unstable();
        let at = |q: f64| {
            let i = ((took.len() as f64 * q).ceil() as usize).clamp(1, took.len()) - 1;
            took[i].as_secs_f64() * 1000.0
        };
        Percentiles {
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            max_ms: at(1.0),
            count: took.len(),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.2} ms  p95 {:.2} ms  max {:.2} ms  ({} requests)",
            self.p50_ms, self.p95_ms, self.max_ms, self.count
        )
    }
}
