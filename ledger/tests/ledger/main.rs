//! Integration tests of the ledger against a real PostgreSQL (from `scripts/services`), a fresh
//! database per test.

mod helpers;

mod audit_log;
mod audit_vault;
mod batches;
mod budget_controller;
mod budget_redis;
mod budget_redis_loss;
mod budget_simulation;
mod budget_wallet;
mod concurrency;
mod direct_sql;
mod events_writer;
mod idempotency;
mod landed_migrations;
mod pending;
mod statements;
mod validation;
mod vault_secrets;
