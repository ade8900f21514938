//! Where the tracking keys come from: Vault's KV state when `SERVINGD_TRACKING_KEYS_VAULT_PATH`
//! is set, else `SERVINGD_TRACKING_KEYS`; with neither, servingd does not start (unless
//! `SERVINGD_DEV_RANDOM_TRACKING_KEY` asks for a random key, in development). Keys from Vault are
//! followed: an operator rotates by writing a new version of the secret with the new key added
//! and made the signer (the old one kept until the URLs it signed have expired), and every
//! instance takes it up within `SERVINGD_SECRETS_REFRESH_S`, without a restart.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use secrecy::ExposeSecret;
use vault::secrets::{Fields, KvSecrets};

use crate::decision::tracking_token::TrackingKeys;
use crate::settings::Settings;

/// The keys in use, swapped whole when a rotation arrives.
pub type SharedTrackingKeys = Arc<ArcSwap<TrackingKeys>>;

/// The tracking keys a KV secret describes: `keys` in the form of `SERVINGD_TRACKING_KEYS`, and
/// `signing_id` (the highest id when absent).
pub fn keys_from_fields(fields: &Fields) -> anyhow::Result<TrackingKeys> {
    let keys = fields
        .get("keys")
        .context("the secret has no `keys` field (ID:KEY,ID:KEY)")?;
    let signing = match fields.get("signing_id") {
        None => None,
        Some(id) => Some(
            id.trim()
                .parse::<u8>()
                .with_context(|| format!("signing_id {id:?} is not a key id (0 to 255)"))?,
        ),
    };
    Ok(TrackingKeys::parse(keys, signing)?)
}

/// Loads the tracking keys. With a Vault path configured, Vault must answer now (an instance
/// does not sign URLs with keys no other instance knows), and a task follows the secret.
pub async fn load(settings: &Settings) -> anyhow::Result<SharedTrackingKeys> {
    settings.check_tracking_keys()?;
    let Some(vault) = &settings.tracking_keys_vault else {
        let keys = match &settings.tracking_keys {
            Some(spec) => TrackingKeys::parse(spec.expose_secret(), settings.tracking_key_id)
                .context("SERVINGD_TRACKING_KEYS")?,
            None => {
                tracing::warn!(
                    "SERVINGD_DEV_RANDOM_TRACKING_KEY: tracking URLs are signed with a random \
                     key and stop working when this process ends"
                );
                TrackingKeys::generated()
            }
        };
        return Ok(Arc::new(ArcSwap::from_pointee(keys)));
    };
    let kv = KvSecrets::new(
        &vault.address,
        vault.token.expose_secret(),
        &vault.kv_mount,
        vault::VAULT_TIMEOUT,
    )?;
    let fields = kv
        .read(&vault.path)
        .await
        .with_context(|| format!("reading the tracking keys from Vault ({})", vault.path))?;
    let keys = keys_from_fields(&fields)
        .with_context(|| format!("the tracking keys in Vault ({})", vault.path))?;
    Ok(vault::secrets::watched(
        kv,
        vault.path.clone(),
        Duration::from_secs(vault.refresh_s.max(1)),
        keys,
        fields,
        keys_from_fields,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault::secrets::fields_of as fields;

    const KEY_1: &str = "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const KEY_2: &str = "2:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4";

    #[test]
    fn a_secret_names_its_keys_and_which_signs() {
        let both = format!("{KEY_1},{KEY_2}");
        let keys = keys_from_fields(&fields(&[("keys", &both)])).expect("keys");
        assert_eq!(keys.signing_id(), 2, "the highest id signs by default");
        let keys =
            keys_from_fields(&fields(&[("keys", &both), ("signing_id", "1")])).expect("keys");
        assert_eq!(keys.signing_id(), 1);
    }

    #[test]
    fn a_secret_without_keys_or_with_a_missing_signer_is_refused() {
        for bad in [
            fields(&[]),
            fields(&[("keys", KEY_1), ("signing_id", "2")]),
            fields(&[("keys", KEY_1), ("signing_id", "one")]),
            fields(&[("keys", "1:c2hvcnQ")]),
        ] {
            assert!(keys_from_fields(&bad).is_err(), "{bad:?}");
        }
    }
}
