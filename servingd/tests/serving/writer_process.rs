//! The `ledger-writer` process under a supervisor's eyes: a writer whose work cannot go on
//! ends the process, non-zero and saying why, instead of running on with nothing drained; one
//! on a database without the schema stops at once.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::redis_url;

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn a_writer_that_cannot_run_ends_the_process_non_zero(pool: PgPool) {
    let namespace = format!("wp{}:", Uuid::now_v7().simple());
    // shard 1's stream key holds a string: the billing duty cannot set up its consumer group
    let mut redis = test_support::redis().await;
    let _: () = redis::cmd("SET")
        .arg(format!("{namespace}events:{{ev1}}"))
        .arg("not a stream")
        .query_async(&mut redis)
        .await
        .expect("set");
    let database_url = test_support::url_of(&pool);
    let mut writer = Command::new(env!("CARGO_BIN_EXE_ledger-writer"))
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", redis_url())
        .env_remove("REDIS_CLUSTER_URLS")
        .env("LEDGER_WRITER_LISTEN_ADDR", "127.0.0.1:0")
        .env("EVENT_SHARDS", "2")
        .env("EVENT_NAMESPACE", &namespace)
        .env("EVENT_ENTRY_KEYS", test_support::ENTRY_KEYS)
        .env("LEDGER_WRITER_DUTIES", "bill")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ledger-writer starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = writer.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = writer.kill();
            panic!("ledger-writer still runs 30 s after its writer failed");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut writer.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(!status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("writer failed") && stderr.contains("WRONGTYPE"),
        "{stderr}"
    );
}

/// The writer never migrates: on a database without the schema it stops, naming `api migrate`.
#[tokio::test]
async fn a_writer_on_an_unmigrated_database_names_api_migrate() {
    let scratch = test_support::ScratchDatabase::create("writer_unmigrated")
        .await
        .expect("scratch database");
    let out = Command::new(env!("CARGO_BIN_EXE_ledger-writer"))
        .env("DATABASE_URL", scratch.url())
        .env("REDIS_URL", redis_url())
        .env_remove("REDIS_CLUSTER_URLS")
        .env("LEDGER_WRITER_LISTEN_ADDR", "127.0.0.1:0")
        .env("EVENT_ENTRY_KEYS", test_support::ENTRY_KEYS)
        .env("RUST_LOG", "warn")
        .output()
        .expect("ledger-writer runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("run `api migrate`"),
        "{stderr}"
    );
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.tables where table_schema = 'public'",
    )
    .fetch_one(&sqlx::PgPool::connect(scratch.url()).await.expect("connect"))
    .await
    .expect("count");
    assert_eq!(tables, 0, "it created nothing");
    scratch.drop().await.expect("drop");
}
