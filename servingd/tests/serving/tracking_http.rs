//! The tracking endpoints over HTTP: a served ad's billing and click URLs record one event each
//! however often they are fetched, refused tokens record nothing, and the ledger writer turns
//! the recorded impressions into spend.

use std::time::Duration;

use events::{Duty, EventKind, LedgerWriter, WriterSettings};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use servingd::decision::tracking_token::TokenClaims;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{Platform, fixture};

/// A client that does not follow redirects, so the click's answer itself is seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The billing URL and the click URL of a bid.
fn urls(bid: &Value) -> (String, String) {
    let burl = bid["burl"].as_str().expect("burl").to_owned();
    let adm = bid["adm"].as_str().expect("adm");
    let href = adm
        .split_once("href=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(href, _)| href.replace("&amp;", "&"))
        .expect("a link in the markup");
    (burl, href)
}

async fn stream_entries(platform: &Platform) -> usize {
    let mut conn = platform.state.redis.clone();
    let mut total = 0;
    for shard in platform.state.events.shards() {
        let n: usize = redis::cmd("XLEN")
            .arg(platform.state.events.key(shard))
            .query_async(&mut conn)
            .await
            .expect("xlen");
        total += n;
    }
    total
}

/// What servingd would sign for an impression of `campaign` sold to `partner`, valid until
/// `expires_at`.
fn impression_claims(campaign: Uuid, partner: Uuid, expires_at: i64) -> TokenClaims {
    TokenClaims {
        kind: EventKind::Impression,
        auction: Uuid::now_v7(),
        slot: "1".into(),
        campaign,
        lease: Uuid::now_v7(),
        partner,
        test: false,
        billing: events::Billing::PerMille,
        price_micros: 2_000_000,
        expires_at,
        device: 0,
        network: 0,
    }
}

async fn get(client: &reqwest::Client, url: &str) -> reqwest::Response {
    client.get(url).send().await.expect("get")
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn a_served_ads_impression_and_click_are_each_recorded_once(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    let reply = platform.bid_until_won(&fixture("simple-banner.json")).await;
    let (burl, click) = urls(&reply["seatbid"][0]["bid"][0]);
    let browser = browser();
    for _ in 0..3 {
        let r = get(&browser, &burl).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(
        stream_entries(&platform).await,
        1,
        "three fetches, one impression"
    );
    for _ in 0..2 {
        let r = get(&browser, &click).await;
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(
            r.headers()["location"].to_str().expect("location"),
            "https://shop.example.com/sale"
        );
    }
    assert_eq!(stream_entries(&platform).await, 2, "and one click");
    let metrics = platform.metrics().await;
    assert!(
        metrics.contains(r#"servingd_events_total{kind="imp",outcome="repeated"} 2"#),
        "{metrics}"
    );
    platform.stop().await;
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn forged_altered_expired_and_misused_tokens_are_refused_and_record_nothing(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    let reply = platform.bid_until_won(&fixture("simple-banner.json")).await;
    let (burl, click) = urls(&reply["seatbid"][0]["bid"][0]);
    let base = &platform.serving;
    let token = burl.split_once("t=").expect("token").1.to_owned();
    let click_token = click
        .split_once("t=")
        .and_then(|(_, rest)| rest.split_once('&'))
        .expect("click token")
        .0
        .to_owned();
    // one character changed in the middle of the token
    let mut altered: Vec<char> = token.chars().collect();
    let middle = altered.len() / 2;
    altered[middle] = if altered[middle] == 'A' { 'B' } else { 'A' };
    let altered: String = altered.into_iter().collect();
    let now = chrono::Utc::now().timestamp();
    let expired = platform.state.tracking.load().sign(
        &impression_claims(campaign, platform.partner_id, now - 1),
        b"",
    );
    let other_key =
        servingd::decision::tracking_token::TrackingKeys::new(0, vec![(0, vec![7; 32])])
            .expect("key")
            .sign(
                &impression_claims(campaign, platform.partner_id, now + 60),
                b"",
            );
    let cases = [
        (format!("{base}/t/imp?t={altered}"), StatusCode::FORBIDDEN),
        (format!("{base}/t/imp?t={other_key}"), StatusCode::FORBIDDEN),
        (format!("{base}/t/imp?t={expired}"), StatusCode::GONE),
        (format!("{base}/t/imp?t=nonsense"), StatusCode::BAD_REQUEST),
        (format!("{base}/t/imp"), StatusCode::BAD_REQUEST),
        // an impression token used as a click, and a click sent elsewhere
        (
            format!("{base}/t/click?t={token}&u=https%3A%2F%2Fshop.example.com%2Fsale"),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("{base}/t/click?t={click_token}&u=https%3A%2F%2Fevil.example.net%2F"),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("{base}/t/click?t={click_token}"),
            StatusCode::BAD_REQUEST,
        ),
    ];
    let browser = browser();
    for (url, status) in cases {
        let r = get(&browser, &url).await;
        assert_eq!(r.status(), status, "{url}");
        assert!(r.headers().get("location").is_none(), "{url}: no redirect");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{url}"
        );
    }
    assert_eq!(stream_entries(&platform).await, 0);
    platform.stop().await;
}

/// servingd and the ledger writer each run as their own Redis user (scripts/redis-users.acl):
/// everything they send on the way from a bid to the bill is allowed to them.
#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn recorded_impressions_become_spend_on_the_lease_that_paid(pool: PgPool) {
    let mut platform = Platform::start_with(pool.clone(), |s| {
        s.redis_url = test_support::service("REDIS_URL_SERVINGD");
    })
    .await;
    let writer_redis = redis::Client::open(test_support::service("REDIS_URL_LEDGER_WRITER"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("the writer's user signs in");
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    let browser = browser();
    let mut served = Vec::new();
    for _ in 0..5 {
        let reply = platform.bid_until_won(&fixture("simple-banner.json")).await;
        let bid = reply["seatbid"][0]["bid"][0].clone();
        let (burl, _) = urls(&bid);
        assert_eq!(get(&browser, &burl).await.status(), StatusCode::NO_CONTENT);
        served.push(bid["id"].as_str().expect("bid id").to_owned());
    }
    let writer = LedgerWriter::new(
        ledger::Ledger::new(pool.clone()),
        writer_redis,
        platform.state.events.clone(),
        WriterSettings {
            consumer: "writer-test".into(),
            claim_idle: Duration::ZERO,
            claim_every: Duration::ZERO,
            ..WriterSettings::default()
        },
    );
    writer.prepare().await.expect("groups");
    let outcome = writer.drain().await.expect("drain");
    assert_eq!((outcome.entries, outcome.billed), (5, 5));
    let rows: Vec<(String, Decimal, Option<Uuid>)> = sqlx::query_as(
        "select event_id, amount, lease_id from ledger_transfers
          where kind = 'spend' and campaign_id = $1 order by event_id",
    )
    .bind(campaign)
    .fetch_all(&pool)
    .await
    .expect("spend");
    served.sort();
    let events: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        events, served,
        "one spend per served ad, under its event id"
    );
    for (_, amount, lease) in &rows {
        // the clearing CPM is the floor, 0.03: each impression costs 0.00003
        assert_eq!(amount.to_string(), "0.000030");
        let leased: i64 = sqlx::query_scalar(
            "select count(*) from budget_leases where lease_id = $1 and campaign_id = $2",
        )
        .bind(lease.expect("lease"))
        .bind(campaign)
        .fetch_one(&pool)
        .await
        .expect("lease");
        assert_eq!(leased, 1, "the spend names a lease of the campaign");
    }
    platform.stop().await;
}

/// The published banner request from a device at `ip` with advertising id `ifa`.
fn request_from(ip: &str, ifa: &str) -> String {
    let mut request: Value = serde_json::from_str(&fixture("simple-banner.json")).expect("json");
    request["device"] = json!({"ip": ip, "ifa": ifa});
    request.to_string()
}

async fn wait_blocklist(platform: &Platform, entries: usize) {
    for _ in 0..200 {
        if platform.state.blocklist.load().entries() == entries {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("servingd did not reload the blocklist ({entries} entries expected)");
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn listed_sources_get_no_bids_and_their_events_are_not_billed_until_unlisted(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    platform
        .bid_until_won(&request_from("198.51.100.23", "ifa-bot-7"))
        .await;

    platform
        .api_post(
            "/api/v1/fraud/blocklist",
            json!({"entries": [
                {"kind": "ip", "value": "198.51.100.23", "reason": "click farm"},
                {"kind": "device", "value": "ifa-bot-7"},
                {"kind": "ip", "value": "127.0.0.1", "reason": "this test's browser"},
            ]}),
        )
        .await;
    wait_blocklist(&platform, 3).await;
    let (status, _, _) = platform
        .bid(&request_from("198.51.100.23", "ifa-clean"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "a listed address");
    let (status, _, _) = platform.bid(&request_from("192.0.2.44", "ifa-bot-7")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "a listed device");
    let reply = platform
        .bid_until_won(&request_from("192.0.2.44", "ifa-clean"))
        .await;
    let (burl, _) = urls(&reply["seatbid"][0]["bid"][0]);

    // the browser (127.0.0.1) is listed: answered as usual, nothing recorded
    let browser = browser();
    assert_eq!(get(&browser, &burl).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(stream_entries(&platform).await, 0);

    // taken off the list, without a restart
    let removed = platform
        .http
        .delete(format!(
            "{}/api/v1/fraud/blocklist/ip/127.0.0.1",
            platform.api
        ))
        .bearer_auth(&platform.admin)
        .send()
        .await
        .expect("delete");
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    wait_blocklist(&platform, 2).await;
    assert_eq!(get(&browser, &burl).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(stream_entries(&platform).await, 1);
    let metrics = platform.metrics().await;
    assert!(
        metrics.contains(r#"servingd_blocked_total{at="bid"} 2"#),
        "{metrics}"
    );
    platform.stop().await;
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn clicks_far_beyond_a_persons_rate_are_recorded_invalid_and_not_billed(pool: PgPool) {
    let mut platform = Platform::start(pool.clone()).await;
    let campaign = platform
        .active_campaign(json!({"bid": {"kind": "cpc", "amount": "0.5"}}))
        .await;
    platform.wait_indexed(campaign).await;
    let browser = browser();
    // one browser sees ten ads and clicks every one of them
    for _ in 0..10 {
        let reply = platform.bid_until_won(&fixture("simple-banner.json")).await;
        let (burl, click) = urls(&reply["seatbid"][0]["bid"][0]);
        assert_eq!(get(&browser, &burl).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(get(&browser, &click).await.status(), StatusCode::FOUND);
    }
    let writer = LedgerWriter::new(
        ledger::Ledger::new(pool.clone()),
        platform.state.redis.clone(),
        platform.state.events.clone(),
        WriterSettings::default(),
    );
    writer.prepare().await.expect("groups");
    let outcome = writer.drain().await.expect("drain");
    assert_eq!(outcome.entries, 20);
    let recorder = LedgerWriter::new(
        ledger::Ledger::new(pool.clone()),
        platform.state.redis.clone(),
        platform.state.events.clone(),
        WriterSettings::for_duty(Duty::Record),
    );
    recorder.prepare().await.expect("groups");
    assert_eq!(recorder.drain().await.expect("record").recorded, 20);
    // a click-through rate of 100% is fifty times the norm: once there are four clicks to
    // judge it by, every further click is invalid (from the sixth, the click rate says so too)
    assert_eq!(outcome.billed, 3, "{outcome:?}");
    let (valid, invalid): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where valid), count(*) filter (where not valid)
           from ad_events where campaign_id = $1 and kind = 'click'",
    )
    .bind(campaign)
    .fetch_one(&pool)
    .await
    .expect("events");
    assert_eq!((valid, invalid), (3, 7));
    let spend: Decimal = sqlx::query_scalar(
        "select coalesce(sum(amount), 0) from ledger_transfers where kind = 'spend' and campaign_id = $1",
    )
    .bind(campaign)
    .fetch_one(&pool)
    .await
    .expect("spend");
    assert!(
        spend > Decimal::ZERO,
        "the valid clicks are billed at their clearing CPC"
    );
    let metrics = platform.metrics().await;
    assert!(
        metrics.contains(r#"servingd_events_total{kind="click",outcome="invalid"} 7"#),
        "{metrics}"
    );
    platform.stop().await;
}

/// The client addresses of the recorded events.
async fn recorded_ips(platform: &Platform) -> Vec<String> {
    let mut conn = platform.state.redis.clone();
    let mut ips = Vec::new();
    for shard in platform.state.events.shards() {
        let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(platform.state.events.key(shard))
            .arg("-")
            .arg("+")
            .query_async(&mut conn)
            .await
            .expect("xrange");
        for entry in entries.ids {
            ips.push(entry.get::<String>("ip").expect("an ip field"));
        }
    }
    ips
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_forwarded_address(
    pool: PgPool,
) {
    // the test's requests come through a "load balancer" on loopback, which appends the
    // address it received from to whatever X-Forwarded-For the client sent
    let mut platform = Platform::start_with(pool, |s| {
        s.trusted_proxies =
            daemon::client_address::TrustedProxies::parse("127.0.0.1").expect("loopback");
    })
    .await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    platform
        .api_post(
            "/api/v1/fraud/blocklist",
            json!({"entries": [{"kind": "ip", "value": "198.51.100.23", "reason": "click farm"}]}),
        )
        .await;
    wait_blocklist(&platform, 1).await;
    let browser = browser();
    let fetch = |burl: String, forwarded: &'static str| {
        let request = browser.get(burl).header("x-forwarded-for", forwarded);
        async move { request.send().await.expect("get").status() }
    };

    // the listed address writes a clean one first: the balancer's entry, on the right, wins
    let reply = platform.bid_until_won(&fixture("simple-banner.json")).await;
    let (burl, _) = urls(&reply["seatbid"][0]["bid"][0]);
    let status = fetch(burl, "192.0.2.44, 198.51.100.23").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        recorded_ips(&platform).await.is_empty(),
        "the listed client was not taken for the address it wrote"
    );

    // and a clean client is not blamed for an address someone put before it
    let reply = platform.bid_until_won(&fixture("simple-banner.json")).await;
    let (burl, _) = urls(&reply["seatbid"][0]["bid"][0]);
    assert_eq!(
        fetch(burl, "198.51.100.23, 192.0.2.44").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(recorded_ips(&platform).await, vec!["192.0.2.44".to_owned()]);
    platform.stop().await;
}

/// Wins `n` ads and fetches each one's billing URL from here (127.0.0.1, no device id).
async fn fire_billing_urls(platform: &Platform, credential: &str, n: usize) {
    let browser = browser();
    for _ in 0..n {
        let reply = platform
            .bid_as_until_won(credential, &fixture("simple-banner.json"))
            .await;
        let (burl, _) = urls(&reply["seatbid"][0]["bid"][0]);
        assert_eq!(get(&browser, &burl).await.status(), StatusCode::NO_CONTENT);
    }
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn one_source_firing_billing_urls_faster_than_a_screen_shows_ads_is_not_billed(pool: PgPool) {
    let mut platform = Platform::start(pool.clone()).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    fire_billing_urls(&platform, &platform.partner, 70).await;
    let (billed, recorded) = platform.bill_and_record(&pool).await;
    assert_eq!(recorded, 70);
    let reasons: Vec<Option<String>> = sqlx::query_scalar(
        "select invalid_reason from ad_events where campaign_id = $1 order by at, event_id",
    )
    .bind(campaign)
    .fetch_all(&pool)
    .await
    .expect("events");
    let invalid: Vec<&String> = reasons.iter().flatten().collect();
    // sixty a minute is the limit (a minute's edge can shift the count by one)
    assert!((10..=12).contains(&invalid.len()), "{reasons:?}");
    assert!(
        invalid.iter().all(|r| r.contains("impression_rate")),
        "{reasons:?}"
    );
    assert_eq!(billed, 70 - invalid.len());
    platform.stop().await;
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn a_partners_own_servers_fire_its_billing_urls_without_counting_as_one_viewer(pool: PgPool) {
    let mut platform = Platform::start(pool.clone()).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    // the exchange fires its billing URLs from its own servers, here on loopback
    let (_, exchange) = platform
        .add_partner(json!({"burl_networks": ["127.0.0.0/8"]}))
        .await;
    platform.wait_partners(2).await;
    fire_billing_urls(&platform, &exchange, 70).await;
    assert_eq!(platform.bill_and_record(&pool).await, (70, 70));
    platform.stop().await;
}
