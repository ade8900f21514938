//! What a checkpoint's signature covers: the chain's size and the hash of its last row then.

use crate::chain::ChainHash;

/// The bytes a signer signs for the chain's head at `size` rows.
pub fn checkpoint_message(size: u64, head: &ChainHash) -> Vec<u8> {
    let tag = b"adplat-audit-checkpoint-v1";
    let mut out = Vec::with_capacity(tag.len() + 8 + 32);
    out.extend_from_slice(tag);
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&head.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_head_are_both_signed() {
        let (a, b) = (ChainHash([1; 32]), ChainHash([2; 32]));
        assert_ne!(checkpoint_message(1, &a), checkpoint_message(2, &a));
        assert_ne!(checkpoint_message(1, &a), checkpoint_message(1, &b));
        assert_eq!(checkpoint_message(1, &a), checkpoint_message(1, &a));
    }
}
