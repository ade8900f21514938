//! Integration tests of the admin API over a real PostgreSQL (a fresh database per test) and the
//! Redis that `scripts/services` starts.

mod access;
mod audit;
mod audit_actions;
mod binary;
mod campaigns;
mod feed;
mod fraud;
mod helpers;
mod http;
mod key_rotation;
mod money;
mod openapi;
mod operations;
mod quotas;
mod redis_user;
mod reports;
mod sign_in_limits;
mod tokens;
mod users;

pub use ledger::MIGRATOR;
