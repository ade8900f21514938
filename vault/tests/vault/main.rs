//! Vault access against a real OpenBao (from `scripts/services`).

mod secrets;
mod transit;
