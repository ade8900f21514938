//! Secrets from Vault's KV engine (version 2; OpenBao in development and tests), through
//! `vaultrs`: read a secret's fields, write a new version, and follow a secret so that a new
//! version written by an operator (a key rotation) reaches the running process.
//!
//! A secret's fields are strings, as `bao kv put <path> field=value ...` writes them; each
//! reader gives them the same meaning as its configuration does (see the API's and servingd's
//! settings).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;

/// A secret's fields.
pub type Fields = BTreeMap<String, String>;

/// Why a secret could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Vault could not be reached, refused, or has no such secret.
    #[error("vault: {0}")]
    Vault(#[from] ClientError),
    /// The settings are unusable.
    #[error("vault settings: {0}")]
    Settings(String),
}

/// One KV (version 2) engine of a Vault.
pub struct KvSecrets {
    client: VaultClient,
    mount: String,
}

impl KvSecrets {
    /// The engine at `mount` of Vault at `address`, with `token`; each call gives up after
    /// `timeout`.
    pub fn new(
        address: &str,
        token: &str,
        mount: &str,
        timeout: Duration,
    ) -> Result<Self, SecretsError> {
        let settings = VaultClientSettingsBuilder::default()
            .address(address)
            .token(token)
            .timeout(Some(timeout))
            .build()
            .map_err(|e| SecretsError::Settings(e.to_string()))?;
        Ok(KvSecrets {
            client: VaultClient::new(settings)?,
            mount: mount.to_owned(),
        })
    }

    /// The latest version of the secret at `path`.
    pub async fn read(&self, path: &str) -> Result<Fields, SecretsError> {
        Ok(vaultrs::kv2::read(&self.client, &self.mount, path).await?)
    }

    /// Writes `fields` as the secret's new version; returns the version's number.
    pub async fn write(&self, path: &str, fields: &Fields) -> Result<u64, SecretsError> {
        let written = vaultrs::kv2::set(&self.client, &self.mount, path, fields).await?;
        Ok(written.version)
    }
}

/// Fields from `(name, value)` pairs.
pub fn fields_of(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// `value`, built from the secret's `fields` as read at `path`, shared and kept in line with
/// the secret from now on (see [`follow`], which runs on a task of its own).
pub fn watched<T, E>(
    kv: KvSecrets,
    path: String,
    every: Duration,
    value: T,
    fields: Fields,
    build: impl Fn(&Fields) -> Result<T, E> + Send + 'static,
) -> Arc<ArcSwap<T>>
where
    T: Send + Sync + 'static,
    E: Display + 'static,
{
    let shared = Arc::new(ArcSwap::from_pointee(value));
    tokio::spawn(follow(kv, path, every, shared.clone(), fields, build));
    shared
}

/// Keeps `current` in line with the secret at `path`, reading it every `every`: a new version
/// is turned into a value by `build` and swapped in. `first` is what `current` was built from.
/// A version `build` refuses, or Vault being away, leaves `current` as it is (and says so in
/// the log): a bad rotation never takes the keys away from a running process. Runs until
/// dropped.
pub async fn follow<T, E: Display>(
    kv: KvSecrets,
    path: String,
    every: Duration,
    current: Arc<ArcSwap<T>>,
    first: Fields,
    build: impl Fn(&Fields) -> Result<T, E>,
) {
    let mut last = first;
    loop {
        tokio::time::sleep(every).await;
        let fields = match kv.read(&path).await {
            Ok(fields) => fields,
            Err(e) => {
                tracing::warn!(%path, error = %e, "reading the secret failed; the keys in use stay");
                continue;
            }
        };
        if fields == last {
            continue;
        }
        match build(&fields) {
            Ok(value) => {
                current.store(Arc::new(value));
                tracing::info!(%path, "a new version of the secret is in use");
            }
            Err(e) => {
                tracing::error!(%path, error = %e, "the secret's new version is refused; the keys in use stay");
            }
        }
        last = fields;
    }
}
