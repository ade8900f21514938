//! Fraud level 1: the list of known-bad IPs and device ids that servingd neither bids for nor
//! bills (`/api/v1/fraud/blocklist`).

pub mod store;
