//! Integration tests of the event stream and the ledger writer against a real PostgreSQL and
//! Redis (from `scripts/services`), a fresh database per test.

mod writer;
