//! Vault access for every binary (OpenBao in development and tests), through `vaultrs`.
//!
//! - [`secrets`]: KV secrets: read a secret's fields, write a version, and follow a secret so a
//!   rotation reaches the running process (the API's signing keys, servingd's tracking keys).
//! - [`transit`]: signatures from the transit engine, the key never leaving Vault (the audit
//!   trail's checkpoints).

pub mod secrets;
pub mod transit;

/// How long a call to Vault (secrets or transit) may take before the caller gives up: Vault away
/// must not hold anything up for long.
pub const VAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
