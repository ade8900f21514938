//! Integration tests of the ledger against a real PostgreSQL (from `scripts/services`), a fresh
//! database per test.

use ledger::fixtures as helpers;

mod batches;
mod concurrency;
mod direct_sql;
mod idempotency;
mod landed_migrations;
mod pending;
mod statements;
mod validation;
