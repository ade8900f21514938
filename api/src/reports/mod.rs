//! Campaign reports: the arithmetic (pure); the route is `routes::reports`.

pub mod metrics;
