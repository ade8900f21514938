//! The audit trail as the API writes and shows it: what every admin action records ([`change`],
//! by the [`crate::extract::Actor`] that made it), an entry as listed ([`entry`]), and a
//! verification of the chain as a job ([`verify_job`]). The routes (`/api/v1/audit`,
//! `/api/v1/audit/verifications`) are `routes::audit`.

pub mod change;
pub mod entry;
pub mod verify_job;

pub use change::Change;
