//! Campaign life through the API: create, read, update by merge patch, list with cursors.

use api::auth::Role;
use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::{TestApp, campaign_body};

#[sqlx::test(migrator = "MIGRATOR")]
async fn campaigns_are_created_patched_and_listed_by_cursor(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let advertiser = app.advertiser("Lister").await;
    let me = app.token(Role::Advertiser, Some(advertiser));
    let mut ids = Vec::new();
    for _ in 0..7 {
        let reply = app
            .post("/api/v1/campaigns", &me, crate::helpers::campaign_body())
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(reply.str("status"), "draft");
        assert_eq!(reply.str("currency"), "EUR");
        ids.push(reply.str("id"));
    }
    let patched = app
        .send(
            Method::PATCH,
            &format!("/api/v1/campaigns/{}", ids[0]),
            Some(&me),
            Some(json!({"targeting": {"countries": ["DE", "AT"]}, "frequency_cap": null})),
            &[],
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["targeting"]["countries"], json!(["DE", "AT"]));
    assert_eq!(
        patched.body["targeting"]["sizes"],
        json!([{"w": 300, "h": 250}]),
        "untouched fields stay"
    );
    assert!(patched.body["frequency_cap"].is_null(), "null removes");
    assert_eq!(patched.body["budget"]["lifetime"], "100.000000");
    let bad = app
        .send(
            Method::PATCH,
            &format!("/api/v1/campaigns/{}", ids[0]),
            Some(&me),
            Some(json!({"bid": {"amount": "abc"}})),
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "bid.amount");

    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(&format!("/api/v1/campaigns?limit=3{cursor}"), &me)
            .await;
        let items = page.body["items"].as_array().expect("items");
        seen.extend(
            items
                .iter()
                .map(|c| c["id"].as_str().unwrap_or("").to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every campaign once, in id order");
    let drafts = app.get("/api/v1/campaigns?status=active", &me).await;
    assert_eq!(drafts.body["items"].as_array().map(Vec::len), Some(0));
}

/// What an advertiser writes is held to the campaign's fields exactly: a field the API does not
/// know, at the top or nested, on create or in a patch, is refused and named, and nothing is
/// written.
#[sqlx::test(migrator = "MIGRATOR")]
async fn unknown_fields_are_refused_by_name(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let advertiser = app.advertiser("Strict").await;
    let me = app.token(Role::Advertiser, Some(advertiser));
    let mut body = crate::helpers::campaign_body();
    body["targeting"]["colour"] = json!("red");
    body["nickname"] = json!("x");
    let refused = app.post("/api/v1/campaigns", &me, body).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let mut named = refused.error_fields();
    named.sort_unstable();
    assert_eq!(named, ["nickname", "targeting.colour"], "{}", refused.body);
    let listed = app.get("/api/v1/campaigns", &me).await;
    assert_eq!(listed.body["items"], json!([]), "nothing was written");

    let created = app
        .post("/api/v1/campaigns", &me, crate::helpers::campaign_body())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let patched = app
        .send(
            Method::PATCH,
            &format!("/api/v1/campaigns/{}", created.str("id")),
            Some(&me),
            Some(
                json!({"creatives": [{"id": "c1", "format": "banner", "w": 300, "h": 250,
                                        "click_url": "https://a.example", "markup": "x",
                                        "adomain": "a.example", "sound": true}]}),
            ),
            &[],
        )
        .await;
    assert_eq!(
        patched.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        patched.body
    );
    assert_eq!(patched.body["errors"][0]["field"], "creatives[0].sound");
    // a patch that removes a field no campaign has names it too (it was passed over)
    let removed = app
        .send(
            Method::PATCH,
            &format!("/api/v1/campaigns/{}", created.str("id")),
            Some(&me),
            Some(json!({"": null, "schedule": {"finish": null}, "frequency_cap": null})),
            &[],
        )
        .await;
    assert_eq!(
        removed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        removed.body
    );
    let mut named = removed.error_fields();
    named.sort_unstable();
    assert_eq!(named, ["", "schedule.finish"], "{}", removed.body);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_creation_retried_with_its_idempotency_key_makes_one_campaign(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let advertiser = app.advertiser("Keyed").await;
    let operator = app.token(Role::Operator, None);
    let mut body = campaign_body();
    body["advertiser_id"] = json!(advertiser);
    let create = |body: serde_json::Value, key: &'static str| {
        let (app, operator) = (&app, &operator);
        async move {
            app.send(
                Method::POST,
                "/api/v1/campaigns",
                Some(operator),
                Some(body),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = create(body.clone(), "import:Winter boots").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let retry = create(body.clone(), "import:Winter boots").await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    assert_eq!(retry.body["id"], first.body["id"]);
    let mut other = body.clone();
    other["budget"] = json!({"daily": "99"});
    let conflict = create(other, "import:Winter boots").await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.body);
    let another = create(body.clone(), "import:Summer sandals").await;
    assert_eq!(another.status, StatusCode::CREATED);
    let count: i64 = sqlx::query_scalar("select count(*) from campaigns where advertiser_id = $1")
        .bind(advertiser)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, 2, "the retry made nothing");
    // two retries at once: one makes it, the other waits and gets it
    let (a, b) = tokio::join!(
        create(body.clone(), "import:Scarves"),
        create(body.clone(), "import:Scarves")
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CREATED],
        "{} {}",
        a.body,
        b.body
    );
    assert_eq!(a.body["id"], b.body["id"]);
    let too_long: &'static str = Box::leak("k".repeat(201).into_boxed_str());
    let bad = create(body, too_long).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), ["Idempotency-Key"]);
}
