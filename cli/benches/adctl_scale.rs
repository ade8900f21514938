//! `adctl` at scale, the real binary against the admin API served on a loopback port over a
//! scratch database. Prints figures and their ratio to the targets; asserts only that the
//! answers are whole.
//!
//!   cargo bench -p adctl --bench adctl_scale             100,000 campaigns, top idle for 30 s
//!   cargo bench -p adctl --bench adctl_scale -- --smoke  2,000 campaigns, top idle for 4 s
//!
//! Needs the services (`eval "$(scripts/services env)"`) and tmux (`scripts/services up`).
//!
//! - `adctl campaigns list -o json` over every campaign (pages of 500, streamed): wall time and
//!   the process's peak resident memory (targets: under 10 s, under 64 MB);
//! - `adctl top` in a 120×40 terminal (tmux) doing nothing but refresh every 2 s (up to 2,000
//!   campaigns a refresh): its CPU time over the wall time (target: under 2% of a core).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use test_support::ScratchDatabase;

const ADCTL: &str = env!("CARGO_BIN_EXE_adctl");
const PASSWORD: &str = "a long passphrase for the bench";

#[tokio::main]
async fn main() -> Result<()> {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let (campaigns, idle) = if smoke {
        (2_000, Duration::from_secs(4))
    } else {
        (100_000, Duration::from_secs(30))
    };
    let redis_url = test_support::service_var("REDIS_URL")?;
    let scratch = ScratchDatabase::create("adplat_bench_adctl").await?;
    let outcome = run(scratch.url(), &redis_url, campaigns, idle).await;
    scratch.drop().await?;
    outcome
}

async fn run(db_url: &str, redis_url: &str, campaigns: usize, idle: Duration) -> Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect(db_url)
        .await?;
    ledger::MIGRATOR.run(&pool).await?;
    let settings = api::Settings::local(redis_url, "bench")?;
    let state =
        api::server::state_over(pool.clone(), settings, api::server::system_clock()).await?;
    api::server::bootstrap_admin(&pool, "admin", PASSWORD).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let router = api::router(state);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let home = tempfile_dir()?;

    let login = adctl(
        &home,
        &[
            "login",
            "--url",
            &url,
            "--username",
            "admin",
            "--password-stdin",
        ],
        Some(PASSWORD),
    )?;
    ensure!(login.status.success(), "login: {login:?}");
    let started = Instant::now();
    seed(&home, &pool, campaigns).await?;
    println!(
        "seeded {campaigns} campaigns in {:.1} s (one through adctl, the rest copied in SQL)",
        started.elapsed().as_secs_f64()
    );

    let (took, items, peak_kb) = list_all(&home).await?;
    ensure!(
        items == campaigns,
        "listed {items} of {campaigns} campaigns"
    );
    let peak_mb = peak_kb as f64 / 1024.0;
    println!(
        "adctl campaigns list -o json: {items} campaigns in {:.2} s ({:.0}/s), peak memory {peak_mb:.1} MB",
        took.as_secs_f64(),
        items as f64 / took.as_secs_f64()
    );
    println!(
        "  against the targets: time {:.2} of 10 s, memory {:.2} of 64 MB",
        took.as_secs_f64() / 10.0,
        peak_mb / 64.0
    );

    let cpu = top_idle(&home, idle).await?;
    println!(
        "adctl top idle ({} s, refreshing every 2 s): {cpu:.2}% of a core; against the target: {:.2} of 2%",
        idle.as_secs(),
        cpu / 2.0
    );
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

/// A configuration folder of the bench's own.
fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("adctl-bench-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Runs `adctl args` with `home` as its configuration folder.
fn adctl(home: &Path, args: &[&str], stdin: Option<&str>) -> Result<std::process::Output> {
    use std::io::Write;
    let mut child = Command::new(ADCTL)
        .args(args)
        .env("XDG_CONFIG_HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .context("stdin")?
            .write_all(text.as_bytes())?;
    }
    Ok(child.wait_with_output()?)
}

/// An advertiser and one campaign through adctl, then copies of the campaign in SQL.
async fn seed(home: &Path, pool: &sqlx::PgPool, campaigns: usize) -> Result<()> {
    let advertiser = adctl(
        home,
        &[
            "advertisers",
            "create",
            "--name",
            "Bench",
            "--currency",
            "USD",
            "-o",
            "json",
        ],
        None,
    )?;
    ensure!(advertiser.status.success(), "{advertiser:?}");
    let advertiser: Value = serde_json::from_slice(&advertiser.stdout)?;
    let advertiser = advertiser["id"].as_str().context("advertiser id")?;
    let mut campaign = api::openapi::examples::all()
        .into_iter()
        .find(|(name, _)| *name == "NewCampaign")
        .map(|(_, example)| example)
        .context("the NewCampaign example")?;
    campaign["schedule"]["start"] = Value::String("2026-01-01T00:00:00Z".into());
    campaign["schedule"]["end"] = Value::String("2027-12-31T00:00:00Z".into());
    let file = home.join("campaign.json");
    std::fs::write(&file, campaign.to_string())?;
    let file = file.display().to_string();
    let created = adctl(
        home,
        &[
            "campaigns",
            "create",
            "-f",
            &file,
            "--advertiser",
            advertiser,
            "-o",
            "json",
        ],
        None,
    )?;
    ensure!(created.status.success(), "{created:?}");
    let template: Value = serde_json::from_slice(&created.stdout)?;
    let template = uuid::Uuid::parse_str(template["id"].as_str().context("campaign id")?)?;
    sqlx::query(
        r"insert into campaigns (id, advertiser_id, name, status, currency, daily_budget,
              lifetime_budget, bid_kind, bid_amount, pacing, schedule, targeting, frequency_cap,
              creatives, revision)
          select gen_random_uuid(), t.advertiser_id, 'Bench campaign ' || n,
              (array['active','paused','draft','ended'])[1 + n % 4], t.currency, t.daily_budget,
              t.lifetime_budget, t.bid_kind, t.bid_amount, t.pacing, t.schedule, t.targeting,
              t.frequency_cap, t.creatives, t.revision + n
          from campaigns t, generate_series(1, $2::bigint) n
          where t.id = $1",
    )
    .bind(template)
    .bind(campaigns.saturating_sub(1) as i64)
    .execute(pool)
    .await?;
    sqlx::query("analyze campaigns").execute(pool).await?;
    Ok(())
}

/// `adctl campaigns list -o json` to the end: its wall time, the campaigns it wrote, and its
/// peak resident memory (KB).
async fn list_all(home: &Path) -> Result<(Duration, usize, i64)> {
    let home = home.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::{BufRead, BufReader};
        let started = Instant::now();
        let mut child = Command::new(ADCTL)
            .args(["campaigns", "list", "-o", "json"])
            .env("XDG_CONFIG_HOME", &home)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        // each campaign starts a line `  {` in the pretty array
        let mut items = 0;
        for line in BufReader::new(stdout).lines() {
            if line?.starts_with("  {") {
                items += 1;
            }
        }
        let status = child.wait()?;
        let took = started.elapsed();
        ensure!(status.success(), "adctl campaigns list: {status}");
        Ok((took, items, peak_child_kb()))
    })
    .await?
}

/// The largest resident set of any child waited for, KB.
fn peak_child_kb() -> i64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map_or(0, |usage| usage.max_rss())
}

/// `adctl top` in a terminal of tmux's for `idle` after a warm-up: its CPU use, % of a core.
async fn top_idle(home: &Path, idle: Duration) -> Result<f64> {
    let socket = format!("adctl-bench-{}", uuid::Uuid::now_v7().simple());
    let tmux = |args: &[&str]| -> Result<std::process::Output> {
        Ok(Command::new("tmux")
            .args(["-L", &socket])
            .args(args)
            .output()?)
    };
    let command = format!("exec env XDG_CONFIG_HOME={} {ADCTL} top", home.display());
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "120",
        "-y",
        "40",
        &command,
    ])?;
    ensure!(started.status.success(), "tmux: {started:?}");
    let pid = String::from_utf8(tmux(&["display", "-p", "-t", "top", "#{pane_pid}"])?.stdout)?;
    let pid: u32 = pid.trim().parse().context("the pane's pid")?;
    // warm up: the first refreshes and the campaigns on screen
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pane = String::from_utf8(tmux(&["capture-pane", "-p", "-t", "top"])?.stdout)?;
    ensure!(
        pane.contains("Bench campaign"),
        "top shows no campaigns:\n{pane}"
    );
    let before = cpu_ticks(pid)?;
    tokio::time::sleep(idle).await;
    let after = cpu_ticks(pid)?;
    let _ = tmux(&["send-keys", "-t", "top", "q"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = tmux(&["kill-server"]);
    Ok((after - before) as f64 / TICKS_PER_SECOND / idle.as_secs_f64() * 100.0)
}

/// Clock ticks a second in `/proc/PID/stat` (Linux's USER_HZ, 100 on every architecture it
/// runs on here).
const TICKS_PER_SECOND: f64 = 100.0;

/// The process's user and system CPU time so far, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // the fields after the command's name, which is in parentheses and may hold spaces
    let rest = stat.rsplit_once(')').context("stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11).context("utime")?.parse()?;
    let stime: u64 = fields.get(12).context("stime")?.parse()?;
    Ok(utime + stime)
}
