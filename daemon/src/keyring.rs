//! [`KeyRing`]: HMAC-SHA256 keys with one-byte ids, one of which signs while every one verifies,
//! so that a key is rotated without a gap: add the new key and make it the signer, drop the old
//! one once nothing it signed is still presented. Configured as `ID:KEY,ID:KEY` with each key in
//! base64 (url-safe or standard). Tracking tokens and event-stream seals each have their own.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use ring::hmac;

/// Shortest key accepted, bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// Why keys were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no keys are given")]
    Empty,
    #[error("key {0:?} is not ID:BASE64 with a numeric id from 0 to 255")]
    Shape(String),
    #[error("key {0} is not valid base64url or base64")]
    Encoding(u8),
    #[error("key {id} has {bytes} bytes; at least {MIN_KEY_BYTES} are needed")]
    TooShort { id: u8, bytes: usize },
    #[error("key {0} is given twice")]
    Duplicate(u8),
    #[error("the signing key {0} is not among the keys")]
    NoSigningKey(u8),
}

/// Keys by id; one signs, all verify.
pub struct KeyRing {
    signing: u8,
    keys: Vec<(u8, hmac::Key)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u8> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("KeyRing")
            .field("signing", &self.signing)
            .field("ids", &ids)
            .finish()
    }
}

impl KeyRing {
    /// Keys by id; `signing` signs, every key verifies.
    pub fn new(signing: u8, keys: Vec<(u8, Vec<u8>)>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        let mut out: Vec<(u8, hmac::Key)> = Vec::with_capacity(keys.len());
        for (id, secret) in keys {
            if secret.len() < MIN_KEY_BYTES {
                return Err(KeyError::TooShort {
                    id,
                    bytes: secret.len(),
                });
            }
            if out.iter().any(|(k, _)| *k == id) {
                return Err(KeyError::Duplicate(id));
            }
            out.push((id, hmac::Key::new(hmac::HMAC_SHA256, &secret)));
        }
        if !out.iter().any(|(id, _)| *id == signing) {
            return Err(KeyError::NoSigningKey(signing));
        }
        Ok(KeyRing { signing, keys: out })
    }

    /// Keys from configuration: `ID:KEY,ID:KEY`; `signing` names the key that signs, the
    /// highest id when `None`.
    pub fn parse(spec: &str, signing: Option<u8>) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let shape = || KeyError::Shape(entry.chars().take(4).collect::<String>() + "…");
            let (id, key) = entry.split_once(':').ok_or_else(shape)?;
            let id: u8 = id.trim().parse().map_err(|_| shape())?;
            let key = key.trim();
            let secret = URL_SAFE_NO_PAD
                .decode(key.trim_end_matches('='))
                .or_else(|_| STANDARD.decode(key))
                .map_err(|_| KeyError::Encoding(id))?;
            keys.push((id, secret));
        }
        let signing = signing
            .or_else(|| keys.iter().map(|(id, _)| *id).max())
            .ok_or(KeyError::Empty)?;
        KeyRing::new(signing, keys)
    }

    /// One fresh random key (id 0), for development: what it signs dies with the process.
    pub fn generated() -> Self {
        let mut secret = vec![0_u8; MIN_KEY_BYTES];
        rand::rng().fill_bytes(&mut secret);
        KeyRing {
            signing: 0,
            keys: vec![(0, hmac::Key::new(hmac::HMAC_SHA256, &secret))],
        }
    }

    /// The id of the key that signs.
    pub fn signing_id(&self) -> u8 {
        self.signing
    }

    /// The key that signs.
    pub fn signing_key(&self) -> &hmac::Key {
        // `new` and `generated` make sure the signing key is among the keys
        self.key(self.signing).unwrap_or(&self.keys[0].1)
    }

    /// The key with `id`, if configured.
    pub fn key(&self, id: u8) -> Option<&hmac::Key> {
        self.keys.iter().find(|(k, _)| *k == id).map(|(_, key)| key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B64_1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const STD64_2: &str = "HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=";

    #[test]
    fn the_highest_id_signs_unless_named_and_debug_hides_the_keys() {
        let both = format!("1:{B64_1}, 2:{STD64_2}");
        let ring = KeyRing::parse(&both, None).expect("keys");
        assert_eq!(ring.signing_id(), 2);
        assert!(
            !format!("{ring:?}").contains(B64_1),
            "Debug shows no secret"
        );
        let ring = KeyRing::parse(&both, Some(1)).expect("keys");
        assert_eq!(ring.signing_id(), 1);
        assert!(ring.key(2).is_some() && ring.key(3).is_none());
    }

    #[test]
    fn bad_keys_are_refused_by_what_is_wrong() {
        let refused = |spec: &str, signing| KeyRing::parse(spec, signing).err();
        assert_eq!(refused("", None), Some(KeyError::Empty));
        assert!(matches!(
            refused("one:AAAA", None),
            Some(KeyError::Shape(_))
        ));
        assert_eq!(refused("1:***", None), Some(KeyError::Encoding(1)));
        assert_eq!(
            refused("1:AAAAAAAAAAA", None),
            Some(KeyError::TooShort { id: 1, bytes: 8 })
        );
        assert_eq!(
            refused(&format!("1:{B64_1},1:{B64_1}"), None),
            Some(KeyError::Duplicate(1))
        );
        assert_eq!(
            refused(&format!("1:{B64_1}"), Some(3)),
            Some(KeyError::NoSigningKey(3))
        );
    }
}
