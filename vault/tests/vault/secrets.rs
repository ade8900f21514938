//! Secrets in a real OpenBao's KV engine: written versions read back, and a followed secret
//! reaches the process when a new version is written, while a version the reader refuses leaves
//! what is in use alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use uuid::Uuid;
use vault::secrets::{Fields, KvSecrets, fields_of as fields};

fn kv() -> KvSecrets {
    let test_support::Vault { address, token } = test_support::vault();
    KvSecrets::new(&address, &token, "secret", Duration::from_secs(5)).expect("kv")
}

/// The test's reader: the `key` field, unless it says `bad`.
fn build(fields: &Fields) -> Result<String, String> {
    match fields.get("key").map(String::as_str) {
        Some("bad") | None => Err("refused".into()),
        Some(key) => Ok(key.to_owned()),
    }
}

async fn until(current: &ArcSwap<String>, wanted: &str) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if current.load().as_str() == wanted {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn versions_written_are_read_back() {
    let kv = kv();
    let path = format!("tests/{}", Uuid::now_v7().simple());
    assert!(kv.read(&path).await.is_err(), "nothing there yet");
    let first = fields(&[("key", "k1"), ("signing", "1")]);
    assert_eq!(kv.write(&path, &first).await.expect("write"), 1);
    assert_eq!(kv.read(&path).await.expect("read"), first);
    let second = fields(&[("key", "k2")]);
    assert_eq!(kv.write(&path, &second).await.expect("write"), 2);
    assert_eq!(kv.read(&path).await.expect("read"), second, "the latest");
}

#[tokio::test]
async fn a_followed_secret_takes_new_versions_and_keeps_going_past_a_refused_one() {
    let writer = kv();
    let path = format!("tests/{}", Uuid::now_v7().simple());
    let first = fields(&[("key", "k1")]);
    writer.write(&path, &first).await.expect("write");
    let current = Arc::new(ArcSwap::from_pointee(build(&first).expect("k1")));
    let follower = tokio::spawn(vault::secrets::follow(
        kv(),
        path.clone(),
        Duration::from_millis(50),
        current.clone(),
        first,
        build,
    ));

    writer
        .write(&path, &fields(&[("key", "k2")]))
        .await
        .expect("write");
    assert!(until(&current, "k2").await, "the rotation arrived");

    writer
        .write(&path, &fields(&[("key", "bad")]))
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        current.load().as_str(),
        "k2",
        "a refused version changes nothing"
    );

    writer
        .write(&path, &fields(&[("key", "k3")]))
        .await
        .expect("write");
    assert!(
        until(&current, "k3").await,
        "and the next good one is taken"
    );
    follower.abort();
}
