//! The policies `scripts/services` applies (vault/policies), held to what they promise with
//! tokens made from them on the real OpenBao: the API signs with the audit key and reads its
//! public halves, but cannot create, rotate or export a key; the audit operator rotates it but
//! cannot sign; servingd and the ledger writer read only their own secrets.

use std::time::Duration;

use uuid::Uuid;
use vault::secrets::{Fields, KvSecrets, fields_of};
use vault::transit::TransitSigner;
use vaultrs::api::token::requests::CreateTokenRequest;
use vaultrs::api::transit::requests::{ExportKeyType, ExportVersion};
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};

/// A token with `policy` only, made with the services' root token.
async fn token_with(policy: &str) -> String {
    let test_support::Vault { address, token } = test_support::vault();
    let root = VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(&address)
            .token(&token)
            .build()
            .expect("settings"),
    )
    .expect("client");
    let made = vaultrs::token::new(
        &root,
        Some(
            CreateTokenRequest::builder()
                .policies(vec![policy.to_owned()])
                .no_default_policy(true)
                .ttl("10m"),
        ),
    )
    .await
    .expect("token");
    made.client_token
}

fn signer(token: &str, key: &str) -> TransitSigner {
    let test_support::Vault { address, .. } = test_support::vault();
    TransitSigner::new(&address, token, "transit", key, Duration::from_secs(5)).expect("signer")
}

fn kv(token: &str) -> KvSecrets {
    let test_support::Vault { address, .. } = test_support::vault();
    KvSecrets::new(&address, token, "secret", Duration::from_secs(5)).expect("kv")
}

#[tokio::test]
async fn the_api_signs_with_the_audit_key_and_can_do_nothing_else_to_it() {
    let api = token_with("adplat-api").await;
    let audit = signer(&api, "audit");
    audit
        .ensure_key()
        .await
        .expect("the key exists: reading it is enough");
    let signature = audit.sign(b"checkpoint").await.expect("sign");
    let public = audit.public_keys().await.expect("public halves");
    assert!(public.verify(b"checkpoint", &signature.text));
    assert!(audit.rotate().await.is_err(), "no rotation");
    let other = signer(&api, &format!("other-{}", Uuid::now_v7().simple()));
    assert!(other.ensure_key().await.is_err(), "no new keys");
    assert!(other.sign(b"checkpoint").await.is_err(), "no other key");
    assert_eq!(export_status(&api).await, 403, "no export");
}

#[tokio::test]
async fn the_audit_operator_rotates_the_key_but_does_not_sign() {
    let operator = token_with("adplat-audit-operator").await;
    let audit = signer(&operator, "audit");
    audit.rotate().await.expect("rotate");
    assert!(
        audit.sign(b"checkpoint").await.is_err(),
        "signing is the API's"
    );
}

#[tokio::test]
async fn servingd_and_the_writer_read_only_their_own_secrets() {
    let root = {
        let test_support::Vault { token, .. } = test_support::vault();
        kv(&token)
    };
    let run = Uuid::now_v7().simple().to_string();
    let secret: Fields = fields_of(&[("keys", "1:not-a-real-key")]);
    let tracking = format!("adplat/servingd/tracking-{run}");
    let entries = format!("adplat/events/entry-keys-{run}");
    let api_keys = format!("adplat/api/jwt-{run}");
    for path in [&tracking, &entries, &api_keys] {
        root.write(path, &secret).await.expect("write");
    }
    let servingd = kv(&token_with("adplat-servingd").await);
    assert!(servingd.read(&tracking).await.is_ok());
    assert!(servingd.read(&entries).await.is_ok());
    assert!(servingd.read(&api_keys).await.is_err());
    assert!(
        servingd.write(&tracking, &secret).await.is_err(),
        "read only"
    );
    let writer = kv(&token_with("adplat-ledger-writer").await);
    assert!(writer.read(&entries).await.is_ok());
    assert!(
        writer.read(&tracking).await.is_err(),
        "the writer cannot sign tracking URLs"
    );
    let api = kv(&token_with("adplat-api").await);
    assert!(api.read(&api_keys).await.is_ok());
    assert!(api.read(&tracking).await.is_err());
}

/// What Vault answers `token` asking to export the audit key's private half.
async fn export_status(token: &str) -> u16 {
    let test_support::Vault { address, .. } = test_support::vault();
    let client = VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(&address)
            .token(token)
            .build()
            .expect("settings"),
    )
    .expect("client");
    let exported = vaultrs::transit::key::export(
        &client,
        "transit",
        "audit",
        ExportKeyType::SigningKey,
        ExportVersion::Latest,
    )
    .await;
    match exported {
        Ok(_) => 200,
        Err(vaultrs::error::ClientError::APIError { code, .. }) => code,
        Err(e) => panic!("exporting: {e}"),
    }
}
