//! Token keys kept in Vault's KV engine (the OpenBao of `scripts/services`): the server signs
//! with the key the secret names, and an operator's rotation written there reaches the running
//! server: new tokens carry the new key, tokens of the old key keep working while the secret
//! keeps its public half, and stop once it is gone. A bad version changes nothing.

use std::time::{Duration, Instant};

use api::auth::Role;
use api::auth::keys::generate_key;
use api::settings::VaultSettings;
use axum::http::StatusCode;
use sqlx::PgPool;
use vault::secrets::{Fields, KvSecrets};

use crate::MIGRATOR;
use crate::helpers::{TestApp, settings};

fn vault() -> (String, String) {
    let vault = test_support::vault();
    (vault.address, vault.token)
}

fn secret(keys: String, signing: &str) -> Fields {
    Fields::from([
        ("keys".to_owned(), keys),
        ("signing_kid".to_owned(), signing.to_owned()),
    ])
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

async fn status(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/v1/campaigns", token).await.status
}

/// Waits (up to 10 s) for `done`.
async fn eventually(mut done: impl AsyncFnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn keys_in_vault_rotate_without_a_restart(pool: PgPool) {
    let (address, token) = vault();
    let kv = KvSecrets::new(&address, &token, "secret", Duration::from_secs(5)).expect("kv");
    let path = format!("tests/jwt-{}", uuid::Uuid::now_v7().simple());
    let (k1, k1_public) = generate_key().expect("k1");
    let (k2, _) = generate_key().expect("k2");
    kv.write(&path, &secret(format!("k1=private:{k1}"), "k1"))
        .await
        .expect("write v1");

    let mut settings = settings();
    let mut vault = VaultSettings::new(&address, &token);
    vault.jwt_path = Some(path.clone());
    vault.secrets_refresh_s = 1;
    settings.vault = Some(vault);
    let app = TestApp::with_settings(pool, settings).await;
    let old = app.token(Role::Operator, None);
    assert_eq!(kid(&old), "k1", "Vault's key signs, not the configured one");
    assert_eq!(status(&app, &old).await, StatusCode::OK);

    // rotation: k2 signs, k1 only verifies
    kv.write(
        &path,
        &secret(format!("k2=private:{k2},k1=public:{k1_public}"), "k2"),
    )
    .await
    .expect("write v2");
    assert!(
        eventually(async || kid(&app.token(Role::Operator, None)) == "k2").await,
        "new tokens are signed with k2"
    );
    let new = app.token(Role::Operator, None);
    assert_eq!(status(&app, &new).await, StatusCode::OK);
    assert_eq!(
        status(&app, &old).await,
        StatusCode::OK,
        "k1's tokens still verify"
    );

    // a version the server cannot use (its signer is missing) changes nothing
    kv.write(&path, &secret(format!("k2=private:{k2}"), "k9"))
        .await
        .expect("write bad v3");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(status(&app, &new).await, StatusCode::OK);
    assert_eq!(status(&app, &old).await, StatusCode::OK);

    // k1 retired
    kv.write(&path, &secret(format!("k2=private:{k2}"), "k2"))
        .await
        .expect("write v4");
    assert!(
        eventually(async || status(&app, &old).await == StatusCode::UNAUTHORIZED).await,
        "k1's tokens are refused once the key is gone"
    );
    assert_eq!(status(&app, &new).await, StatusCode::OK);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_server_told_to_use_vault_does_not_start_without_its_keys(pool: PgPool) {
    let (address, token) = vault();
    let mut settings = settings();
    let mut vault = VaultSettings::new(&address, &token);
    vault.jwt_path = Some(format!("tests/missing-{}", uuid::Uuid::now_v7().simple()));
    settings.vault = Some(vault);
    let started = api::server::state_over(pool, settings, api::server::system_clock()).await;
    let error = format!("{:#}", started.err().expect("refused to start"));
    assert!(
        error.contains("reading the token keys from Vault"),
        "{error}"
    );
}
