//! Maps and sets keyed by campaign ids on the request path, with a multiply-and-rotate hasher
//! instead of SipHash. The ids are UUIDs the platform generates (their low bits random), so a
//! cheap mix spreads them well, and SipHash's defence against keys chosen by an attacker buys
//! nothing. Keys that come from requests keep the standard hasher.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by platform-generated ids.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A set of platform-generated ids.
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

/// Folds each 8-byte word into the state with a rotate, xor and multiply (the Fx mix), and
/// rotates the result.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.add(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    /// A multiply carries entropy only upwards; the rotation brings the well-mixed high bits
    /// down to where a table picks its bucket.
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn ids_spread_over_the_buckets_of_a_table() {
        // the low bits pick a bucket: ids made in one millisecond must not collide there
        let mut buckets = [0u32; 256];
        for _ in 0..25_600 {
            let mut h = IdHasher::default();
            std::hash::Hash::hash(&Uuid::now_v7(), &mut h);
            buckets[(h.finish() & 255) as usize] += 1;
        }
        let (min, max) = (buckets.iter().min(), buckets.iter().max());
        assert!(
            min.is_some_and(|m| *m > 50) && max.is_some_and(|m| *m < 160),
            "{min:?}..{max:?} per bucket, 100 expected"
        );
    }

    #[test]
    fn a_map_finds_what_it_holds() {
        let ids: Vec<Uuid> = (0..1_000).map(|_| Uuid::new_v4()).collect();
        let map: IdMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        assert!(
            ids.iter()
                .enumerate()
                .all(|(i, id)| map.get(id) == Some(&i))
        );
        assert_eq!(map.get(&Uuid::new_v4()), None);
    }
}
