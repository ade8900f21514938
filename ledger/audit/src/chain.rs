//! The hash chain: each row's hash covers its position, the previous row's hash and its content's
//! hash (SHA-256 throughout).

use std::fmt;

use ring::digest::{Context, SHA256};

use crate::record::AuditRecord;

/// A SHA-256 hash in the chain.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainHash(pub [u8; 32]);

/// What the first row links to.
pub const GENESIS: ChainHash = ChainHash([0; 32]);

impl ChainHash {
    /// The hash from stored bytes, when they are 32 of them.
    pub fn from_slice(bytes: &[u8]) -> Option<ChainHash> {
        <[u8; 32]>::try_from(bytes).ok().map(ChainHash)
    }

    /// The hash from 64 hex digits.
    pub fn from_hex(text: &str) -> Option<ChainHash> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut out = [0; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(ChainHash(out))
    }

    /// Lower-case hex, as APIs show it.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

fn sha256(parts: &[&[u8]]) -> ChainHash {
    let mut context = Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0; 32];
    out.copy_from_slice(context.finish().as_ref());
    ChainHash(out)
}

/// The hash of a record's content (its canonical bytes).
pub fn content_hash(record: &AuditRecord) -> ChainHash {
    sha256(&[&record.canonical_bytes()])
}

/// The hash of the row at `position` (from 1) after a row hashed `prev` (the first row links to
/// [`GENESIS`]), with content hashed `content`.
pub fn link_hash(position: u64, prev: &ChainHash, content: &ChainHash) -> ChainHash {
    sha256(&[
        b"adplat-audit-link-v1",
        &position.to_be_bytes(),
        &prev.0,
        &content.0,
    ])
}

/// A row's place in the chain: what it links to and its own hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub position: u64,
    pub prev: ChainHash,
    pub hash: ChainHash,
}

/// The chain's end: how many rows it has, and the last row's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub size: u64,
    pub hash: ChainHash,
}

impl Link {
    /// The link of `record` appended after `previous` (`None`: the first row).
    pub fn after(previous: Option<&Link>, record: &AuditRecord) -> Link {
        Link::next(previous.map(Link::head), record)
    }

    /// The link of `record` appended at the end of a chain ending at `head` (`None`: empty).
    pub fn next(head: Option<Head>, record: &AuditRecord) -> Link {
        let (position, prev) = match head {
            Some(h) => (h.size + 1, h.hash),
            None => (1, GENESIS),
        };
        Link {
            position,
            prev,
            hash: link_hash(position, &prev, &content_hash(record)),
        }
    }

    /// The chain's end once this row is its last.
    pub fn head(&self) -> Head {
        Head {
            size: self.position,
            hash: self.hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::record;

    #[test]
    fn a_known_input_has_a_known_hash() {
        // SHA-256 of the empty string, so the digest is wired the standard way round
        assert_eq!(
            sha256(&[]).to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn position_previous_hash_and_content_all_count() {
        let (a, b) = (content_hash(&record(1)), content_hash(&record(2)));
        let base = link_hash(5, &GENESIS, &a);
        assert_ne!(base, link_hash(6, &GENESIS, &a));
        assert_ne!(base, link_hash(5, &a, &a));
        assert_ne!(base, link_hash(5, &GENESIS, &b));
        assert_eq!(base, link_hash(5, &GENESIS, &a));
    }

    #[test]
    fn links_follow_one_another() {
        let first = Link::after(None, &record(1));
        let second = Link::after(Some(&first), &record(2));
        assert_eq!((first.position, first.prev), (1, GENESIS));
        assert_eq!((second.position, second.prev), (2, first.hash));
        assert_eq!(
            ChainHash::from_slice(&second.hash.0),
            Some(second.hash),
            "round-trips through stored bytes"
        );
        assert_eq!(ChainHash::from_slice(&[1, 2, 3]), None);
    }
}
