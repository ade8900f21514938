//! [`TransitSigner`]: signatures from Vault's transit engine (OpenBao in development and tests),
//! through `vaultrs`. The key never leaves Vault: we send bytes, Vault signs them with the named
//! ed25519 key's latest version and says which (`vault:v<N>:...`); any version not retired still
//! verifies, so rotation leaves old signatures valid. Verifying needs only the public halves
//! ([`PublicKeys`]): read once, they check any number of signatures here.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ED25519, UnparsedPublicKey};
use vaultrs::api::transit::KeyType;
use vaultrs::api::transit::requests::{CreateKeyRequest, VerifySignedDataRequest};
use vaultrs::api::transit::responses::ReadKeyData;
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;

/// Why Vault could not sign or verify.
#[derive(Debug, thiserror::Error)]
pub enum TransitError {
    /// Vault could not be reached, or refused the request.
    #[error("vault: {0}")]
    Vault(#[from] ClientError),
    /// The settings are unusable.
    #[error("vault settings: {0}")]
    Settings(String),
    /// Vault answered with a signature we cannot read.
    #[error("vault returned a signature of an unknown form: {0}")]
    Malformed(String),
}

/// A signature as Vault returns it, and the key version that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// `vault:v<version>:<base64>`.
    pub text: String,
    pub key_version: u32,
}

impl Signature {
    /// Reads Vault's signature text.
    pub fn parse(text: &str) -> Result<Signature, TransitError> {
        let malformed = || TransitError::Malformed(text.to_owned());
        let rest = text.strip_prefix("vault:v").ok_or_else(malformed)?;
        let (version, body) = rest.split_once(':').ok_or_else(malformed)?;
        let key_version = version.parse().map_err(|_| malformed())?;
        if body.is_empty() {
            return Err(malformed());
        }
        Ok(Signature {
            text: text.to_owned(),
            key_version,
        })
    }
}

/// The public halves of an ed25519 transit key, by version: they verify its signatures here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicKeys {
    keys: BTreeMap<u32, Vec<u8>>,
}

impl PublicKeys {
    /// Keys by version (raw 32-byte ed25519 public keys).
    pub fn new(keys: BTreeMap<u32, Vec<u8>>) -> Self {
        PublicKeys { keys }
    }

    /// Whether `signature` (`vault:v<N>:<base64>`) is key version N's signature of `message`;
    /// false for a version not held, or a signature that cannot be read.
    pub fn verify(&self, message: &[u8], signature: &str) -> bool {
        let Ok(parsed) = Signature::parse(signature) else {
            return false;
        };
        let Some(public) = self.keys.get(&parsed.key_version) else {
            return false;
        };
        let body = signature.rsplit(':').next().unwrap_or_default();
        let Ok(bytes) = STANDARD.decode(body) else {
            return false;
        };
        UnparsedPublicKey::new(&ED25519, public)
            .verify(message, &bytes)
            .is_ok()
    }

    /// The versions held.
    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.keys().copied()
    }
}

/// Signs with one ed25519 key of a transit engine.
pub struct TransitSigner {
    client: VaultClient,
    mount: String,
    key: String,
}

impl TransitSigner {
    /// A signer on Vault at `address` with `token`, using `key` of the engine at `mount`; each
    /// call gives up after `timeout` (Vault away must not hold the caller up for long).
    pub fn new(
        address: &str,
        token: &str,
        mount: &str,
        key: &str,
        timeout: Duration,
    ) -> Result<Self, TransitError> {
        let settings = VaultClientSettingsBuilder::default()
            .address(address)
            .token(token)
            .timeout(Some(timeout))
            .build()
            .map_err(|e| TransitError::Settings(e.to_string()))?;
        Ok(TransitSigner {
            client: VaultClient::new(settings)?,
            mount: mount.to_owned(),
            key: key.to_owned(),
        })
    }

    /// The key's name.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Creates the ed25519 key unless it exists (an existing key is left as it is).
    pub async fn ensure_key(&self) -> Result<(), TransitError> {
        if vaultrs::transit::key::read(&self.client, &self.mount, &self.key)
            .await
            .is_ok()
        {
            return Ok(());
        }
        vaultrs::transit::key::create(
            &self.client,
            &self.mount,
            &self.key,
            Some(CreateKeyRequest::builder().key_type(KeyType::Ed25519)),
        )
        .await?;
        Ok(())
    }

    /// Signs `message` with the key's latest version.
    pub async fn sign(&self, message: &[u8]) -> Result<Signature, TransitError> {
        let signed = vaultrs::transit::data::sign(
            &self.client,
            &self.mount,
            &self.key,
            &STANDARD.encode(message),
            None,
        )
        .await?;
        Signature::parse(&signed.signature)
    }

    /// Whether `signature` is the key's signature of `message` (any version not retired).
    pub async fn verify(&self, message: &[u8], signature: &str) -> Result<bool, TransitError> {
        let verified = vaultrs::transit::data::verify(
            &self.client,
            &self.mount,
            &self.key,
            &STANDARD.encode(message),
            Some(VerifySignedDataRequest::builder().signature(signature)),
        )
        .await;
        match verified {
            Ok(answer) => Ok(answer.valid),
            // Vault refuses to read a signature it cannot parse, or of a version it does not
            // have: not a valid signature of this key either way
            Err(ClientError::APIError { code: 400, .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The key's public halves, every version that still verifies: signatures are then checked
    /// here, without a call to Vault per signature (nor a token that may sign).
    pub async fn public_keys(&self) -> Result<PublicKeys, TransitError> {
        let read = vaultrs::transit::key::read(&self.client, &self.mount, &self.key).await?;
        let ReadKeyData::Asymmetric(versions) = read.keys else {
            return Err(TransitError::Malformed(format!(
                "{} is not an asymmetric key",
                self.key
            )));
        };
        let mut keys = BTreeMap::new();
        for (version, entry) in versions {
            let version: u32 = version
                .parse()
                .map_err(|_| TransitError::Malformed(format!("key version {version:?}")))?;
            if u64::from(version) < read.min_decryption_version {
                continue;
            }
            let public = STANDARD
                .decode(entry.public_key.trim())
                .map_err(|_| TransitError::Malformed(format!("public key of v{version}")))?;
            keys.insert(version, public);
        }
        Ok(PublicKeys { keys })
    }

    /// Rotates the key: new signatures use a new version; old ones still verify.
    pub async fn rotate(&self) -> Result<(), TransitError> {
        vaultrs::transit::key::rotate(&self.client, &self.mount, &self.key).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_name_their_key_version() {
        let s = Signature::parse("vault:v3:abcd").expect("signature");
        assert_eq!(s.key_version, 3);
        for bad in [
            "",
            "vault:v:abc",
            "vault:vx:abc",
            "vault:v1:",
            "v1:abc",
            "vault:v1",
        ] {
            assert!(Signature::parse(bad).is_err(), "{bad:?}");
        }
    }
}
