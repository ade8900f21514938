//! The workers without an API of their own, watched as an operator watches them: the
//! `ledger-writer` and `fraud-scorer` processes serve `/metrics` (read here as Prometheus reads
//! it) and `/healthz`, which answers 200 once their work is under way.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sqlx::PgPool;
use test_support::metrics::Scraped;
use uuid::Uuid;

/// A process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("addr").to_string()
}

/// Waits until `GET base/healthz` answers 200 (the process is up and its work under way).
async fn wait_healthy(http: &reqwest::Client, base: &str, child: &mut Running) {
    for _ in 0..300 {
        if let Some(status) = child.0.try_wait().expect("wait") {
            panic!("the process ended: {status}");
        }
        if let Ok(reply) = http.get(format!("{base}/healthz")).send().await
            && reply.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base}/healthz never answered 200");
}

async fn scrape(http: &reqwest::Client, base: &str) -> Scraped {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    Scraped::parse(&text)
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn the_ledger_writer_reports_its_backlog_and_health(pool: PgPool) {
    let namespace = format!("wm{}:", Uuid::now_v7().simple());
    let addr = free_addr();
    let mut writer = Running(
        Command::new(env!("CARGO_BIN_EXE_ledger-writer"))
            .env("DATABASE_URL", test_support::url_of(&pool))
            // as its own Redis user: every command the writer and its /metrics send is allowed
            .env(
                "REDIS_URL",
                test_support::service("REDIS_URL_LEDGER_WRITER"),
            )
            .env_remove("REDIS_CLUSTER_URLS")
            .env("EVENT_SHARDS", "2")
            .env("EVENT_NAMESPACE", &namespace)
            .env("EVENT_ENTRY_KEYS", test_support::ENTRY_KEYS)
            .env("LEDGER_WRITER_LISTEN_ADDR", &addr)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ledger-writer starts"),
    );
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    wait_healthy(&http, &base, &mut writer).await;
    // an entry that is not an event (nor sealed): both duties set it aside, acknowledged
    let mut redis = test_support::redis().await;
    let _: String = redis::cmd("XADD")
        .arg(format!("{namespace}events:{{ev0}}"))
        .arg("*")
        .arg("garbage")
        .arg("1")
        .query_async(&mut redis)
        .await
        .expect("xadd");
    let mut scraped = scrape(&http, &base).await;
    for _ in 0..100 {
        let handled = ["bill", "record"]
            .map(|duty| scraped.value("ledger_writer_dead_total", &[("duty", duty)]) == Some(1.0));
        if handled == [true, true] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        scraped = scrape(&http, &base).await;
    }
    scraped.assert_described("ledger_writer_");
    for duty in ["bill", "record"] {
        let value = |name| scraped.value(name, &[("duty", duty)]);
        assert_eq!(value("ledger_writer_dead_total"), Some(1.0), "{duty}");
        assert_eq!(value("ledger_writer_unsealed_total"), Some(1.0), "{duty}");
        assert_eq!(value("ledger_writer_entries_total"), Some(1.0), "{duty}");
        assert_eq!(value("ledger_writer_pending_entries"), Some(0.0), "{duty}");
        assert_eq!(
            value("ledger_writer_stream_lag_entries"),
            Some(0.0),
            "{duty}"
        );
        assert!(
            value("ledger_writer_last_success_timestamp_seconds").is_some_and(|t| t > 1.7e9),
            "{duty}"
        );
    }
    assert!(
        scraped
            .value("ledger_writer_dead_letter_rows", &[])
            .is_some_and(|n| n >= 1.0)
    );
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn the_fraud_scorer_reports_its_runs_and_health(pool: PgPool) {
    let addr = free_addr();
    let mut scorer = Running(
        Command::new(env!("CARGO_BIN_EXE_fraud-scorer"))
            .env("DATABASE_URL", test_support::url_of(&pool))
            .env("FRAUD_SCORER_EVERY_S", "1")
            .env("FRAUD_SCORER_LISTEN_ADDR", &addr)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("fraud-scorer starts"),
    );
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    wait_healthy(&http, &base, &mut scorer).await;
    let mut scraped = scrape(&http, &base).await;
    for _ in 0..50 {
        if scraped.value("fraud_scorer_runs_total", &[]) >= Some(2.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        scraped = scrape(&http, &base).await;
    }
    scraped.assert_described("fraud_scorer_");
    assert!(scraped.value("fraud_scorer_runs_total", &[]) >= Some(2.0));
    assert_eq!(
        scraped.value("fraud_scorer_failed_runs_total", &[]),
        Some(0.0)
    );
    assert!(
        scraped
            .value("fraud_scorer_last_success_timestamp_seconds", &[])
            .is_some_and(|t| t > 1.7e9)
    );
}
