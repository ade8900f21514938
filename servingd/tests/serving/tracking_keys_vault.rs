//! Tracking keys kept in Vault's KV state (the OpenBao of `scripts/services`): servingd signs
//! with the key the secret names, and a rotation written there reaches the running state: new
//! URLs carry the new key, URLs of the old one keep verifying while the secret keeps it, and
//! are refused once it is gone. The event stream's entry keys are followed the same way.

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
async fn tracking_and_entry_keys_in_vault_rotate_without_a_restart(pool: PgPool) {
    let test_support::Vault { address, token } = test_support::vault();
    let kv = KvSecrets::new(&address, &token, "secret", Duration::from_secs(5)).expect("kv");
    let path = format!("tests/tracking-{}", Uuid::now_v7().simple());
    kv.write(&path, &secret(KEY_1)).await.expect("write v1");
    let mut vault = VaultSecret::new(&address, &token, &path);
    vault.refresh_s = 1;
    let entry_path = format!("tests/entries-{}", Uuid::now_v7().simple());
    kv.write(&entry_path, &secret(KEY_1))
        .await
        .expect("write entry keys");
    let mut entry_vault = VaultSecret::new(&address, &token, &entry_path);
    entry_vault.refresh_s = 1;
    let settings = Settings {
        redis_url: redis_url(),
        event_namespace: format!("test-{}:", Uuid::now_v7().simple()),
        tracking_keys_vault: Some(vault),
        entry_keys_vault: Some(entry_vault),
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

    // entry keys: a rotation reaches the sealing, and entries sealed before still check
    let as_read = |fields: Vec<(&str, String)>| -> Vec<(Vec<u8>, Vec<u8>)> {
        fields
            .into_iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.into_bytes()))
            .collect()
    };
    let event = events::ServedEvent {
        id: "a:1".into(),
        kind: EventKind::Impression,
        campaign: ledger::CampaignId(Uuid::now_v7()),
        lease: ledger::LeaseId(Uuid::now_v7()),
        billing: Billing::PerMille,
        price_micros: 2_000_000,
        at_ms: 0,
        ip: "192.0.2.1".into(),
        device: None,
        user_agent: None,
        invalid: None,
        partner: None,
        test: false,
    };
    let seal_id = || state.events.sealed_fields(&event).pop().expect("seal").1[..2].to_owned();
    assert_eq!(seal_id(), "1.");
    let sealed_by_1 = as_read(state.events.sealed_fields(&event));
    kv.write(&entry_path, &secret(&format!("{KEY_1},{KEY_2}")))
        .await
        .expect("write entry keys v2");
    let started = Instant::now();
    while seal_id() != "2." && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seal_id(), "2.", "key 2 seals now");
    assert_eq!(state.events.check_seal(&sealed_by_1), Ok(()));
}
