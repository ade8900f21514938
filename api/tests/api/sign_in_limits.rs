//! Sign-in under attack, over real HTTP (the client's address from a trusted proxy's
//! X-Forwarded-For): wrong passwords slow their address after five, each further try waiting
//! twice as long; the account slows for strangers after twenty, never for the address its owner
//! signs in from; API keys are limited alike; and password hashes computed at once are capped.

use std::sync::Arc;

use chrono::Utc;
use daemon::client_address::TrustedProxies;
use ledger::ManualClock;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::settings;

const PASSWORD: &str = "the admin's long passphrase";

struct Served {
    url: String,
    clock: Arc<ManualClock>,
    http: reqwest::Client,
}

/// The API served on loopback, behind a "proxy" on loopback, its clock standing still.
async fn serve(pool: PgPool, configure: impl FnOnce(&mut api::Settings)) -> Served {
    let mut settings = settings();
    settings.trusted_proxies = TrustedProxies::parse("127.0.0.1").expect("loopback");
    configure(&mut settings);
    api::server::bootstrap_admin(&pool, "admin", PASSWORD)
        .await
        .expect("admin");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let state = api::server::state_over(pool, settings, clock.clone())
        .await
        .expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(api::server::serve(state, listener, std::future::pending()));
    Served {
        url,
        clock,
        http: reqwest::Client::new(),
    }
}

impl Served {
    /// Signs in as `username` from `from`: the status and Retry-After.
    async fn sign_in(&self, from: &str, username: &str, password: &str) -> (StatusCode, u64) {
        self.grant(
            from,
            json!({"grant_type": "password", "username": username, "password": password}),
        )
        .await
    }

    async fn grant(&self, from: &str, body: serde_json::Value) -> (StatusCode, u64) {
        let response = self
            .http
            .post(format!("{}/api/v1/auth/token", self.url))
            .header("x-forwarded-for", from)
            .json(&body)
            .send()
            .await
            .expect("token");
        let wait = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        (response.status(), wait)
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn wrong_passwords_slow_their_address_long_before_they_lock_the_owner_out(pool: PgPool) {
    let api = serve(pool, |_| {}).await;
    let owner = "192.0.2.10";
    let attacker = "198.51.100.66";
    assert_eq!(
        api.sign_in(owner, "admin", PASSWORD).await.0,
        StatusCode::OK
    );

    // five wrong answers from one address are answered; then it waits, longer each time
    for _ in 0..5 {
        assert_eq!(
            api.sign_in(attacker, "admin", "guess").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        api.sign_in(attacker, "admin", "guess").await,
        (StatusCode::TOO_MANY_REQUESTS, 1)
    );
    // even with the right password: the address is slowed before anything is checked
    assert_eq!(
        api.sign_in(attacker, "admin", PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    api.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(
        api.sign_in(attacker, "admin", "guess").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.sign_in(attacker, "admin", "guess").await,
        (StatusCode::TOO_MANY_REQUESTS, 2)
    );
    // another user name from the same address waits too
    assert_eq!(
        api.sign_in(attacker, "someone.else", "guess").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );

    // many addresses, one guess each: the account slows for strangers after twenty failures
    let mut statuses = Vec::new();
    for n in 0..30 {
        statuses.push(
            api.sign_in(&format!("203.0.113.{n}"), "admin", "guess")
                .await
                .0,
        );
    }
    let answered = statuses
        .iter()
        .take_while(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(answered, 20 - 6, "{statuses:?}");
    assert!(
        statuses[answered..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // a stranger with the right password waits; the owner, from where they sign in, does not
    assert_eq!(
        api.sign_in("203.0.113.200", "admin", PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        api.sign_in(owner, "admin", PASSWORD).await.0,
        StatusCode::OK
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn wrong_api_keys_are_limited_like_passwords(pool: PgPool) {
    let api = serve(pool, |_| {}).await;
    let made_up = format!("adk_{}_not-the-secret", uuid::Uuid::now_v7().simple());
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(
            api.grant(
                "198.51.100.9",
                json!({"grant_type": "api_key", "api_key": made_up}),
            )
            .await
            .0,
        );
    }
    assert_eq!(
        statuses,
        [
            [StatusCode::UNAUTHORIZED; 5].as_slice(),
            &[StatusCode::TOO_MANY_REQUESTS; 2]
        ]
        .concat()
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_flood_of_sign_ins_waits_for_a_capped_number_of_password_hashes(pool: PgPool) {
    let api = Arc::new(
        serve(pool, |s| {
            s.signin_hashing = 1;
            s.signin_hashing_wait_ms = 0;
        })
        .await,
    );
    // random user names from as many addresses: no back-off applies, each costs a hash
    let flood: Vec<_> = (0..12)
        .map(|n| {
            let api = api.clone();
            tokio::spawn(async move {
                api.sign_in(
                    &format!("198.18.0.{n}"),
                    &format!("random{n}"),
                    "any password",
                )
                .await
                .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in flood {
        statuses.push(task.await.expect("join"));
    }
    let busy = statuses
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(busy >= 1 && refused >= 1, "{statuses:?}");
    assert_eq!(busy + refused, statuses.len(), "{statuses:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_valid_sign_in_of_ones_own_does_not_buy_fresh_guesses(pool: PgPool) {
    let own = "mallory's own long password";
    let hash = api::auth::secrets::hash(own).expect("hash");
    api::auth::store::insert_user(
        &pool,
        "mallory",
        &hash,
        api::auth::Role::Operator,
        None,
        None,
    )
    .await
    .expect("user");
    let api = serve(pool, |_| {}).await;
    let attacker = "198.51.100.77";
    for _ in 0..4 {
        assert_eq!(
            api.sign_in(attacker, "admin", "guess").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        api.sign_in(attacker, "mallory", own).await.0,
        StatusCode::OK
    );
    // the four failures still count: one more guess, then the address waits
    assert_eq!(
        api.sign_in(attacker, "admin", "guess").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.sign_in(attacker, "admin", "guess").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}
