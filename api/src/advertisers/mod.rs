//! Advertisers, and the users and API keys that act for them (and for staff); what each may
//! have at most ([`quotas`]).

pub mod quotas;
pub mod store;
