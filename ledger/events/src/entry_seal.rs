//! Seals on event-stream entries: the tracking endpoint puts an HMAC over an entry's fields in
//! its `seal` field, with a key the ledger writer also holds, and the writer bills only entries
//! whose seal verifies. Whoever can write to Redis but does not hold the key (a client with the
//! stream's password, a compromised neighbour) cannot mint billable events; an entry that fails
//! is dead-lettered and counted, never billed.
//!
//! The seal is `<key id>.<base64url tag>`; the tag is HMAC-SHA256 over every other field in
//! order, each name and value preceded by its length (four bytes, big-endian), so no two lists
//! of fields sign the same bytes. Keys rotate like tracking keys ([`KeyRing`]).

use std::sync::Arc;

use arc_swap::ArcSwap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use daemon::keyring::{KeyError, KeyRing};
use ring::hmac;

/// The name of the field that carries the seal.
pub const SEAL_FIELD: &str = "seal";

/// The entry keys in use, swapped whole when a rotation arrives.
pub type SharedEntryKeys = Arc<ArcSwap<EntryKeys>>;

/// The keys entries are sealed and checked with.
#[derive(Debug)]
pub struct EntryKeys(KeyRing);

impl From<KeyRing> for EntryKeys {
    fn from(ring: KeyRing) -> Self {
        EntryKeys(ring)
    }
}

/// Why an entry's seal was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the entry has no seal")]
    Missing,
    #[error("the entry has more than one seal")]
    Repeated,
    #[error("the entry's seal is not <key id>.<base64url tag>")]
    Malformed,
    #[error("the entry was sealed with key {0}, which this writer does not hold")]
    UnknownKey(u8),
    #[error("the entry's seal does not match its fields")]
    Forged,
}

impl EntryKeys {
    /// Keys from configuration: `ID:KEY,ID:KEY` (base64, at least 32 bytes each); `signing`
    /// names the key that seals, the highest id when `None`.
    pub fn parse(spec: &str, signing: Option<u8>) -> Result<Self, KeyError> {
        KeyRing::parse(spec, signing).map(EntryKeys)
    }

    /// Keys by id; `signing` seals, every key checks.
    pub fn new(signing: u8, keys: Vec<(u8, Vec<u8>)>) -> Result<Self, KeyError> {
        KeyRing::new(signing, keys).map(EntryKeys)
    }

    /// These keys, to be shared (and swapped whole by a rotation).
    pub fn shared(self) -> SharedEntryKeys {
        Arc::new(ArcSwap::from_pointee(self))
    }

    /// The seal of an entry with `fields` (in the order they are appended).
    pub fn seal<'a>(&self, fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> String {
        let tag = hmac::sign(self.0.signing_key(), &sealed_bytes(fields));
        format!(
            "{}.{}",
            self.0.signing_id(),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// Checks the seal of an entry with `fields` as read (the seal among them).
    pub fn check(&self, fields: &[(Vec<u8>, Vec<u8>)]) -> Result<(), SealError> {
        let mut seals = fields
            .iter()
            .filter(|(name, _)| name == SEAL_FIELD.as_bytes());
        let (_, seal) = seals.next().ok_or(SealError::Missing)?;
        if seals.next().is_some() {
            return Err(SealError::Repeated);
        }
        let seal = std::str::from_utf8(seal).map_err(|_| SealError::Malformed)?;
        let (id, tag) = seal.split_once('.').ok_or(SealError::Malformed)?;
        let id: u8 = id.parse().map_err(|_| SealError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| SealError::Malformed)?;
        let key = self.0.key(id).ok_or(SealError::UnknownKey(id))?;
        let sealed = fields
            .iter()
            .filter(|(name, _)| name != SEAL_FIELD.as_bytes())
            .map(|(name, value)| (name.as_slice(), value.as_slice()));
        hmac::verify(key, &sealed_bytes(sealed), &tag).map_err(|_| SealError::Forged)
    }
}

/// What the tag is made over: each name and value after its length.
fn sealed_bytes<'a>(fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(256);
    for (name, value) in fields {
        for part in [name, value] {
            bytes.extend_from_slice(&(part.len() as u32).to_be_bytes());
            bytes.extend_from_slice(part);
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(signing: u8) -> EntryKeys {
        EntryKeys::new(signing, vec![(1, vec![1; 32]), (2, vec![2; 32])]).expect("keys")
    }

    fn sealed(keys: &EntryKeys, fields: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let seal = keys.seal(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = fields
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        out.push((SEAL_FIELD.into(), seal.into_bytes()));
        out
    }

    const FIELDS: [(&str, &str); 3] = [("id", "a:1"), ("kind", "imp"), ("price", "2400000")];

    #[test]
    fn a_sealed_entry_checks_with_any_key_of_the_ring() {
        let entry = sealed(&keys(1), &FIELDS);
        assert_eq!(keys(2).check(&entry), Ok(()), "sealed with 1, 2 signs now");
        let only_two = EntryKeys::new(2, vec![(2, vec![2; 32])]).expect("keys");
        assert_eq!(only_two.check(&entry), Err(SealError::UnknownKey(1)));
    }

    #[test]
    fn a_changed_added_moved_or_removed_field_breaks_the_seal() {
        let keys = keys(1);
        let entry = sealed(&keys, &FIELDS);
        let mut raised = entry.clone();
        raised[2].1 = b"2400001".to_vec();
        let mut added = entry.clone();
        added.insert(1, (b"test".to_vec(), b"1".to_vec()));
        let mut removed = entry.clone();
        removed.remove(1);
        let mut swapped = entry.clone();
        swapped.swap(0, 1);
        // moving bytes between a name and its value
        let mut shifted = entry.clone();
        shifted[0] = (b"ida".to_vec(), b":1".to_vec());
        for forged in [raised, added, removed, swapped, shifted] {
            assert_eq!(keys.check(&forged), Err(SealError::Forged), "{forged:?}");
        }
    }

    #[test]
    fn an_entry_without_one_good_seal_is_refused() {
        let keys = keys(1);
        let unsealed: Vec<(Vec<u8>, Vec<u8>)> = FIELDS
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        assert_eq!(keys.check(&unsealed), Err(SealError::Missing));
        let mut twice = sealed(&keys, &FIELDS);
        twice.push(twice[3].clone());
        assert_eq!(keys.check(&twice), Err(SealError::Repeated));
        for bad in ["", "1", "x.AAAA", "1.***"] {
            let mut entry = unsealed.clone();
            entry.push((SEAL_FIELD.into(), bad.into()));
            assert_eq!(keys.check(&entry), Err(SealError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn another_rings_key_with_the_same_id_does_not_check() {
        let other = EntryKeys::new(1, vec![(1, vec![9; 32])]).expect("keys");
        assert_eq!(
            other.check(&sealed(&keys(1), &FIELDS)),
            Err(SealError::Forged)
        );
    }
}
