//! The API as its own Redis user (scripts/redis-users.acl): signing in (its failures counted),
//! rate limits, readiness and a campaign's budget in Redis all work, and the user may run no
//! admin or dangerous command.

use api::auth::Role;
use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::{TestApp, settings};

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_api_works_as_its_own_redis_user_and_may_not_administer_redis(pool: PgPool) {
    let url = test_support::service("REDIS_URL_API");
    let app = TestApp::with_settings(
        pool.clone(),
        api::Settings {
            redis_url: url.clone(),
            ..settings()
        },
    )
    .await;
    assert!(
        api::server::bootstrap_admin(&pool, "redis.admin", "a long admin password")
            .await
            .expect("admin")
    );
    let sign_in = |password: &'static str| {
        let app = app.clone();
        async move {
            app.send(
                Method::POST,
                "/api/v1/auth/token",
                None,
                Some(json!({"grant_type": "password", "username": "redis.admin", "password": password})),
                &[],
            )
            .await
            .status
        }
    };
    assert_eq!(sign_in("a wrong password!").await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in("a long admin password").await, StatusCode::OK);
    assert_eq!(app.get("/readyz", "").await.status, StatusCode::OK);
    let advertiser = app.advertiser("Redis User Co").await;
    app.deposit(advertiser, "100").await;
    let campaign = app.campaign(advertiser, json!({"lifetime": "10"})).await;
    let operator = app.token(Role::Operator, None);
    let activated = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/activate"),
            &operator,
            json!({}),
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.body);
    let status = app
        .get(
            &format!("/api/v1/budget/status?campaign_id={campaign}"),
            &operator,
        )
        .await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.body);

    let mut conn = redis::Client::open(url)
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("the API's user signs in");
    for refused in [
        redis::cmd("FLUSHALL").clone(),
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg("1")
            .clone(),
        redis::cmd("ACL").arg("LIST").clone(),
        redis::cmd("KEYS").arg("*").clone(),
    ] {
        let answer: redis::RedisResult<redis::Value> = refused.query_async(&mut conn).await;
        assert!(
            answer.as_ref().is_err_and(|e| e.code() == Some("NOPERM")),
            "{answer:?}"
        );
    }
}
