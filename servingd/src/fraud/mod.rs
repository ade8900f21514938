//! Fraud level 1: the known-bad sources (IPs and device ids) in a Bloom filter, reloaded from
//! the blocklist whenever it changes.

pub mod blocklist;
pub mod bloom;

pub use blocklist::Blocklist;
pub use bloom::BloomFilter;
