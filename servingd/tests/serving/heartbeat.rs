//! servingd tells the API it is alive and which feed revision it serves: the API's system
//! status lists it, live, and catching up with the feed.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::Platform;

async fn system_status(platform: &Platform) -> Value {
    let response = platform
        .http
        .get(format!("{}/api/v1/system/status", platform.api))
        .bearer_auth(&platform.admin)
        .send()
        .await
        .expect("status");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("json")
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn servingd_is_listed_live_and_at_the_feeds_revision(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    platform.active_campaign(json!({})).await;
    let instance = platform.state.settings.server_id.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let status = system_status(&platform).await;
        let revision = status["feed_revision"].clone();
        let mine = status["servingd"]
            .as_array()
            .expect("instances")
            .iter()
            .find(|s| s["instance"] == json!(instance))
            .cloned();
        if let Some(seen) = mine
            && seen["revision"] == revision
            && seen["campaigns"] == 1
        {
            break seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "servingd not seen at the feed's revision: {status}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(seen["live"], true);
    assert_eq!(seen["revisions_behind"], 0);
    assert_eq!(seen["version"], env!("CARGO_PKG_VERSION"));
    platform.stop().await;
}
