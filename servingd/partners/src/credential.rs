//! A partner's credential: `sp_` and 43 characters of base64url over 32 random bytes, sent as
//! `Authorization: Bearer <credential>` with each bid request. It has 256 bits of entropy, so a
//! plain SHA-256 of it is what is stored and looked up (a slow password hash would protect
//! nothing more and cost every bid request); the text is shown once, when it is made.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use ring::digest;

/// What every credential starts with.
pub const PREFIX: &str = "sp_";
/// Characters of a credential kept in the clear to tell credentials apart.
const SHOWN: usize = 10;

/// A credential's text, just made.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(String);

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({}…)", self.prefix())
    }
}

impl Credential {
    /// A new random credential.
    pub fn generate() -> Self {
        let mut secret = [0_u8; 32];
        rand::rng().fill_bytes(&mut secret);
        Credential(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(secret)))
    }

    /// The text, to be shown once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored to look it up.
    pub fn hash(&self) -> [u8; 32] {
        hash(&self.0)
    }

    /// The start of the text, kept to tell credentials apart in listings.
    pub fn prefix(&self) -> &str {
        &self.0[..SHOWN.min(self.0.len())]
    }
}

/// The SHA-256 of presented text.
pub fn hash(text: &str) -> [u8; 32] {
    let mut out = [0_u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, text.as_bytes()).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_random_prefixed_and_hashed_stably() {
        let a = Credential::generate();
        let b = Credential::generate();
        assert_ne!(a, b);
        assert!(a.expose().starts_with(PREFIX));
        assert_eq!(a.expose().len(), PREFIX.len() + 43);
        assert_eq!(a.hash(), hash(a.expose()));
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.prefix().len(), 10);
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
