//! Where the key rings come from: the tracking keys (tracking URLs' signatures) and the entry keys
//! (the event stream entries' seals, shared with the ledger writer). Each is read from Vault's
//! KV state when its Vault path is set, else from its setting; with neither, servingd does not
//! start (unless `SERVINGD_DEV_RANDOM_TRACKING_KEY` asks for random keys, in development). Keys
//! from Vault are followed: an operator rotates by writing a new version of the secret with the
//! new key added and made the signer (the old one kept until what it signed has been used), and
//! every process takes it up within its refresh period, without a restart.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use daemon::keyring::KeyRing;
use events::{EntryKeys, SharedEntryKeys};
use secrecy::{ExposeSecret, SecretString};
use vault::secrets::{Fields, KvSecrets};

use crate::decision::tracking_token::TrackingKeys;
use crate::settings::{Settings, VaultSecret};

/// The tracking keys in use, swapped whole when a rotation arrives.
pub type SharedTrackingKeys = Arc<ArcSwap<TrackingKeys>>;

/// Where one key ring comes from, and the names to give in errors.
pub struct KeySource<'a> {
    /// The setting with the keys, `ID:KEY,ID:KEY` (named in errors).
    pub setting: &'static str,
    pub keys: Option<&'a SecretString>,
    /// Which key signs (the highest id when `None`).
    pub signing: Option<u8>,
    /// The secret in Vault instead (it wins over `keys`).
    pub vault: Option<&'a VaultSecret>,
    /// Without either, a random key (development only).
    pub dev_random: bool,
}

/// The key ring a KV secret describes: `keys` in the form `ID:KEY,ID:KEY`, and `signing_id`
/// (the highest id when absent).
pub fn ring_from_fields(fields: &Fields) -> anyhow::Result<KeyRing> {
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
    Ok(KeyRing::parse(keys, signing)?)
}

/// Loads a key ring and makes it a `T`. With a Vault path, Vault must answer now (a process
/// does not sign with keys no other process knows), and a task follows the secret.
pub async fn load<T>(
    source: KeySource<'_>,
    wrap: fn(KeyRing) -> T,
) -> anyhow::Result<Arc<ArcSwap<T>>>
where
    T: Send + Sync + 'static,
{
    let Some(vault) = source.vault else {
        let ring = match source.keys {
            Some(spec) => {
                KeyRing::parse(spec.expose_secret(), source.signing).context(source.setting)?
            }
            None if source.dev_random => {
                tracing::warn!(
                    setting = source.setting,
                    "development keys: signing with a random key that no other process holds \
                     and that ends with this one"
                );
                KeyRing::generated()
            }
            None => anyhow::bail!("{} is not set", source.setting),
        };
        return Ok(Arc::new(ArcSwap::from_pointee(wrap(ring))));
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
        .with_context(|| format!("reading {} from Vault ({})", source.setting, vault.path))?;
    let ring = ring_from_fields(&fields)
        .with_context(|| format!("{} in Vault ({})", source.setting, vault.path))?;
    Ok(vault::secrets::watched(
        kv,
        vault.path.clone(),
        Duration::from_secs(vault.refresh_s.max(1)),
        wrap(ring),
        fields,
        move |fields| ring_from_fields(fields).map(wrap),
    ))
}

/// The tracking keys of `settings`.
pub async fn tracking_keys(settings: &Settings) -> anyhow::Result<SharedTrackingKeys> {
    settings.check_keys()?;
    let source = KeySource {
        setting: "SERVINGD_TRACKING_KEYS",
        keys: settings.tracking_keys.as_ref(),
        signing: settings.tracking_key_id,
        vault: settings.tracking_keys_vault.as_ref(),
        dev_random: settings.dev_random_tracking_key,
    };
    load(source, TrackingKeys::from).await
}

/// The entry keys of `settings`, the ones the ledger writer is given too.
pub async fn entry_keys(settings: &Settings) -> anyhow::Result<SharedEntryKeys> {
    settings.check_keys()?;
    let source = KeySource {
        setting: "EVENT_ENTRY_KEYS",
        keys: settings.entry_keys.as_ref(),
        signing: settings.entry_key_id,
        vault: settings.entry_keys_vault.as_ref(),
        dev_random: settings.dev_random_tracking_key,
    };
    load(source, EntryKeys::from).await
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
        let keys = ring_from_fields(&fields(&[("keys", &both)])).expect("keys");
        assert_eq!(keys.signing_id(), 2, "the highest id signs by default");
        let keys =
            ring_from_fields(&fields(&[("keys", &both), ("signing_id", "1")])).expect("keys");
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
            assert!(ring_from_fields(&bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn without_keys_or_the_development_flag_nothing_loads() {
        let source = KeySource {
            setting: "EVENT_ENTRY_KEYS",
            keys: None,
            signing: None,
            vault: None,
            dev_random: false,
        };
        let refused = load(source, EntryKeys::from).await.expect_err("refused");
        assert!(
            refused.to_string().contains("EVENT_ENTRY_KEYS"),
            "{refused}"
        );
    }
}
