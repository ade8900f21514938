//! Fraud checks at serving time. Level 1: the known-bad sources (IPs and device ids) in a Bloom
//! filter, reloaded from the blocklist whenever it changes. Level 2: per-IP and per-device
//! activity windows in Redis, scored per event.

pub mod blocklist;
pub mod bloom;
pub mod score;
pub mod windows;

pub use blocklist::Blocklist;
pub use bloom::BloomFilter;
