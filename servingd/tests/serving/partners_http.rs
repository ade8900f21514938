//! Only configured supply partners get bids, and what their ads' events are worth is held to
//! each partner's rules: an unknown or disabled caller gets 401 and no bid; a floor above the
//! partner's ceiling gets no bid and no price clears above it; billing URLs fetched from outside
//! its networks are refused; `test: 1` traffic is answered and recorded, never billed; the spend
//! and the recorded events name the partner.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{Platform, fixture};

/// The banner request with `bidfloor` and `test` set.
fn request(bidfloor: f64, test: bool) -> String {
    let mut request: Value = serde_json::from_str(&fixture("simple-banner.json")).expect("json");
    request["imp"][0]["bidfloor"] = json!(bidfloor);
    if test {
        request["test"] = json!(1);
    }
    request.to_string()
}

fn burl(reply: &Value) -> String {
    reply["seatbid"][0]["bid"][0]["burl"]
        .as_str()
        .expect("burl")
        .to_owned()
}

async fn fetch(url: &str) -> StatusCode {
    reqwest::get(url).await.expect("get").status()
}

async fn change_partner(platform: &Platform, id: Uuid, rules: Value) {
    let response = platform
        .http
        .patch(format!("{}/api/v1/partners/{id}", platform.api))
        .bearer_auth(&platform.admin)
        .json(&rules)
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), StatusCode::OK);
}

async fn wait_partner(platform: &Platform, id: Uuid, active: bool) {
    for _ in 0..200 {
        let partners = platform.state.partners.load();
        if partners
            .get(id)
            .is_some_and(|p| (p.status == partners::PartnerStatus::Active) == active)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("servingd never saw partner {id} active={active}");
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn callers_without_an_active_partners_credential_get_401_and_no_bid(pool: PgPool) {
    let mut platform = Platform::start(pool.clone()).await;
    let campaign = platform
        .active_campaign(json!({"bid": {"kind": "cpm", "amount": "2.40"}}))
        .await;
    platform.wait_indexed(campaign).await;
    let body = request(2.39, true);
    for credential in [None, Some("sp_not-a-real-credential"), Some("Bearer")] {
        let (status, headers, problem) = platform.bid_as(credential, &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{credential:?}");
        assert_eq!(headers["www-authenticate"], "Bearer");
        assert_eq!(headers["content-type"], "application/problem+json");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.contains("partner"), "{detail}");
    }
    // the partner's own credential works, until it is disabled
    let won = platform.bid_until_won(&request(0.03, false)).await;
    let click = won["seatbid"][0]["bid"][0]["adm"]
        .as_str()
        .and_then(|adm| adm.split_once("href=\""))
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(href, _)| href.replace("&amp;", "&"))
        .expect("a click URL");
    change_partner(
        &platform,
        platform.partner_id,
        json!({"status": "disabled"}),
    )
    .await;
    wait_partner(&platform, platform.partner_id, false).await;
    let (status, _, _) = platform.bid(&body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a disabled partner");
    // the ads it was sold before: their billing URL is refused; a click still lands, unrecorded
    assert_eq!(fetch(&burl(&won)).await, StatusCode::FORBIDDEN);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let landed = no_redirects.get(&click).send().await.expect("click");
    assert_eq!(landed.status(), StatusCode::FOUND);
    assert_eq!(platform.bill_and_record(&pool).await, (0, 0));

    // a credential replaced stops working within seconds; the new one works
    let (other_id, other) = platform.add_partner(json!({})).await;
    platform.wait_partners(2).await;
    platform.bid_as_until_won(&other, &body).await;
    let rotated = platform
        .http
        .post(format!(
            "{}/api/v1/partners/{other_id}/credential",
            platform.api
        ))
        .bearer_auth(&platform.admin)
        .send()
        .await
        .expect("rotate");
    assert_eq!(rotated.status(), StatusCode::OK);
    let fresh: Value = rotated.json().await.expect("json");
    let fresh = fresh["credential"].as_str().expect("credential").to_owned();
    let mut refused = false;
    for _ in 0..200 {
        if platform.bid_as(Some(&other), &body).await.0 == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refused, "the replaced credential still worked");
    platform.bid_as_until_won(&fresh, &body).await;

    // a partner trading in a currency servingd does not auction in is no partner of its
    let (_, euro) = platform.add_partner(json!({"currency": "EUR"})).await;
    platform.wait_partners(3).await;
    let (status, _, _) = platform.bid_as(Some(&euro), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // (the recorder is the test process's: other tests may have counted too)
    let metrics = platform.metrics().await;
    let refused: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("servingd_unauthorized_total "))
        .and_then(|v| v.parse().ok())
        .expect("the counter");
    assert!(refused >= 6.0, "{metrics}");
    platform.stop().await;
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn a_test_request_is_answered_recorded_and_never_billed(pool: PgPool) {
    let mut platform = Platform::start(pool.clone()).await;
    let campaign = platform
        .active_campaign(json!({"bid": {"kind": "cpm", "amount": "2.40"}}))
        .await;
    platform.wait_indexed(campaign).await;
    // 20 test requests with a floor just under the bid: each one's billing URL fetched
    for _ in 0..20 {
        let reply = platform.bid_until_won(&request(2.39, true)).await;
        assert_eq!(fetch(&burl(&reply)).await, StatusCode::NO_CONTENT);
    }
    // and one real one
    let reply = platform.bid_until_won(&request(0.03, false)).await;
    assert_eq!(fetch(&burl(&reply)).await, StatusCode::NO_CONTENT);
    assert_eq!(platform.bill_and_record(&pool).await, (1, 21));

    let (tests, valid_tests, partners): (i64, i64, Vec<Uuid>) = sqlx::query_as(
        "select count(*) filter (where test), count(*) filter (where test and valid),
                array_agg(distinct partner_id)
           from ad_events where campaign_id = $1",
    )
    .bind(campaign)
    .fetch_one(&pool)
    .await
    .expect("events");
    assert_eq!((tests, valid_tests), (20, 0), "recorded as test traffic");
    assert_eq!(partners, vec![platform.partner_id]);
    let spends: Vec<(rust_decimal::Decimal, Value)> = sqlx::query_as(
        "select amount, metadata from ledger_transfers where kind = 'spend' and campaign_id = $1",
    )
    .bind(campaign)
    .fetch_all(&pool)
    .await
    .expect("spend");
    assert_eq!(spends.len(), 1, "only the real impression is billed");
    assert_eq!(
        spends[0].1["partner"].as_str(),
        Some(platform.partner_id.to_string().as_str()),
        "the spend names the partner"
    );
    platform.stop().await;
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn a_partners_ceiling_and_networks_bound_what_its_ads_bill(pool: PgPool) {
    let mut platform = Platform::start(pool.clone()).await;
    let campaign = platform
        .active_campaign(json!({"bid": {"kind": "cpm", "amount": "2.40"}}))
        .await;
    // a rival bidding 3.00: the winner's second price is then 2.41, not the floor
    let rival = platform
        .active_campaign(json!({"bid": {"kind": "cpm", "amount": "3.00"}}))
        .await;
    platform.wait_indexed(campaign).await;
    platform.wait_indexed(rival).await;
    let (capped_id, capped) = platform.add_partner(json!({"max_cpm": "1.50"})).await;
    let (_, remote) = platform
        .add_partner(json!({"burl_networks": ["198.51.100.0/24"]}))
        .await;
    platform.wait_partners(3).await;
    // the rival holds a lease before the capped partner asks (first requests find none)
    let first = platform.bid_until_won(&request(1.0, false)).await;
    assert_eq!(first["seatbid"][0]["bid"][0]["price"].as_f64(), Some(2.41));

    // a floor above the ceiling: no bid at all
    for _ in 0..5 {
        let (status, _, _) = platform.bid_as(Some(&capped), &request(2.39, false)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    // under it: the second price is cut to the ceiling
    let reply = platform
        .bid_as_until_won(&capped, &request(1.0, false))
        .await;
    assert_eq!(reply["seatbid"][0]["bid"][0]["price"].as_f64(), Some(1.5));
    // lowered since: the event is refused
    change_partner(&platform, capped_id, json!({"max_cpm": "0.50"})).await;
    for _ in 0..200 {
        let ceiling = platform
            .state
            .partners
            .load()
            .get(capped_id)
            .and_then(|p| p.max_cpm_micros);
        if ceiling == Some(500_000) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(fetch(&burl(&reply)).await, StatusCode::FORBIDDEN);

    // billing URLs of the remote exchange fetched from here (127.0.0.1) are refused
    let reply = platform
        .bid_as_until_won(&remote, &request(0.03, false))
        .await;
    let response = reqwest::get(burl(&reply)).await.expect("get");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let problem: Value = response.json().await.expect("problem");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("127.0.0.1"),
        "{problem}"
    );
    assert_eq!(
        platform.bill_and_record(&pool).await,
        (0, 0),
        "nothing recorded"
    );
    platform.stop().await;
}
