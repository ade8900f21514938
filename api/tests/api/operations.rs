//! What operators watch and mend: the budget controller's Redis state beside the ledger's and
//! its repair, today's pacing, invalid-traffic refunds, servingd's heartbeats and the system's
//! status.

use api::auth::Role;
use axum::http::{Method, StatusCode};
use budget::campaign::Want;
use ledger::{AdvertiserId, CampaignId, Currency, Ledger};
use redis::AsyncCommands;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::MIGRATOR;
use crate::helpers::TestApp;

/// An advertiser with 100 EUR and an active campaign of `budget`.
async fn running(app: &TestApp, budget: serde_json::Value) -> (Uuid, Uuid) {
    let advertiser = app.advertiser("Watched").await;
    app.deposit(advertiser, "100").await;
    let campaign = app.campaign(advertiser, budget).await;
    let operator = app.token(Role::Operator, None);
    let reply = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/activate"),
            &operator,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    (advertiser, campaign)
}

/// Bills `amount` for the campaign's ad `event`, refunded for `refund` when given.
async fn spend(
    pool: &PgPool,
    app: &TestApp,
    (advertiser, campaign): (Uuid, Uuid),
    amount: &str,
    event: &str,
    refund: Option<&str>,
) {
    let ledger = Ledger::new(pool.clone()).with_clock(app.clock.clone());
    let ids = (AdvertiserId(advertiser), CampaignId(campaign));
    let eur = Currency::parse("EUR").expect("eur");
    ledger::fixtures::bill_ad(&ledger, ids, eur, amount, event, refund).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn budget_status_shows_redis_beside_the_ledger_and_a_repair_puts_it_back(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (_, campaign) = running(&app, json!({"lifetime": "10"})).await;
    let lease = app
        .state
        .budgets
        .allocate(
            CampaignId(campaign),
            "serving-1",
            Want {
                amount: 1_000_000,
                unit: 1_000,
                per_click: false,
            },
        )
        .await
        .expect("allocate")
        .expect("granted");
    assert!(lease.amount > 0);
    let billing = app.token(Role::Billing, None);
    let status_path = format!("/api/v1/budget/status?campaign_id={campaign}");
    let status = app.get(&status_path, &billing).await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.body);
    let row = &status.body["campaigns"][0];
    assert_eq!(row["currency"], "EUR");
    assert_eq!(row["ledger_budget"], "10.000000");
    assert_eq!(row["redis_budget"], "10.000000");
    assert_eq!(row["ledger_open_leases"], 1);
    assert_eq!(row["redis_open_leases"], 1);
    assert_eq!(row["drift"], "0.000000");
    assert_eq!(row["in_sync"], true, "{row}");
    assert_eq!(status.body["out_of_sync"], 0);

    // Redis loses 2.5 EUR of the campaign's remaining budget
    let mut redis = redis::Client::open(test_support::redis_url())
        .expect("redis")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let key = format!("{{c:{campaign}}}");
    let remaining: i64 = redis.hget(&key, "remaining").await.expect("remaining");
    let _: () = redis
        .hset(&key, "remaining", remaining - 2_500_000)
        .await
        .expect("tamper");
    let status = app.get(&status_path, &billing).await;
    let row = &status.body["campaigns"][0];
    assert_eq!(row["drift"], "-2.500000", "{row}");
    assert_eq!(row["in_sync"], false);

    // a reconciliation without repair only reports it
    let operator = app.token(Role::Operator, None);
    let report = app
        .post("/api/v1/budget/reconcile", &operator, json!({}))
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let mine = |body: &serde_json::Value| {
        body["campaigns"]
            .as_array()
            .expect("campaigns")
            .iter()
            .find(|c| c["campaign_id"] == json!(campaign))
            .cloned()
            .expect("the campaign is compared")
    };
    assert_eq!(mine(&report.body)["repaired"], false);
    assert_eq!(mine(&report.body)["in_sync"], false);
    let still: i64 = redis.hget(&key, "remaining").await.expect("remaining");
    assert_eq!(still, remaining - 2_500_000);

    let repair = app
        .post(
            "/api/v1/budget/reconcile",
            &operator,
            json!({"repair": true}),
        )
        .await;
    assert_eq!(repair.status, StatusCode::OK, "{}", repair.body);
    assert_eq!(mine(&repair.body)["repaired"], true);
    let back: i64 = redis.hget(&key, "remaining").await.expect("remaining");
    assert_eq!(back, remaining, "Redis has the ledger's remaining again");
    let after = app.get(&status_path, &billing).await;
    assert_eq!(
        after.body["campaigns"][0]["in_sync"], true,
        "{}",
        after.body
    );

    // the audit trail has who asked for the repair and what it found, and what the controller
    // installed
    app.state.audit.chain(100).await.expect("chain");
    let admin = app.token(Role::Admin, None);
    let asked = app
        .get("/api/v1/audit?action=budget.reconcile", &admin)
        .await;
    let items = asked.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", asked.body);
    assert_eq!(items[0]["role"], "operator");
    assert_eq!(items[0]["before"]["drift"], "-2.500000");
    let installed = app.get("/api/v1/audit?action=budget.repair", &admin).await;
    let items = installed.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", installed.body);
    assert_eq!(items[0]["after"]["detail"]["remaining"], remaining);

    // unknown campaigns and bad bodies are named
    let unknown = app
        .get(
            &format!("/api/v1/budget/status?campaign_id={}", Uuid::now_v7()),
            &billing,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad = app
        .post(
            "/api/v1/budget/reconcile",
            &operator,
            json!({"repair": "yes"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn pacing_shows_every_hour_of_today_with_spend_against_the_target(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let ids = running(&app, json!({"daily": "24"})).await;
    spend(&pool, &app, ids, "0.5", "ad:1", None).await;
    spend(
        &pool,
        &app,
        ids,
        "0.25",
        "ad:2",
        Some("invalid_traffic:burst"),
    )
    .await;
    let local_hour = |app: &TestApp| {
        ledger::Clock::now(&*app.clock)
            .with_timezone(&"Europe/Paris".parse::<chrono_tz::Tz>().expect("tz"))
            .format("%Y-%m-%dT%H:00:00")
            .to_string()
    };
    // the hour it started and spent in; then a minute passes, so a target is due
    let now = local_hour(&app);
    app.clock.advance(chrono::Duration::minutes(1));
    let current = local_hour(&app);
    let token = app.token(Role::Advertiser, Some(ids.0));
    let pacing = app
        .get(&format!("/api/v1/campaigns/{}/pacing", ids.1), &token)
        .await;
    assert_eq!(pacing.status, StatusCode::OK, "{}", pacing.body);
    let body = &pacing.body;
    assert_eq!(body["time_zone"], "Europe/Paris");
    assert_eq!(body["day_budget"], "24.000000");
    // net of the refund
    assert_eq!(body["spent"], "0.500000");
    let hours = body["hours"].as_array().expect("hours");
    assert!((23..=24).contains(&hours.len()), "{body}");
    let this_hour = hours
        .iter()
        .find(|h| h["hour"] == json!(now))
        .expect("this hour");
    assert_eq!(this_hour["spend"], "0.500000");
    assert_eq!(this_hour["spent_so_far"], "0.500000");
    assert!(this_hour["target"].is_string(), "{this_hour}");
    // the target up to now: some of the current hour's, not all of it
    let amount = |v: &serde_json::Value| -> f64 {
        v.as_str().expect("an amount").parse().expect("a number")
    };
    let so_far = amount(&body["target_so_far"]);
    let hour_end = hours
        .iter()
        .find(|h| h["hour"] == json!(current))
        .map(|h| amount(&h["target_so_far"]))
        .expect("the current hour");
    assert!(so_far > 0.0 && so_far < hour_end, "{so_far} of {hour_end}");
    let pace: f64 = body["pace"]
        .as_str()
        .expect("pace")
        .parse()
        .expect("number");
    assert!(pace > 0.0);
    // it started in the hour `now`: no hour before has a target
    assert_eq!(body["current_hour"], json!(current));
    assert!(
        hours[0]["hour"]
            .as_str()
            .expect("hour")
            .ends_with("T00:00:00")
    );
    for hour in hours.iter().take_while(|h| h["hour"] != json!(now)) {
        assert!(hour["target"].is_null(), "before it started: {hour}");
        assert!(hour["target_so_far"].is_null(), "{hour}");
    }
    let other = app.advertiser("Other").await;
    let theirs = app
        .get(
            &format!("/api/v1/campaigns/{}/pacing", ids.1),
            &app.token(Role::Advertiser, Some(other)),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn refunds_are_listed_newest_first_with_their_reason(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let ids = running(&app, json!({"lifetime": "10"})).await;
    for n in 0..3 {
        spend(
            &pool,
            &app,
            ids,
            "0.01",
            &format!("ad:{n}"),
            Some(&format!("invalid_traffic:rule{n}")),
        )
        .await;
    }
    spend(&pool, &app, ids, "0.01", "ad:kept", None).await;
    let billing = app.token(Role::Billing, None);
    let first = app.get("/api/v1/fraud/refunds?limit=2", &billing).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let items = first.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["reason"], "invalid_traffic:rule2");
    assert_eq!(items[0]["event_id"], "ad:2");
    assert_eq!(items[0]["amount"], "0.010000");
    assert_eq!(items[0]["currency"], "EUR");
    assert_eq!(items[1]["reason"], "invalid_traffic:rule1");
    let cursor = first.body["next_cursor"].as_str().expect("cursor");
    let rest = app
        .get(
            &format!("/api/v1/fraud/refunds?limit=2&cursor={cursor}"),
            &billing,
        )
        .await;
    let items = rest.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", rest.body);
    assert_eq!(items[0]["reason"], "invalid_traffic:rule0");
    assert!(rest.body["next_cursor"].is_null());

    // an advertiser sees its own only, whatever it asks
    let other = app.advertiser("Other").await;
    let theirs = app
        .get(
            &format!("/api/v1/fraud/refunds?advertiser_id={}", ids.0),
            &app.token(Role::Advertiser, Some(other)),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(theirs.body["items"], json!([]));
    let bad = app
        .get("/api/v1/fraud/refunds?cursor=later", &billing)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn system_status_lists_servingd_instances_and_what_the_fraud_panel_shows(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let ids = running(&app, json!({"lifetime": "10"})).await;
    spend(
        &pool,
        &app,
        ids,
        "0.02",
        "ad:x",
        Some("invalid_traffic:burst"),
    )
    .await;
    let service = app.token(Role::Service, None);
    let beat = |instance: &str, revision: i64| {
        json!({"instance": instance, "revision": revision, "campaigns": 1,
               "feed_staleness_ms": 1500, "version": "0.1.0",
               "started_at": "2026-11-30T08:00:00Z"})
    };
    for (instance, revision) in [("serving-1:8080", 0), ("serving-2:8080", 1)] {
        let reply = app
            .send(
                Method::POST,
                "/api/v1/servingd/heartbeat",
                Some(&service),
                Some(beat(instance, revision)),
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    }
    // serving-1 falls silent for two minutes
    app.clock.advance(chrono::Duration::minutes(2));
    let reply = app
        .send(
            Method::POST,
            "/api/v1/servingd/heartbeat",
            Some(&service),
            Some(beat("serving-2:8080", 2)),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let operator = app.token(Role::Operator, None);
    let status = app.get("/api/v1/system/status", &operator).await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.body);
    let body = &status.body;
    let revision = body["feed_revision"].as_i64().expect("revision");
    assert!(revision >= 2, "{body}");
    let instances = body["servingd"].as_array().expect("instances");
    assert_eq!(instances.len(), 2);
    assert_eq!(instances[0]["instance"], "serving-2:8080");
    assert_eq!(instances[0]["live"], true);
    assert_eq!(instances[0]["revisions_behind"], revision - 2);
    assert_eq!(instances[0]["feed_staleness_s"], 1.5);
    assert_eq!(instances[1]["instance"], "serving-1:8080");
    assert_eq!(instances[1]["live"], false);
    assert_eq!(body["refunds_last_hour"][0]["currency"], "EUR");
    assert_eq!(body["refunds_last_hour"][0]["amount"], "0.020000");
    assert_eq!(body["blocklist_size"], 0);
    assert!(body["audit"]["length"].is_u64(), "{body}");

    let bad = app
        .send(
            Method::POST,
            "/api/v1/servingd/heartbeat",
            Some(&service),
            Some(json!({"instance": "", "revision": -1, "campaigns": 0,
                        "feed_staleness_ms": 0, "started_at": "2026-11-30T08:00:00Z"})),
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), ["instance", "revision"]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn today_shows_each_campaigns_day_so_far_in_one_page(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let ids = running(&app, json!({"daily": "20"})).await;
    spend(&pool, &app, ids, "3", "ad:1", None).await;
    spend(&pool, &app, ids, "1", "ad:2", Some("invalid_traffic:burst")).await;
    for (event, kind) in [
        ("ad:1", "impression"),
        ("ad:2", "impression"),
        ("ad:1", "click"),
    ] {
        sqlx::query(
            "insert into ad_events (event_id, campaign_id, kind, at) values ($1, $2, $3, $4)",
        )
        .bind(event)
        .bind(ids.1)
        .bind(kind)
        .bind(ledger::Clock::now(&*app.clock))
        .execute(&pool)
        .await
        .expect("event");
    }
    let idle = app.campaign(ids.0, json!({"lifetime": "5"})).await;
    // a minute into its run: a target is due
    app.clock.advance(chrono::Duration::minutes(1));
    let token = app.token(Role::Advertiser, Some(ids.0));
    let page = app.get("/api/v1/reports/today", &token).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let items = page.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{}", page.body);
    let row = items
        .iter()
        .find(|r| r["campaign_id"] == json!(ids.1))
        .expect("the running campaign");
    assert_eq!(row["status"], "active");
    assert_eq!(row["day_budget"], "20.000000");
    assert_eq!(row["spent"], "3.000000", "net of the refund");
    assert_eq!(row["used"], "0.15");
    assert_eq!(row["refunds"], "1.000000");
    assert_eq!(row["impressions"], 2);
    assert_eq!(row["clicks"], 1);
    assert_eq!(row["ctr"], "0.5");
    let pace: f64 = row["pace"].as_str().expect("pace").parse().expect("number");
    assert!(
        pace > 1.0,
        "3.00 spent in the first minute is ahead of pace: {row}"
    );
    let quiet = items
        .iter()
        .find(|r| r["campaign_id"] == json!(idle))
        .expect("the draft");
    assert_eq!(quiet["spent"], "0.000000");
    assert_eq!(quiet["impressions"], 0);
    assert!(quiet["ctr"].is_null());
    // a status filter, and pages that follow one another
    let active = app.get("/api/v1/reports/today?status=active", &token).await;
    assert_eq!(active.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(active.body["items"][0]["campaign_id"], json!(ids.1));
    let mut seen = Vec::new();
    let mut path = "/api/v1/reports/today?limit=1".to_owned();
    loop {
        let page = app.get(&path, &token).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for item in page.body["items"].as_array().expect("items") {
            seen.push(item["campaign_id"].clone());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/reports/today?limit=1&cursor={cursor}"),
            None => break,
        }
        assert!(seen.len() <= 2, "pages never end: {seen:?}");
    }
    seen.sort_by_key(|v| v.to_string());
    let mut both = vec![json!(ids.1), json!(idle)];
    both.sort_by_key(|v| v.to_string());
    assert_eq!(seen, both, "each campaign once");
    let other = app.advertiser("Other").await;
    let theirs = app
        .get(
            "/api/v1/reports/today",
            &app.token(Role::Advertiser, Some(other)),
        )
        .await;
    assert_eq!(theirs.body["items"], json!([]));
}
