//! Integration tests of the budget controller and the wallet against a real PostgreSQL and Redis
//! (from `scripts/services`), a fresh database per test.

mod controller;
mod redis_loss;
mod redis_store;
mod simulation;
mod wallet;
