//! Transit signatures from a real OpenBao, checked here with the key's public halves: a
//! signature verifies locally exactly when Vault says it does, across a rotation.

use std::time::Duration;

use uuid::Uuid;
use vault::transit::TransitSigner;

#[tokio::test]
async fn signatures_verify_with_the_public_keys_as_vault_verifies_them() {
    let test_support::Vault { address, token } = test_support::vault();
    let key = format!("test-{}", Uuid::now_v7().simple());
    let signer = TransitSigner::new(&address, &token, "transit", &key, Duration::from_secs(5))
        .expect("signer");
    signer.ensure_key().await.expect("key");
    let first = signer.sign(b"checkpoint 1").await.expect("sign");
    signer.rotate().await.expect("rotate");
    let second = signer.sign(b"checkpoint 2").await.expect("sign");
    assert_eq!((first.key_version, second.key_version), (1, 2));

    let public = signer.public_keys().await.expect("public keys");
    assert_eq!(public.versions().collect::<Vec<_>>(), [1, 2]);
    for (message, signature, valid) in [
        (&b"checkpoint 1"[..], first.text.as_str(), true),
        (b"checkpoint 2", second.text.as_str(), true),
        (b"checkpoint 1", second.text.as_str(), false),
        (b"checkpoint 3", first.text.as_str(), false),
        (b"checkpoint 1", "vault:v9:AAAA", false),
        (b"checkpoint 1", "not a signature", false),
    ] {
        assert_eq!(public.verify(message, signature), valid, "{signature}");
        assert_eq!(
            signer
                .verify(message, signature)
                .await
                .expect("vault verify"),
            valid,
            "Vault agrees: {signature}"
        );
    }
}
