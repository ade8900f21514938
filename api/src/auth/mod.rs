//! Identity and access: roles, token keys, secret hashing, the `Auth` extractor, sign-in.

pub mod extract;
pub mod key_source;
pub mod keys;
pub mod role;
pub mod routes;
pub mod secrets;
pub mod store;

pub use extract::Auth;
pub use role::{Principal, Role};
