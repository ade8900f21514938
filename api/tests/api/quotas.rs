//! Per-advertiser quotas: one more campaign, user or API key than the quota is refused with 409
//! naming it; archiving, deleting or revoking makes room; creations at once cannot both take the
//! last place.

use api::auth::Role;
use api::settings::Quotas;
use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::{TestApp, campaign_body, settings};

async fn app_with(pool: PgPool, quotas: Quotas) -> TestApp {
    TestApp::with_settings(
        pool,
        api::Settings {
            quotas,
            ..settings()
        },
    )
    .await
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn one_more_than_the_quota_is_refused_until_room_is_made(pool: PgPool) {
    let app = app_with(
        pool,
        Quotas {
            campaigns: 2,
            users: 1,
            api_keys: 1,
        },
    )
    .await;
    let operator = app.token(Role::Operator, None);
    let advertiser = app.advertiser("Quota Co").await;
    let other = app.advertiser("Other Quota Co").await;
    let new_campaign = |for_whom| {
        let mut body = campaign_body();
        body["advertiser_id"] = json!(for_whom);
        body
    };

    let first = app
        .post("/api/v1/campaigns", &operator, new_campaign(advertiser))
        .await;
    app.post("/api/v1/campaigns", &operator, new_campaign(advertiser))
        .await;
    let third = app
        .post("/api/v1/campaigns", &operator, new_campaign(advertiser))
        .await;
    assert_eq!(third.status, StatusCode::CONFLICT, "{}", third.body);
    assert!(
        third.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("2 campaigns not archived, its most (2)")),
        "{}",
        third.body
    );
    let elsewhere = app
        .post("/api/v1/campaigns", &operator, new_campaign(other))
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::CREATED,
        "each advertiser its own quota"
    );
    let archived = app
        .post(
            &format!("/api/v1/campaigns/{}/archive", first.str("id")),
            &operator,
            json!({}),
        )
        .await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.body);
    let again = app
        .post("/api/v1/campaigns", &operator, new_campaign(advertiser))
        .await;
    assert_eq!(
        again.status,
        StatusCode::CREATED,
        "archiving made room: {}",
        again.body
    );

    let users = format!("/api/v1/advertisers/{advertiser}/users");
    let user = |name: &str| json!({"username": name, "password": "a long passphrase"});
    let ana = app.post(&users, &operator, user("ana.quota")).await;
    assert_eq!(ana.status, StatusCode::CREATED);
    let bob = app.post(&users, &operator, user("bob.quota")).await;
    assert_eq!(bob.status, StatusCode::CONFLICT, "{}", bob.body);
    let removed = app
        .send(
            Method::DELETE,
            &format!("{users}/{}", ana.str("id")),
            Some(&operator),
            None,
            &[],
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let bob = app.post(&users, &operator, user("bob.quota")).await;
    assert_eq!(bob.status, StatusCode::CREATED, "{}", bob.body);

    let keys = format!("/api/v1/advertisers/{advertiser}/api-keys");
    let key = app.post(&keys, &operator, json!({"name": "one"})).await;
    assert_eq!(key.status, StatusCode::CREATED);
    let second = app.post(&keys, &operator, json!({"name": "two"})).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.body);
    let revoked = app
        .send(
            Method::DELETE,
            &format!("{keys}/{}", key.str("id")),
            Some(&operator),
            None,
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let second = app.post(&keys, &operator, json!({"name": "two"})).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn creations_at_once_never_pass_the_quota_together(pool: PgPool) {
    // a pool of its own with room for every attempt at once (the test's pool has one)
    let wide = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(&test_support::url_of(&pool))
        .await
        .expect("pool");
    let app = app_with(
        wide,
        Quotas {
            campaigns: 3,
            ..Quotas::default()
        },
    )
    .await;
    let operator = app.token(Role::Operator, None);
    let advertiser = app.advertiser("Race Co").await;
    let attempts = (0..8).map(|_| {
        let (app, operator) = (app.clone(), operator.clone());
        let mut body = campaign_body();
        body["advertiser_id"] = json!(advertiser);
        async move { app.post("/api/v1/campaigns", &operator, body).await.status }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, refused), (3, 5), "{statuses:?}");
    let stored: i64 = sqlx::query_scalar("select count(*) from campaigns where advertiser_id = $1")
        .bind(advertiser)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(stored, 3);
}
