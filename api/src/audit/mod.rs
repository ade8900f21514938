//! The audit trail over HTTP: `GET /api/v1/audit` (entries, newest first; advertisers see those
//! about their own objects) and `GET /api/v1/audit/verify` (the whole chain walked, and every
//! signed checkpoint checked through Vault); and what every admin action records in it
//! ([`change`], by the [`actor::Actor`] that made it).

pub mod change;
pub mod store;

pub use change::Change;
