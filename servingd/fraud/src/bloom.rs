//! A Bloom filter sized from the number of items and a target false-positive rate: never a false
//! negative, false positives at about the target rate when it holds as many items as it was
//! sized for.
//!
//! With `n` items and rate `p`, it has `m = ⌈-n·ln p / (ln 2)²⌉` bits and `k = round(m/n · ln 2)`
//! hash functions, derived from two 64-bit hashes of the item (`h1 + i·h2`, Kirsch and
//! Mitzenmacher), so a lookup hashes the item twice whatever `k` is.

use std::hash::{BuildHasher, Hasher};

/// Fixed seeds: a filter built in one process answers the same in another.
const SEED_A: u64 = 0x243F_6A88_85A3_08D3;
const SEED_B: u64 = 0x1319_8A2E_0370_7344;

/// A Bloom filter over byte strings.
#[derive(Debug, Clone)]
pub struct BloomFilter {
    words: Vec<u64>,
    bits: u64,
    hashes: u32,
}

impl BloomFilter {
    /// Sized for `items` items at false-positive rate `rate` (clamped to 1e-9..0.5); at least
    /// one item and 64 bits.
    pub fn with_rate(items: usize, rate: f64) -> Self {
        let n = items.max(1) as f64;
        let p = rate.clamp(1e-9, 0.5);
        let ln2 = std::f64::consts::LN_2;
        let bits = ((-n * p.ln()) / (ln2 * ln2)).ceil().max(64.0) as u64;
        let hashes = ((bits as f64 / n) * ln2).round().clamp(1.0, 30.0) as u32;
        BloomFilter {
            words: vec![0; bits.div_ceil(64) as usize],
            bits,
            hashes,
        }
    }

    /// Bits in the filter.
    pub fn bits(&self) -> u64 {
        self.bits
    }

    /// Hash functions per item.
    pub fn hashes(&self) -> u32 {
        self.hashes
    }

    /// Memory taken by the bits, bytes.
    pub fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    fn positions(&self, parts: &[&[u8]]) -> impl Iterator<Item = u64> + use<> {
        let h1 = hash(SEED_A, parts);
        // odd, so the steps visit distinct positions
        let h2 = hash(SEED_B, parts) | 1;
        let bits = self.bits;
        (0..u64::from(self.hashes)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % bits)
    }

    pub fn insert(&mut self, item: &[u8]) {
        self.insert_parts(&[item]);
    }

    /// Inserts the item made of `parts` one after the other (no copy into one buffer).
    pub fn insert_parts(&mut self, parts: &[&[u8]]) {
        for at in self.positions(parts) {
            self.words[(at / 64) as usize] |= 1 << (at % 64);
        }
    }

    /// `false`: certainly not inserted; `true`: inserted, or a false positive.
    pub fn contains(&self, item: &[u8]) -> bool {
        self.contains_parts(&[item])
    }

    /// [`BloomFilter::contains`] of the item made of `parts`.
    pub fn contains_parts(&self, parts: &[&[u8]]) -> bool {
        self.positions(parts)
            .all(|at| self.words[(at / 64) as usize] & (1 << (at % 64)) != 0)
    }
}

/// The hash of the parts' concatenation (SipHash streams, so the split does not matter).
pub(crate) fn hash(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut h = FixedState(seed).build_hasher();
    for part in parts {
        h.write(part);
    }
    h.finish()
}

/// SipHash with fixed keys.
struct FixedState(u64);

impl BuildHasher for FixedState {
    type Hasher = std::hash::DefaultHasher;
    fn build_hasher(&self) -> Self::Hasher {
        let mut h = std::hash::DefaultHasher::new();
        h.write_u64(self.0);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_is_sized_by_the_textbook_formulas() {
        let f = BloomFilter::with_rate(100_000, 0.01);
        // m = 100000 · 4.605 / 0.4805 = 958,506 bits, k = 9.585 · 0.693 = 6.6 → 7
        assert_eq!(f.bits(), 958_506);
        assert_eq!(f.hashes(), 7);
        assert_eq!(f.bytes(), 958_506_usize.div_ceil(64) * 8);
        let tiny = BloomFilter::with_rate(0, 0.01);
        assert!(tiny.bits() >= 64 && tiny.hashes() >= 1);
    }

    #[test]
    fn an_item_in_parts_is_the_item_whole() {
        let mut f = BloomFilter::with_rate(100, 0.001);
        f.insert_parts(&[b"ip:", b"203.0.113.9"]);
        assert!(f.contains(b"ip:203.0.113.9"));
        assert!(f.contains_parts(&[b"ip:203", b".0.113.9"]));
    }

    #[test]
    fn members_are_always_found() {
        let mut f = BloomFilter::with_rate(10_000, 0.001);
        for n in 0..10_000_u32 {
            f.insert(format!("ip:10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255).as_bytes());
        }
        for n in 0..10_000_u32 {
            assert!(
                f.contains(format!("ip:10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255).as_bytes())
            );
        }
    }

    /// The bound: on a million non-members the measured rate is within 1.5 × target.
    #[test]
    fn false_positives_on_a_million_non_members_stay_within_one_and_a_half_times_the_target() {
        for (items, rate) in [(100_000, 0.01), (50_000, 0.001)] {
            let mut f = BloomFilter::with_rate(items, rate);
            for n in 0..items {
                f.insert(format!("device:member-{n}").as_bytes());
            }
            let trials = 1_000_000;
            let false_positives = (0..trials)
                .filter(|n| f.contains(format!("device:stranger-{n}").as_bytes()))
                .count();
            let measured = false_positives as f64 / trials as f64;
            assert!(
                measured <= rate * 1.5,
                "n {items}, target {rate}: measured {measured} ({false_positives} of {trials})"
            );
            assert!(measured > rate * 0.5, "suspiciously low: {measured}");
        }
    }
}
