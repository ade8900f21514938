//! Advertisers, and the users and API keys that act for them (and for staff).

pub mod store;
