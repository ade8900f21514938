//! Token keys: ed25519 key pairs named by a key id (`kid`), one of which signs while every
//! configured key verifies. Rotation: add a new key and make it the signer; keep the old one
//! (its public half is enough) until every token it signed has expired; then remove it.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::role::{Principal, Role};
use ledger::AdvertiserId;

/// Why a token was refused. Every variant is a 401; the reason is logged, not shown.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token cannot be read: {0}")]
    Malformed(String),
    #[error("the token names no key id")]
    NoKeyId,
    #[error("the token's key id {0:?} is not known")]
    UnknownKey(String),
    #[error("the token does not verify: {0}")]
    Invalid(String),
    #[error("the token's role or advertiser is not valid")]
    BadClaims,
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// The user or API key.
    pub sub: String,
    pub role: String,
    /// The advertiser an `advertiser` token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adv: Option<String>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The user's token version when it was issued: a change to the user (password, role,
    /// standing) moves the version on, and older tokens are refused. Keys are always 0.
    #[serde(default)]
    pub ver: u32,
}

/// A verified token: who it stands for, and the version of that principal's tokens it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub principal: Principal,
    pub version: u32,
}

/// One configured key: always the public half; the private half only where this instance signs.
struct Key {
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
}

/// The keys, the signer, and the checks every token must pass.
pub struct TokenKeys {
    keys: HashMap<String, Key>,
    signing_kid: String,
    issuer: String,
    audience: String,
    validation: Validation,
}

/// A key as configuration gives it: an id and either a PKCS#8 private key or a raw public key,
/// both base64.
#[derive(Debug, Clone, Deserialize)]
pub struct KeySpec {
    pub kid: String,
    /// base64 PKCS#8 document of an ed25519 key pair (this instance can sign with it).
    pub private_pkcs8: Option<String>,
    /// base64 raw 32-byte ed25519 public key (verify only: a key being retired).
    pub public: Option<String>,
}

impl TokenKeys {
    /// Loads the keys; `signing_kid` must name one with a private half.
    pub fn new(
        specs: &[KeySpec],
        signing_kid: &str,
        issuer: &str,
        audience: &str,
    ) -> anyhow::Result<Self> {
        let mut keys = HashMap::new();
        for spec in specs {
            keys.insert(spec.kid.clone(), load(spec)?);
        }
        if specs.is_empty() {
            anyhow::bail!(
                "no token keys: set ADPLAT_API_JWT_KEYS (--jwt-keys; `api gen-key` makes one) \
                 and ADPLAT_API_JWT_SIGNING_KID (--jwt-signing-kid), or keep them in Vault \
                 (ADPLAT_API_JWT_VAULT_PATH)"
            );
        }
        if keys
            .get(signing_kid)
            .is_none_or(|k: &Key| k.encoding.is_none())
        {
            anyhow::bail!(
                "the signing key {signing_kid:?} (ADPLAT_API_JWT_SIGNING_KID) is not among the \
                 token keys with a private half"
            );
        }
        // One algorithm only: a token claiming any other (none, HS256, RS256...) is refused
        // before any key is tried, which closes the algorithm-confusion attacks.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 5;
        Ok(TokenKeys {
            keys,
            signing_kid: signing_kid.to_owned(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            validation,
        })
    }

    /// Issues a token for `principal` (at token version 0), valid from `now_s` for `ttl_s`
    /// seconds.
    pub fn issue(&self, principal: &Principal, now_s: i64, ttl_s: i64) -> anyhow::Result<String> {
        self.issue_at(principal, 0, now_s, ttl_s)
    }

    /// Issues a token for `principal` at its token version `version`.
    pub fn issue_at(
        &self,
        principal: &Principal,
        version: u32,
        now_s: i64,
        ttl_s: i64,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: principal.id.to_string(),
            role: principal.role.as_str().to_owned(),
            adv: principal.advertiser.map(|a| a.0.to_string()),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now_s,
            nbf: now_s,
            exp: now_s + ttl_s,
            jti: Uuid::now_v7().to_string(),
            ver: version,
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims with the signing key (tests use it to build bad tokens).
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let key = self
            .keys
            .get(&self.signing_kid)
            .and_then(|k| k.encoding.as_ref())
            .ok_or_else(|| anyhow::anyhow!("no signing key"))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, key)?)
    }

    /// Verifies a token and returns the principal it stands for.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        self.verify_versioned(token).map(|v| v.principal)
    }

    /// Verifies a token and returns the principal and the token version it carries.
    pub fn verify_versioned(&self, token: &str) -> Result<Verified, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        let kid = header.kid.ok_or(TokenError::NoKeyId)?;
        let key = self
            .keys
            .get(&kid)
            .ok_or_else(|| TokenError::UnknownKey(kid.clone()))?;
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        Ok(Verified {
            principal: principal_of(&data.claims)?,
            version: data.claims.ver,
        })
    }

    /// The issuer tokens carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience tokens carry.
    pub fn audience(&self) -> &str {
        &self.audience
    }
}

fn principal_of(claims: &Claims) -> Result<Principal, TokenError> {
    let id = Uuid::try_parse(&claims.sub).map_err(|_| TokenError::BadClaims)?;
    let role: Role = claims.role.parse().map_err(|_| TokenError::BadClaims)?;
    let advertiser = match &claims.adv {
        Some(a) => Some(AdvertiserId(
            Uuid::try_parse(a).map_err(|_| TokenError::BadClaims)?,
        )),
        None => None,
    };
    if (role == Role::Advertiser) != advertiser.is_some() {
        return Err(TokenError::BadClaims);
    }
    Ok(Principal {
        id,
        role,
        advertiser,
    })
}

fn load(spec: &KeySpec) -> anyhow::Result<Key> {
    let kid = &spec.kid;
    match (&spec.private_pkcs8, &spec.public) {
        (Some(private), _) => {
            let der = STANDARD
                .decode(private.trim())
                .map_err(|e| anyhow::anyhow!("key {kid}: private key is not base64: {e}"))?;
            let pair = Ed25519KeyPair::from_pkcs8(&der)
                .map_err(|e| anyhow::anyhow!("key {kid}: not an ed25519 PKCS#8 key: {e}"))?;
            Ok(Key {
                decoding: DecodingKey::from_ed_der(pair.public_key().as_ref()),
                encoding: Some(EncodingKey::from_ed_der(&der)),
            })
        }
        (None, Some(public)) => {
            let raw = STANDARD
                .decode(public.trim())
                .map_err(|e| anyhow::anyhow!("key {kid}: public key is not base64: {e}"))?;
            anyhow::ensure!(
                raw.len() == 32,
                "key {kid}: an ed25519 public key is 32 bytes"
            );
            Ok(Key {
                decoding: DecodingKey::from_ed_der(&raw),
                encoding: None,
            })
        }
        (None, None) => anyhow::bail!("key {kid}: neither a private nor a public key"),
    }
}

/// A new ed25519 key pair as base64 PKCS#8, and its public half as base64.
pub fn generate_key() -> anyhow::Result<(String, String)> {
    let rng = ring::rand::SystemRandom::new();
    let der = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|e| anyhow::anyhow!("generating a key: {e}"))?;
    let pair = Ed25519KeyPair::from_pkcs8(der.as_ref())
        .map_err(|e| anyhow::anyhow!("reading the new key: {e}"))?;
    Ok((
        STANDARD.encode(der.as_ref()),
        STANDARD.encode(pair.public_key().as_ref()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(kid: &str) -> (TokenKeys, KeySpec) {
        let (private, _) = generate_key().expect("key");
        let spec = KeySpec {
            kid: kid.to_owned(),
            private_pkcs8: Some(private),
            public: None,
        };
        let keys = TokenKeys::new(std::slice::from_ref(&spec), kid, "iss", "aud").expect("keys");
        (keys, spec)
    }

    fn admin() -> Principal {
        Principal {
            id: Uuid::now_v7(),
            role: Role::Admin,
            advertiser: None,
        }
    }

    #[test]
    fn an_issued_token_verifies_to_its_principal() {
        let (keys, _) = keys("k1");
        let now = chrono::Utc::now().timestamp();
        let token = keys.issue(&admin(), now, 60).expect("issue");
        assert_eq!(keys.verify(&token).map(|p| p.role), Ok(Role::Admin));
    }

    #[test]
    fn old_keys_verify_after_rotation_until_removed() {
        let (old, old_spec) = keys("k1");
        let now = chrono::Utc::now().timestamp();
        let token = old.issue(&admin(), now, 60).expect("issue");
        let (new_private, _) = generate_key().expect("key");
        let public = {
            let der = STANDARD
                .decode(old_spec.private_pkcs8.as_deref().unwrap_or(""))
                .expect("b64");
            let pair = Ed25519KeyPair::from_pkcs8(&der).expect("pair");
            STANDARD.encode(pair.public_key().as_ref())
        };
        let new_spec = KeySpec {
            kid: "k2".into(),
            private_pkcs8: Some(new_private),
            public: None,
        };
        let retiring = KeySpec {
            kid: "k1".into(),
            private_pkcs8: None,
            public: Some(public),
        };
        let rotated =
            TokenKeys::new(&[new_spec.clone(), retiring], "k2", "iss", "aud").expect("keys");
        assert!(rotated.verify(&token).is_ok(), "the old key still verifies");
        let retired = TokenKeys::new(&[new_spec], "k2", "iss", "aud").expect("keys");
        assert_eq!(
            retired.verify(&token),
            Err(TokenError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn a_signer_needs_a_private_key() {
        let spec = KeySpec {
            kid: "k".into(),
            private_pkcs8: None,
            public: Some(STANDARD.encode([7u8; 32])),
        };
        assert!(TokenKeys::new(&[spec], "k", "iss", "aud").is_err());
    }
}
