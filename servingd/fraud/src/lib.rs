//! Fraud checks. Level 1: the known-bad sources (IPs and device ids) in a Bloom filter,
//! reloaded from the blocklist whenever it changes. Level 2: per-IP and per-device activity
//! windows in Redis, scored per event as it is tracked. Level 3: the recent events judged
//! together after the fact; convicted sources' billed ads refunded, the sources blocklisted.

pub mod blocklist;
pub mod blocklist_store;
pub mod bloom;
pub mod offline;
pub mod score;
pub mod scorer;
pub mod scorer_status;
pub mod windows;

pub use blocklist::Blocklist;
pub use bloom::BloomFilter;
