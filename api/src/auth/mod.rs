//! Identity and access: roles, token keys, secret hashing, who may change which user, and the
//! SQL of users and API keys.
//! Where the keys come from is [`crate::key_source`]; the `Auth` extractor is in
//! [`crate::extract`]; sign-in is `routes::auth`.

pub mod keys;
pub mod revocations;
pub mod role;
pub mod secrets;
pub mod sign_in_guard;
pub mod sign_in_policy;
pub mod store;
pub mod user_rules;

pub use role::{Principal, Role};
