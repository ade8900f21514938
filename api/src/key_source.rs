//! Where the token keys come from: Vault's KV engine when `ADPLAT_API_JWT_VAULT_PATH` is set,
//! else configuration (`ADPLAT_API_JWT_KEYS`, for development). Keys from Vault are followed:
//! an operator rotates by writing a new version of the secret (the new key as signer, the old
//! one kept, its public half is enough, until the tokens it signed have expired), and every
//! server takes it up within `ADPLAT_API_SECRETS_REFRESH_S`, without a restart.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use vault::secrets::{Fields, KvSecrets};

use crate::auth::keys::TokenKeys;
use crate::settings::{JwtSettings, Settings, parse_keys};

/// The keys in use, swapped whole when a rotation arrives.
pub type SharedKeys = Arc<ArcSwap<TokenKeys>>;

/// The token keys a KV secret describes: `keys` in the form of `ADPLAT_API_JWT_KEYS` and
/// `signing_kid`; the issuer and audience come from `jwt`.
pub fn keys_from_fields(fields: &Fields, jwt: &JwtSettings) -> anyhow::Result<TokenKeys> {
    let keys = fields
        .get("keys")
        .context("the secret has no `keys` field (kid=private:KEY,kid=public:KEY)")?;
    let signing = fields
        .get("signing_kid")
        .context("the secret has no `signing_kid` field")?;
    TokenKeys::new(&parse_keys(keys)?, signing, &jwt.issuer, &jwt.audience)
}

/// Loads the token keys. With a Vault path configured, Vault must answer now (a server does
/// not start on keys it cannot vouch for), and a task follows the secret from then on.
pub async fn load(settings: &Settings) -> anyhow::Result<SharedKeys> {
    let jwt = &settings.jwt;
    let vault = settings.vault.as_ref();
    let Some((vault, path)) = vault.and_then(|v| v.jwt_path.clone().map(|p| (v, p))) else {
        let keys = TokenKeys::new(&jwt.keys, &jwt.signing_kid, &jwt.issuer, &jwt.audience)
            .context("loading the token keys (ADPLAT_API_JWT_KEYS, ADPLAT_API_JWT_SIGNING_KID)")?;
        return Ok(Arc::new(ArcSwap::from_pointee(keys)));
    };
    let kv: KvSecrets = vault.kv(vault::VAULT_TIMEOUT)?;
    let fields = kv
        .read(&path)
        .await
        .with_context(|| format!("reading the token keys from Vault ({path})"))?;
    let keys = keys_from_fields(&fields, jwt)
        .with_context(|| format!("the token keys in Vault ({path})"))?;
    let every = Duration::from_secs(vault.secrets_refresh_s.max(1));
    let jwt = jwt.clone();
    Ok(vault::secrets::watched(
        kv,
        path,
        every,
        keys,
        fields,
        move |fields| keys_from_fields(fields, &jwt),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::generate_key;
    use crate::auth::{Principal, Role};
    use vault::secrets::fields_of as fields;

    #[test]
    fn a_secret_names_its_keys_and_signer() {
        let (private, _) = generate_key().expect("key");
        let (old_private, _) = generate_key().expect("key");
        let jwt = JwtSettings::default();
        let keys = keys_from_fields(
            &fields(&[
                (
                    "keys",
                    &format!("k2=private:{private},k1=private:{old_private}"),
                ),
                ("signing_kid", "k2"),
            ]),
            &jwt,
        )
        .expect("keys");
        let token = keys
            .issue(
                &Principal::staff(Role::Admin),
                chrono::Utc::now().timestamp(),
                60,
            )
            .expect("token");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.kid.as_deref(), Some("k2"));
        assert!(keys.verify(&token).is_ok());
    }

    #[test]
    fn a_secret_without_a_signer_or_keys_is_refused() {
        let (private, public) = generate_key().expect("key");
        let jwt = JwtSettings::default();
        let keys = format!("k1=private:{private}");
        for bad in [
            fields(&[("keys", &keys)]),
            fields(&[("signing_kid", "k1")]),
            fields(&[("keys", &keys), ("signing_kid", "k9")]),
            fields(&[
                ("keys", &format!("k1=public:{public}")),
                ("signing_kid", "k1"),
            ]),
            fields(&[("keys", "k1=secret:abc"), ("signing_kid", "k1")]),
        ] {
            assert!(keys_from_fields(&bad, &jwt).is_err(), "{bad:?}");
        }
    }
}
