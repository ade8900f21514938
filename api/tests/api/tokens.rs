//! Sign-in, and every forged or stale token refused with 401 and nothing served.

use api::auth::keys::{Claims, KeySpec, TokenKeys, generate_key};
use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::TestApp;

fn claims(app: &TestApp, role: &str) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: uuid::Uuid::now_v7().to_string(),
        role: role.into(),
        adv: None,
        iss: app.state.keys.load().issuer().into(),
        aud: app.state.keys.load().audience().into(),
        iat: now,
        nbf: now,
        exp: now + 300,
        jti: "j".into(),
        ver: 0,
    }
}

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn refused(app: &TestApp, token: &str, what: &str) {
    let reply = app.get("/api/v1/campaigns", token).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        reply.body
    );
    assert_eq!(
        reply.headers["content-type"], "application/problem+json",
        "{what}"
    );
    assert!(reply.body.get("items").is_none(), "{what}: nothing served");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn forged_and_stale_tokens_are_all_refused(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let good = app
        .state
        .keys
        .load()
        .sign(&claims(&app, "admin"))
        .expect("sign");
    assert_eq!(
        app.get("/api/v1/campaigns", &good).await.status,
        StatusCode::OK
    );

    // alg: none, with and without a signature part.
    let payload = b64(&serde_json::to_value(claims(&app, "admin")).expect("claims"));
    let none = b64(&json!({"alg": "none", "typ": "JWT", "kid": "test-1"}));
    refused(&app, &format!("{none}.{payload}."), "alg none").await;
    refused(&app, &format!("{none}.{payload}"), "alg none, two parts").await;

    // HMAC/RSA confusion: HS256 keyed with the server's public key; RS256 claimed.
    let public = app_public_key(&app);
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("test-1".into());
    let confused = jsonwebtoken::encode(
        &hs,
        &claims(&app, "admin"),
        &EncodingKey::from_secret(&public),
    )
    .expect("hs256");
    refused(&app, &confused, "HS256 with the public key").await;
    let rs = b64(&json!({"alg": "RS256", "typ": "JWT", "kid": "test-1"}));
    let signature = good.rsplit('.').next().unwrap_or_default();
    refused(
        &app,
        &format!("{rs}.{payload}.{signature}"),
        "RS256 claimed",
    )
    .await;

    // Time and audience checks.
    let now = chrono::Utc::now().timestamp();
    let mut expired = claims(&app, "admin");
    (expired.iat, expired.nbf, expired.exp) = (now - 900, now - 900, now - 60);
    refused(
        &app,
        &app.state.keys.load().sign(&expired).expect("sign"),
        "expired",
    )
    .await;
    let mut early = claims(&app, "admin");
    (early.nbf, early.exp) = (now + 120, now + 600);
    refused(
        &app,
        &app.state.keys.load().sign(&early).expect("sign"),
        "not yet valid",
    )
    .await;
    let mut issuer = claims(&app, "admin");
    issuer.iss = "someone-else".into();
    refused(
        &app,
        &app.state.keys.load().sign(&issuer).expect("sign"),
        "wrong issuer",
    )
    .await;
    let mut audience = claims(&app, "admin");
    audience.aud = "another-service".into();
    refused(
        &app,
        &app.state.keys.load().sign(&audience).expect("sign"),
        "wrong audience",
    )
    .await;

    // Tampered payload: a billing token edited into an admin one keeps the old signature.
    let billing = app
        .state
        .keys
        .load()
        .sign(&claims(&app, "billing"))
        .expect("sign");
    let parts: Vec<&str> = billing.split('.').collect();
    let mut edited: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    edited["role"] = json!("admin");
    refused(
        &app,
        &format!("{}.{}.{}", parts[0], b64(&edited), parts[2]),
        "tampered",
    )
    .await;

    // A key id the server does not know, signed by a key it does not have.
    let (other_private, _) = generate_key().expect("key");
    let stranger = TokenKeys::new(
        &[KeySpec {
            kid: "rogue".into(),
            private_pkcs8: Some(other_private.clone()),
            public: None,
        }],
        "rogue",
        app.state.keys.load().issuer(),
        app.state.keys.load().audience(),
    )
    .expect("keys");
    refused(
        &app,
        &stranger.sign(&claims(&app, "admin")).expect("sign"),
        "unknown kid",
    )
    .await;
    // ... and a foreign key claiming the server's kid.
    let impostor = TokenKeys::new(
        &[KeySpec {
            kid: "test-1".into(),
            private_pkcs8: Some(other_private),
            public: None,
        }],
        "test-1",
        app.state.keys.load().issuer(),
        app.state.keys.load().audience(),
    )
    .expect("keys");
    refused(
        &app,
        &impostor.sign(&claims(&app, "admin")).expect("sign"),
        "foreign key",
    )
    .await;

    // Claims the server would never issue, and junk.
    refused(
        &app,
        &app.state
            .keys
            .load()
            .sign(&claims(&app, "root"))
            .expect("sign"),
        "unknown role",
    )
    .await;
    refused(
        &app,
        &app.state
            .keys
            .load()
            .sign(&claims(&app, "advertiser"))
            .expect("sign"),
        "advertiser without one",
    )
    .await;
    refused(&app, "not-a-token", "junk").await;
    let reply = app
        .send(
            Method::GET,
            "/api/v1/campaigns",
            None,
            None,
            &[("authorization", &format!("Basic {good}"))],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "not a bearer token");
}

fn app_public_key(app: &TestApp) -> Vec<u8> {
    let private = app.state.settings.jwt.keys[0]
        .private_pkcs8
        .clone()
        .expect("private key");
    let der = STANDARD.decode(private).expect("b64");
    Ed25519KeyPair::from_pkcs8(&der)
        .expect("pair")
        .public_key()
        .as_ref()
        .to_vec()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn passwords_and_api_keys_sign_in_and_nothing_else_does(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    assert!(
        api::server::bootstrap_admin(&pool, "root.admin", "a long admin password")
            .await
            .expect("admin")
    );
    assert!(
        !api::server::bootstrap_admin(&pool, "second", "another long password")
            .await
            .expect("admin"),
        "only the first admin is created this way"
    );
    let anonymous = None;
    let sign_in = |body: serde_json::Value| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/api/v1/auth/token",
                anonymous,
                Some(body),
                &[],
            )
            .await
        }
    };
    let reply = sign_in(json!({"grant_type": "password", "username": "root.admin", "password": "a long admin password"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.str("role"), "admin");
    let admin = reply.str("access_token");
    assert_eq!(
        app.get("/api/v1/advertisers", &admin).await.status,
        StatusCode::OK
    );

    for (body, what) in [
        (
            json!({"grant_type": "password", "username": "root.admin", "password": "wrong password!!"}),
            "wrong password",
        ),
        (
            json!({"grant_type": "password", "username": "nobody.here", "password": "a long admin password"}),
            "unknown user",
        ),
        (
            json!({"grant_type": "api_key", "api_key": "adk_0123_nope"}),
            "malformed key",
        ),
    ] {
        let reply = sign_in(body).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(
            reply.str("detail"),
            "the credentials do not hold",
            "{what}: says nothing more"
        );
    }
    assert_eq!(
        sign_in(json!({"grant_type": "magic"})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // A service key, created by the admin, signs servingd in; revoked keys do not.
    let reply = app
        .post(
            "/api/v1/api-keys",
            &admin,
            json!({"name": "servingd", "role": "service"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let key = reply.str("api_key");
    let reply = sign_in(json!({"grant_type": "api_key", "api_key": key})).await;
    assert_eq!(
        (reply.status, reply.str("role")),
        (StatusCode::OK, "service".into())
    );
    let service = reply.str("access_token");
    assert_eq!(
        app.get("/api/v1/feed/campaigns?since=0", &service)
            .await
            .status,
        StatusCode::OK
    );
    sqlx::query("update api_keys set revoked_at = now()")
        .execute(&pool)
        .await
        .expect("revoke");
    let reply = sign_in(json!({"grant_type": "api_key", "api_key": key})).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_revoked_keys_tokens_stop_at_once_here_and_on_every_instance_that_reads_again(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    // a second instance over the same database, verifying the same tokens
    let other = TestApp::with_settings(pool.clone(), app.state.settings.clone()).await;
    let admin = app.token(api::auth::Role::Admin, None);
    let advertiser = app.advertiser("Revoked Keys Co").await;
    let key = app
        .post(
            &format!("/api/v1/advertisers/{advertiser}/api-keys"),
            &admin,
            json!({"name": "nightly export"}),
        )
        .await;
    let grant = || {
        app.send(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "api_key", "api_key": key.str("api_key")})),
            &[],
        )
    };
    let signed = grant().await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    let token = signed.str("access_token");
    let path = format!("/api/v1/advertisers/{advertiser}");
    assert_eq!(app.get(&path, &token).await.status, StatusCode::OK);
    assert_eq!(other.get(&path, &token).await.status, StatusCode::OK);

    let revoked = app
        .send(
            Method::DELETE,
            &format!(
                "/api/v1/advertisers/{advertiser}/api-keys/{}",
                key.str("id")
            ),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    // at once where it was revoked, though the token has not expired
    assert_eq!(
        app.get(&path, &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    // on the other instance at its next reading (its server reads every second)
    other
        .state
        .revocations
        .reload(&other.state.db, chrono::Utc::now(), 3600)
        .await
        .expect("reload");
    assert_eq!(
        other.get(&path, &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    // and on one started afterwards, before it serves anything
    let restarted = TestApp::with_settings(pool, app.state.settings.clone()).await;
    assert_eq!(
        restarted.get(&path, &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    // the key itself signs in no more
    let again = grant().await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}
