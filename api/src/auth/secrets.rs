//! Password and API key hashing (argon2id), and the shape of API keys.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use uuid::Uuid;

/// The prefix of every API key, so a leaked key is recognisable in logs and scanners.
const KEY_PREFIX: &str = "adk_";

/// Hashes a secret (a password or an API key's secret part) with argon2id and a random salt.
pub fn hash(secret: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a secret: {e}"))
}

/// Whether `secret` matches `stored` (a PHC string from [`hash`]).
pub fn verify(secret: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the time of one verification, so an unknown user name answers as slowly as a wrong
/// password and timing does not tell which user names exist.
pub fn verify_nothing(secret: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("not a real secret").unwrap_or_default());
    let _ = verify(secret, stored);
}

/// A new API key: the full key (shown once) and its secret part (stored hashed).
pub fn new_api_key(id: Uuid) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    (format!("{KEY_PREFIX}{}_{secret}", id.simple()), secret)
}

/// Splits a presented API key into its id and secret; `None` when it has not the shape of one.
pub fn parse_api_key(key: &str) -> Option<(Uuid, &str)> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.is_empty() {
        return None;
    }
    Some((Uuid::try_parse(id).ok()?, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_secret_and_nothing_else() {
        let stored = hash("correct horse").expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse", &stored));
        assert!(!verify("correct horse ", &stored));
        assert!(!verify("correct horse", "not a phc string"));
        assert_ne!(hash("correct horse").expect("hash"), stored, "salted");
    }

    #[test]
    fn api_keys_parse_back_to_their_id() {
        let id = Uuid::now_v7();
        let (key, secret) = new_api_key(id);
        assert_eq!(parse_api_key(&key), Some((id, secret.as_str())));
        assert_eq!(parse_api_key("adk_short_x"), None);
        assert_eq!(parse_api_key(&key.replace("adk_", "key_")), None);
        assert_eq!(parse_api_key(&format!("adk_{}_", id.simple())), None);
    }
}
