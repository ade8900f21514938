//! Campaign reports: the arithmetic (pure) and the route.

pub mod metrics;
pub mod routes;
