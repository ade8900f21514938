//! The audit trail over HTTP: `GET /api/v1/audit` (entries, newest first; advertisers see those
//! about their own objects) and `GET /api/v1/audit/verify` (the whole chain walked, and every
//! signed checkpoint checked through Vault).

pub mod routes;
pub mod store;
