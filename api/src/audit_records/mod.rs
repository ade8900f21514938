//! The audit trail as the API writes and shows it: what every admin action records ([`change`],
//! by the [`crate::extract::Actor`] that made it) and an entry as listed ([`entry`]). The routes
//! (`GET /api/v1/audit`, `GET /api/v1/audit/verify`) are `routes::audit`.

pub mod change;
pub mod entry;

pub use change::Change;
