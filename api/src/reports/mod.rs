//! Campaign reports and today's pacing: the arithmetic (pure); the routes are `routes::reports`
//! and `routes::pacing`.

pub mod metrics;
pub mod pacing;
pub mod today;
