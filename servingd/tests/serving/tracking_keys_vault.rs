//! Tracking keys kept in Vault's KV state (the OpenBao of `scripts/services`): servingd signs
//! with the key the secret names, and a rotation written there reaches the running state: new
//! URLs carry the new key, URLs of the old one keep verifying while the secret keeps it, and
//! are refused once it is gone.

use std::time::{Duration, Instant};

use events::{Billing, EventKind};
use servingd::decision::tracking_token::{TokenClaims, TokenError};
use servingd::settings::{Settings, VaultSecret};
use sqlx::PgPool;
use uuid::Uuid;
use vault::secrets::{Fields, KvSecrets};

use crate::helpers::redis_url;

const KEY_1: &str = "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const KEY_2: &str = "2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";

fn secret(keys: &str) -> Fields {
    Fields::from([("keys".to_owned(), keys.to_owned())])
}

fn claims() -> TokenClaims {
    TokenClaims {
        kind: EventKind::Impression,
        auction: Uuid::now_v7(),
        slot: "1".into(),
        campaign: Uuid::now_v7(),
        lease: Uuid::now_v7(),
        partner: Uuid::now_v7(),
        test: false,
        billing: Billing::PerMille,
        price_micros: 2_000_000,
        expires_at: chrono::Utc::now().timestamp() + 600,
        device: 0,
        network: 0,
    }
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn tracking_keys_in_vault_rotate_without_a_restart(pool: PgPool) {
    let test_support::Vault { address, token } = test_support::vault();
    let kv = KvSecrets::new(&address, &token, "secret", Duration::from_secs(5)).expect("kv");
    let path = format!("tests/tracking-{}", Uuid::now_v7().simple());
    kv.write(&path, &secret(KEY_1)).await.expect("write v1");
    let mut vault = VaultSecret::new(&address, &token, &path);
    vault.refresh_s = 1;
    let settings = Settings {
        redis_url: redis_url(),
        event_namespace: format!("test-{}:", Uuid::now_v7().simple()),
        tracking_keys_vault: Some(vault),
        ..Settings::default()
    };
    let state = servingd::server::build_over(settings, pool)
        .await
        .expect("state");
    let verify = |token: &str| {
        state.tracking.load().verify(
            token,
            EventKind::Impression,
            b"",
            chrono::Utc::now().timestamp(),
        )
    };
    assert_eq!(state.tracking.load().signing_id(), 1);
    let old = state.tracking.load().sign(&claims(), b"");
    assert!(verify(&old).is_ok());

    kv.write(&path, &secret(&format!("{KEY_1},{KEY_2}")))
        .await
        .expect("write v2");
    let started = Instant::now();
    while state.tracking.load().signing_id() != 2 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state.tracking.load().signing_id(), 2, "key 2 signs now");
    let new = state.tracking.load().sign(&claims(), b"");
    assert!(verify(&new).is_ok());
    assert!(verify(&old).is_ok(), "key 1's URLs still verify");

    kv.write(&path, &secret(KEY_2)).await.expect("write v3");
    let started = Instant::now();
    while verify(&old).is_ok() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        verify(&old).err(),
        Some(TokenError::UnknownKey(1)),
        "key 1 retired"
    );
    assert!(verify(&new).is_ok());
}
