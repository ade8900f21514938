//! [`TransitSigner`]: signatures from Vault's transit engine (OpenBao in development and tests),
//! through `vaultrs`. The key never leaves Vault: we send bytes, Vault signs them with the named
//! ed25519 key's latest version and says which (`vault:v<N>:...`); any version not retired still
//! verifies, so rotation leaves old signatures valid.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use vaultrs::api::transit::KeyType;
use vaultrs::api::transit::requests::{CreateKeyRequest, VerifySignedDataRequest};
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
