//! Vault access against a real OpenBao (from `scripts/services`).

mod policies;
mod secrets;
mod transit;
