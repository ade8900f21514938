//! Funding: money in (deposits, credits), balances and statements.

pub mod routes;
