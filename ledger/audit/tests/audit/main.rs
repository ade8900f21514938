//! Integration tests of the audit trail against a real PostgreSQL and OpenBao (from
//! `scripts/services`), a fresh database per test.

mod chain;
mod signed;
mod witness;
