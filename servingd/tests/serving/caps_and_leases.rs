//! Frequency caps under concurrent requests, and leases settled when servingd stops.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::Platform;

fn request_for(user: &str, n: usize) -> String {
    format!(
        r#"{{"id": "req-{n}", "imp": [{{"id": "1", "bidfloor": 0.5, "banner": {{"w": 300, "h": 250}}}}],
            "user": {{"id": "{user}"}}}}"#
    )
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn a_frequency_cap_is_never_exceeded_under_concurrent_requests(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let campaign = platform
        .active_campaign(json!({"frequency_cap": {"count": 3, "period_s": 3600}}))
        .await;
    platform.wait_indexed(campaign).await;
    // a first bid for another user brings the first lease in
    platform.bid_until_won(&request_for("warm-up", 0)).await;

    // 4 users, 40 requests each, all at once
    let users = ["ann", "bob", "cyd", "dee"];
    let mut requests = Vec::new();
    for n in 0..160 {
        let user = users[n % users.len()];
        let body = request_for(user, n);
        let (http, url, partner) = (
            platform.http.clone(),
            format!("{}/openrtb2/auction", platform.serving),
            platform.partner.clone(),
        );
        requests.push(tokio::spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(partner)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("auction");
            (user, response.status())
        }));
    }
    let mut wins: HashMap<&str, usize> = HashMap::new();
    for r in requests {
        let (user, status) = r.await.expect("join");
        assert!(
            status == StatusCode::OK || status == StatusCode::NO_CONTENT,
            "{status}"
        );
        if status == StatusCode::OK {
            *wins.entry(user).or_default() += 1;
        }
    }
    for user in users {
        // never above the cap; and the cap, not the budget, is what stopped it
        assert_eq!(wins.get(user).copied().unwrap_or(0), 3, "{user}: {wins:?}");
    }
    platform.stop().await;
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn stopping_settles_every_lease_with_what_was_spent(pool: PgPool) {
    let mut platform = Platform::start(pool.clone()).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    let mut won = 0;
    for n in 0..20 {
        let body = request_for(&format!("u{n}"), n);
        let (status, _, _) = platform.bid(&body).await;
        if status == StatusCode::OK {
            won += 1;
        }
    }
    platform.bid_until_won(&request_for("last", 99)).await;
    won += 1;
    platform.stop().await;
    let open: i64 = sqlx::query_scalar(
        "select count(*) from budget_leases where campaign_id = $1 and state in ('requested', 'open')",
    )
    .bind(campaign)
    .fetch_one(&pool)
    .await
    .expect("leases");
    assert_eq!(open, 0, "every lease settled on the way out");
    let spent: i64 = sqlx::query_scalar(
        "select coalesce(sum(spent_micros), 0)::bigint from budget_leases where campaign_id = $1",
    )
    .bind(campaign)
    .fetch_one(&pool)
    .await
    .expect("spent");
    // each win cost the floor of 0.50 per thousand: 500 micros an impression
    assert_eq!(spent, won * 500);
}

/// The budget log of a campaign, oldest first.
async fn budget_actions(pool: &PgPool, campaign: uuid::Uuid) -> Vec<String> {
    sqlx::query_scalar("select action from budget_log where campaign_id = $1 order by seq")
        .bind(campaign)
        .fetch_all(pool)
        .await
        .expect("budget log")
}

/// Activating a campaign installs it in the budget controller at once: its first bid request
/// finds its state in Redis and no rebuild runs.
#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn an_activated_campaign_is_installed_before_its_first_request(pool: PgPool) {
    let mut platform = Platform::start(pool.clone()).await;
    let campaign = platform.active_campaign(json!({})).await;
    let state = platform
        .state
        .controller
        .store()
        .load(ledger::CampaignId(campaign))
        .await
        .expect("redis")
        .expect("installed on activation");
    assert_eq!((state.budget, state.remaining), (100_000_000, 100_000_000));
    platform.wait_indexed(campaign).await;
    platform.bid_until_won(&request_for("first", 0)).await;
    let actions = budget_actions(&pool, campaign).await;
    assert_eq!(actions[0], "install", "{actions:?}");
    assert!(!actions.contains(&"rebuild".to_owned()), "{actions:?}");
    platform.stop().await;
}

/// A campaign paused (leaving servingd's index) has its leases settled within seconds, and the
/// hold sweep gives what they did not spend back to the advertiser's cash; resumed, it serves
/// again.
#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn a_paused_campaign_gives_its_leases_back_within_seconds(pool: PgPool) {
    let mut platform = Platform::start(pool.clone()).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    platform.bid_until_won(&request_for("u", 0)).await;
    let open = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from budget_leases where campaign_id = $1 and state in ('requested', 'open')",
        )
        .bind(campaign)
        .fetch_one(&pool)
        .await
        .expect("leases")
    };
    assert!(open(pool.clone()).await > 0, "a lease is held");
    platform
        .api_post(&format!("/api/v1/campaigns/{campaign}/pause"), json!({}))
        .await;
    let paused = std::time::Instant::now();
    while open(pool.clone()).await > 0 {
        assert!(
            paused.elapsed() < std::time::Duration::from_secs(5),
            "the leases of a paused campaign are settled within seconds"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!platform.state.wallets.holds(campaign));
    // the hold sweep (every second here) releases what the leases held
    loop {
        let held: rust_decimal::Decimal = sqlx::query_scalar(
            "select posted from ledger_accounts where campaign_id = $1 and kind = 'campaign_hold'",
        )
        .bind(campaign)
        .fetch_one(&pool)
        .await
        .expect("hold");
        if held.is_zero() {
            break;
        }
        assert!(
            paused.elapsed() < std::time::Duration::from_secs(10),
            "{held} still held"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    platform
        .api_post(&format!("/api/v1/campaigns/{campaign}/resume"), json!({}))
        .await;
    platform.wait_indexed(campaign).await;
    platform.bid_until_won(&request_for("again", 1)).await;
    platform.stop().await;
}
