//! servingd takes the feed's snapshot page by page: the pages joined hold every campaign not
//! archived, once.

use std::collections::BTreeSet;

use serde_json::json;
use servingd::runtime::feed::FeedClient;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::Platform;

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn a_snapshot_read_in_pages_holds_every_live_campaign_once(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let mut live = BTreeSet::new();
    for _ in 0..5 {
        live.insert(platform.active_campaign(json!({})).await);
    }
    let archived = platform.active_campaign(json!({})).await;
    for step in ["pause", "archive"] {
        platform
            .api_post(&format!("/api/v1/campaigns/{archived}/{step}"), json!({}))
            .await;
    }
    let key = platform
        .api_post(
            "/api/v1/api-keys",
            json!({"name": "pages", "role": "service"}),
        )
        .await;
    let key = key["api_key"].as_str().expect("api_key").to_owned();
    let mut client = FeedClient::new(&platform.api, key.into(), 0)
        .expect("client")
        .with_snapshot_page(2);
    let snapshot = client.snapshot().await.expect("snapshot");
    assert!(snapshot.snapshot && !snapshot.more && snapshot.next_cursor.is_none());
    let ids: Vec<Uuid> = snapshot
        .campaigns
        .iter()
        .map(|c| c["id"].as_str().expect("id").parse().expect("uuid"))
        .collect();
    assert_eq!(ids.len(), 5, "each once, in pages of two: {ids:?}");
    assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>(), live);
    assert!(!ids.contains(&archived));
    platform.stop().await;
}
