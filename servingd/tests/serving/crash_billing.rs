//! The process-level crash test: 100,000 served ads' billing URLs are fetched from servingd
//! while servingd and the ledger writer (real binaries, real Redis and PostgreSQL) are killed
//! with SIGKILL at random moments and restarted. Afterwards the ledger holds exactly one spend
//! transfer per distinct ad, of the right amount; none lost, none doubled; and replaying the
//! whole stream changes nothing.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use events::{Billing, Duty, EventKind, EventStream, LedgerWriter, WriterSettings};
use ledger::Ledger;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use servingd::decision::tracking_token::{TokenClaims, TrackingKeys};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::funded_campaign;

const EVENTS: usize = 100_000;
const CAMPAIGNS: usize = 10;
/// A CPM of 1.234567: each impression costs 0.001234 (rounded down at the sixth place).
const CPM_MICROS: i64 = 1_234_567;
const SENDERS: usize = 32;
const SHARDS: u16 = 4;

/// One of this package's binaries, built for this test run.
fn binary(name: &str) -> PathBuf {
    match name {
        "servingd" => PathBuf::from(env!("CARGO_BIN_EXE_servingd")),
        "ledger-writer" => PathBuf::from(env!("CARGO_BIN_EXE_ledger-writer")),
        other => panic!("no binary {other}"),
    }
}

/// The two processes under test, and how to start each.
struct Processes {
    servingd: Option<Child>,
    writer: Option<Child>,
    base_env: Vec<(String, String)>,
    port: u16,
    logs: PathBuf,
    starts: usize,
}

impl Processes {
    fn command(&self, name: &str) -> Command {
        let mut command = Command::new(binary(name));
        command.envs(self.base_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        // servingd writes its events to the single Redis: the writer must read them there
        command.env_remove("REDIS_CLUSTER_URLS");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("{name}.log")))
            .expect("log file");
        command
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .env("RUST_LOG", "warn");
        command
    }

    fn start_servingd(&mut self) {
        let mut command = self.command("servingd");
        command
            .env("SERVINGD_LISTEN_ADDR", format!("127.0.0.1:{}", self.port))
            .env("SERVINGD_SERVER_ID", format!("crash-{}", self.starts));
        self.starts += 1;
        self.servingd = Some(command.spawn().expect("servingd starts"));
    }

    /// Starts a writer under one of two names: a restart under its own name takes back its
    /// pending entries at once, under the other name they are claimed from the dead one.
    fn start_writer(&mut self, consumer: &str) {
        let mut command = self.command("ledger-writer");
        command
            .env("LEDGER_WRITER_CONSUMER", consumer)
            .env("LEDGER_WRITER_LISTEN_ADDR", "127.0.0.1:0");
        self.writer = Some(command.spawn().expect("ledger-writer starts"));
    }

    fn kill(child: &mut Option<Child>) {
        if let Some(mut c) = child.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        Processes::kill(&mut self.servingd);
        Processes::kill(&mut self.writer);
    }
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    for _ in 0..400 {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("servingd did not come back");
}

async fn spend_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from ledger_transfers where kind = 'spend'")
        .fetch_one(pool)
        .await
        .expect("count")
}

/// Whether the group has delivered and acknowledged every entry of every shard.
async fn stream_settled(
    conn: &mut redis::aio::MultiplexedConnection,
    stream: &EventStream,
) -> bool {
    for shard in stream.shards() {
        let groups: redis::streams::StreamInfoGroupsReply = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(stream.key(shard))
            .query_async(conn)
            .await
            .expect("xinfo");
        // both duties of the writer process: billing and recording
        for duty in [Duty::Bill, Duty::Record] {
            let settled = groups
                .groups
                .iter()
                .any(|g| g.name == duty.group() && g.pending == 0 && g.lag == Some(0));
            if !settled {
                return false;
            }
        }
    }
    true
}

async fn wait_settled(
    pool: &PgPool,
    conn: &mut redis::aio::MultiplexedConnection,
    stream: &EventStream,
) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(240) {
        if stream_settled(conn, stream).await && spend_count(pool).await >= EVENTS as i64 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "the writer did not finish: {} spend transfers",
        spend_count(pool).await
    );
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn billing_survives_sigkill_of_servingd_and_the_ledger_writer(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let mut campaigns = Vec::new();
    for _ in 0..CAMPAIGNS {
        campaigns.push((funded_campaign(&ledger).await, Uuid::now_v7()));
    }
    let partner = {
        let rules = partners::store::PartnerRules {
            status: partners::PartnerStatus::Active,
            currency: "USD".into(),
            max_cpm: None,
            // the "browsers" below fire from loopback, as an exchange's own servers would
            burl_networks: vec!["127.0.0.0/8".parse().expect("net")],
        };
        let mut conn = pool.acquire().await.expect("conn");
        partners::store::create(&mut conn, "Crash exchange", &rules, "test")
            .await
            .expect("partner")
            .0
            .id
    };
    let secret: [u8; 32] = rand::random();
    let spec = format!(
        "1:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let keys = TrackingKeys::parse(&spec, None).expect("keys");
    let namespace = format!("crash-{}:", Uuid::now_v7().simple());
    let stream = EventStream::new(
        SHARDS,
        events::EntryKeys::parse(test_support::ENTRY_KEYS, None)
            .expect("keys")
            .shared(),
    )
    .with_namespace(namespace.clone());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr").port()
    };
    let database_url = test_support::url_of(&pool);
    let logs = std::env::temp_dir().join(format!("adplat-crash-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&logs).expect("logs");
    let mut processes = Processes {
        servingd: None,
        writer: None,
        base_env: vec![
            ("DATABASE_URL".into(), database_url),
            ("REDIS_URL".into(), test_support::redis_url()),
            ("EVENT_SHARDS".into(), SHARDS.to_string()),
            ("EVENT_NAMESPACE".into(), namespace),
            ("SERVINGD_TRACKING_KEYS".into(), spec),
            ("EVENT_ENTRY_KEYS".into(), test_support::ENTRY_KEYS.into()),
            // no API: the tracking endpoints do not need the campaign feed
            ("SERVINGD_API_URL".into(), "http://127.0.0.1:9".into()),
            ("SERVINGD_API_KEY".into(), "unused".into()),
            ("LEDGER_WRITER_CLAIM_IDLE_MS".into(), "1500".into()),
            ("LEDGER_WRITER_BATCH".into(), "500".into()),
        ],
        port,
        logs: logs.clone(),
        starts: 0,
    };
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    processes.start_servingd();
    processes.start_writer("w1");
    wait_healthy(&http, &base).await;

    // every ad's billing URL, signed as servingd signs them
    let expires_at = chrono::Utc::now().timestamp() + 3600;
    let urls: Arc<Vec<(String, String)>> = Arc::new(
        (0..EVENTS)
            .map(|n| {
                let (campaign, lease) = campaigns[n % CAMPAIGNS];
                let claims = TokenClaims {
                    kind: EventKind::Impression,
                    auction: Uuid::from_u128(0x00C0_FFEE_0000_0000 + n as u128),
                    slot: "1".into(),
                    campaign: campaign.0,
                    lease,
                    partner,
                    test: false,
                    billing: Billing::PerMille,
                    price_micros: CPM_MICROS,
                    expires_at,
                    device: 0,
                    network: 0,
                };
                (
                    claims.event_id(),
                    format!("{base}/t/imp?t={}", keys.sign(&claims, b"")),
                )
            })
            .collect(),
    );

    // the browsers: each URL fetched until it is answered (a tenth of them twice), as billing
    // notices are retried
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (http, urls, next) = (http.clone(), urls.clone(), next.clone());
        senders.push(tokio::spawn(async move {
            let mut retries = 0_u64;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= urls.len() {
                    return retries;
                }
                let times = if (n + s) % 10 == 0 { 2 } else { 1 };
                for _ in 0..times {
                    loop {
                        match http.get(&urls[n].1).send().await {
                            Ok(r) if r.status() == reqwest::StatusCode::NO_CONTENT => break,
                            Ok(r) if r.status().is_client_error() => {
                                panic!("{}: {}", urls[n].0, r.status())
                            }
                            _ => {
                                retries += 1;
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                    }
                }
            }
        }));
    }

    // the killer: one of the two, at a random moment, then back up
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let (mut servingd_kills, mut writer_kills) = (0, 0);
    while next.load(Ordering::Relaxed) < EVENTS {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1200))).await;
        if rng.random_bool(0.5) {
            Processes::kill(&mut processes.servingd);
            servingd_kills += 1;
            processes.start_servingd();
            wait_healthy(&http, &base).await;
        } else {
            Processes::kill(&mut processes.writer);
            writer_kills += 1;
            let name = if rng.random_bool(0.5) { "w1" } else { "w2" };
            processes.start_writer(name);
        }
    }
    let mut retries = 0;
    for sender in senders {
        retries += sender.await.expect("sender");
    }
    // one more writer kill while it drains
    tokio::time::sleep(Duration::from_millis(300)).await;
    Processes::kill(&mut processes.writer);
    writer_kills += 1;
    processes.start_writer("w2");
    assert!(
        servingd_kills >= 3 && writer_kills >= 3,
        "too few kills to mean anything: servingd {servingd_kills}, writer {writer_kills}"
    );
    println!(
        "crash test: {EVENTS} ads, servingd killed {servingd_kills} times, the writer \
         {writer_kills} times, {retries} fetches retried"
    );

    let mut conn = test_support::redis().await;
    wait_settled(&pool, &mut conn, &stream).await;
    let check = |label: &'static str| {
        let (pool, urls) = (pool.clone(), urls.clone());
        async move {
            let rows: Vec<(String, Decimal)> = sqlx::query_as(
                "select event_id, amount from ledger_transfers where kind = 'spend'",
            )
            .fetch_all(&pool)
            .await
            .expect("spend");
            assert_eq!(rows.len(), EVENTS, "{label}: one spend per ad");
            let billed: HashSet<&str> = rows.iter().map(|(e, _)| e.as_str()).collect();
            assert_eq!(billed.len(), EVENTS, "{label}: no ad billed twice");
            assert!(
                urls.iter()
                    .all(|(event, _)| billed.contains(event.as_str())),
                "{label}: no ad lost"
            );
            let each: Decimal = "0.001234".parse().expect("decimal");
            assert!(rows.iter().all(|(_, a)| *a == each), "{label}: amounts");
            let unbilled: i64 = sqlx::query_scalar("select count(*) from unbilled_events")
                .fetch_one(&pool)
                .await
                .expect("unbilled");
            assert_eq!(unbilled, 0, "{label}: nothing refused");
            let recorded: i64 = sqlx::query_scalar("select count(*) from ad_events")
                .fetch_one(&pool)
                .await
                .expect("recorded");
            assert_eq!(recorded, EVENTS as i64, "{label}: every ad recorded once");
        }
    };
    check("after the crashes").await;

    // the whole stream once more, to the writer process: nothing changes
    for duty in [Duty::Bill, Duty::Record] {
        LedgerWriter::new(
            ledger.clone(),
            conn.clone(),
            stream.clone(),
            WriterSettings::for_duty(duty),
        )
        .rewind()
        .await
        .expect("rewind");
    }
    wait_settled(&pool, &mut conn, &stream).await;
    check("after a replay").await;
    drop(processes);
    let _ = std::fs::remove_dir_all(&logs);
}
