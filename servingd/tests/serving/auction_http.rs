//! The auction over HTTP against a real API, PostgreSQL and Redis.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{Platform, fixture};

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn an_active_campaign_wins_the_published_banner_request(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    let reply = platform.bid_until_won(&fixture("simple-banner.json")).await;
    assert_eq!(reply["id"], "80ce30c53c16e6ede735f123ef6e32361bfc7b22");
    assert_eq!(reply["cur"], "USD");
    let bid = &reply["seatbid"][0]["bid"][0];
    assert_eq!(bid["impid"], "1");
    assert_eq!(bid["cid"], campaign.to_string());
    assert_eq!(bid["crid"], "c1");
    assert_eq!(bid["adomain"], json!(["shop.example.com"]));
    // alone in the auction: it pays the floor (0.03) or the platform reserve (0.01), the higher
    assert_eq!(bid["price"], 0.03);
    let adm = bid["adm"].as_str().expect("adm");
    assert!(
        adm.contains("<b>Sale</b>") && adm.contains("/t/click?"),
        "{adm}"
    );
    assert!(adm.contains("shop.example.com%2Fsale"), "{adm}");
    let burl = bid["burl"].as_str().expect("burl");
    assert!(
        burl.starts_with(&format!("{}/t/imp?", platform.serving)),
        "{burl}"
    );
    let token = burl.split_once("t=").expect("token").1;
    let claims = platform
        .state
        .tracking
        .load()
        .verify(
            token,
            events::EventKind::Impression,
            b"",
            chrono::Utc::now().timestamp(),
        )
        .expect("a token servingd signed");
    assert_eq!(claims.campaign, campaign);
    assert_eq!(claims.price_micros, 30_000, "the clearing CPM, 0.03");
    // every stage of the winning request was timed
    let metrics = platform.metrics().await;
    for stage in ["parse", "candidates", "auction", "spend", "decide"] {
        let count = metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!(
                    "servingd_stage_seconds_count{{stage=\"{stage}\"}} "
                ))
            })
            .and_then(|n| n.parse::<u64>().ok());
        assert!(count.is_some_and(|n| n >= 1), "{stage}: {metrics}");
    }
    assert!(metrics.contains("# TYPE servingd_stage_seconds histogram"));
    assert!(
        !metrics.contains("stage=\"total\""),
        "the whole request has a histogram of its own"
    );
    let requests = metrics
        .lines()
        .find_map(|l| l.strip_prefix("servingd_request_duration_seconds_count "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(requests.is_some_and(|n| n >= 1), "{metrics}");
    platform.stop().await;
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn every_published_example_request_is_accepted(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    for name in [
        "simple-banner.json",
        "mobile-app.json",
        "video.json",
        "pmp-direct-deal.json",
    ] {
        let (status, headers, body) = platform.bid(&fixture(name)).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::NO_CONTENT,
            "{name}: {status} {body}"
        );
        assert_eq!(headers["x-openrtb-version"], "2.6", "{name}");
    }
    platform.stop().await;
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn malformed_requests_get_a_precise_400_and_never_a_bid(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    let huge = format!(
        r#"{{"id": "r", "imp": [{{"id": "1", "banner": {{"w": 300, "h": 250}}, "tagid": "{}"}}]}}"#,
        "x".repeat(100_000)
    );
    let cases: Vec<(String, StatusCode, &str)> = vec![
        ("{".into(), StatusCode::BAD_REQUEST, "body"),
        ("{}".into(), StatusCode::BAD_REQUEST, "id"),
        (r#"{"id": "r"}"#.into(), StatusCode::BAD_REQUEST, "imp"),
        (r#"{"id": "r", "imp": [{"id": "1"}]}"#.into(), StatusCode::BAD_REQUEST, "imp[0]"),
        (
            r#"{"id": "r", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}, "bidfloor": -3}]}"#.into(),
            StatusCode::BAD_REQUEST,
            "imp[0].bidfloor",
        ),
        (
            r#"{"id": "r", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}], "device": {"devicetype": "phone"}}"#.into(),
            StatusCode::BAD_REQUEST,
            "device.devicetype",
        ),
        (huge, StatusCode::PAYLOAD_TOO_LARGE, ""),
    ];
    for (body, expected, field) in cases {
        let (status, headers, problem) = platform.bid(&body).await;
        assert_eq!(status, expected, "{problem}");
        assert_eq!(headers["content-type"], "application/problem+json");
        assert_eq!(problem["status"], expected.as_u16());
        if !field.is_empty() {
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
    }
    platform.stop().await;
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn with_the_api_down_the_last_index_keeps_serving_and_staleness_shows(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    platform.bid_until_won(&fixture("simple-banner.json")).await;
    platform.stop_api();
    // until servingd's feed has gone unanswered for a second
    let waited = std::time::Instant::now();
    loop {
        let ready = platform.readiness().await;
        if ready["feed_staleness_s"].as_f64().is_some_and(|s| s >= 1.0) {
            break;
        }
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(15),
            "the feed never went stale: {ready}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let reply = platform.bid_until_won(&fixture("simple-banner.json")).await;
    assert_eq!(reply["seatbid"][0]["bid"][0]["cid"], campaign.to_string());
    let ready = platform.readiness().await;
    assert_eq!(ready["index_loaded"], true);
    let stale = ready["feed_staleness_s"].as_f64().expect("staleness");
    assert!(stale >= 1.0, "the index is known to be stale: {ready}");
    let metrics = platform.metrics().await;
    assert!(
        metrics.contains("servingd_feed_errors_total")
            && metrics.contains("servingd_feed_staleness_seconds"),
        "{metrics}"
    );
    platform.stop().await;
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn a_campaign_wins_at_most_one_impression_per_request(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let first = platform
        .active_campaign(json!({"bid": {"amount": "3"}}))
        .await;
    let second = platform
        .active_campaign(json!({"bid": {"amount": "2"}}))
        .await;
    platform.wait_indexed(first).await;
    platform.wait_indexed(second).await;
    let three_slots = r#"{"id": "multi", "imp": [
        {"id": "a", "bidfloor": 0.5, "banner": {"w": 300, "h": 250}},
        {"id": "b", "bidfloor": 0.5, "banner": {"w": 300, "h": 250}},
        {"id": "c", "bidfloor": 0.5, "banner": {"w": 300, "h": 250}}]}"#;
    // both campaigns hold leases once each has been asked for
    let mut reply = platform.bid_until_won(three_slots).await;
    for _ in 0..100 {
        if reply["seatbid"][0]["bid"].as_array().map_or(0, Vec::len) == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        reply = platform.bid_until_won(three_slots).await;
    }
    let bids = reply["seatbid"][0]["bid"].as_array().expect("bids");
    assert_eq!(
        bids.len(),
        2,
        "two campaigns, so two of the three slots: {reply}"
    );
    let campaigns: Vec<&str> = bids.iter().filter_map(|b| b["cid"].as_str()).collect();
    assert_eq!(campaigns, [first.to_string(), second.to_string()]);
    // the first slot went to the higher bid, which paid the runner-up plus a cent
    assert_eq!(bids[0]["impid"], "a");
    assert_eq!(bids[0]["price"], 2.01);
    // the second slot had no competitor left: the floor
    assert_eq!(bids[1]["impid"], "b");
    assert_eq!(bids[1]["price"], 0.5);
    platform.stop().await;
}
