//! Budgets delivered end to end under load, in a test binary of its own: its traffic reaches
//! the process-wide metrics that the other serving tests count exactly.

mod budget_delivery;
// the serving tests' helpers; this binary uses a few of them
#[allow(dead_code)]
#[path = "../serving/helpers.rs"]
mod helpers;
