//! servingd: the live ad decision path. For each OpenRTB request it picks the campaign to show,
//! at the right price, within pacing, frequency caps and the budget it holds.
//!
//! # Layout
//!
//! Three layers, each using only those above it in this list:
//!
//! - [`decision`]: the pure logic of a decision: OpenRTB parsing, compiled campaigns and their
//!   index, eligibility, the scan, auctions, pacing, shedding, prices, rates and tracking tokens.
//! - [`runtime`]: the state of a running instance (live index, wallets, caps, pacing board,
//!   tracking keys, metrics) and [`runtime::decide`], where the decision meets its I/O.
//! - [`http`]: the routes: auction, tracking, health, readiness, metrics.
//!
//! Beside them: [`settings`] (defaults and `SERVINGD_*` variables) and [`server`] (connecting,
//! background work, serving and the orderly stop). Logging, stop signals and exit status are
//! the `daemon` crate's, shared by every binary; the load generator is the `loadgen` crate
//! (`servingd/loadgen/`). Fraud checks (levels 1–3) are the `fraud` crate's (`servingd/fraud/`).

pub mod decision;
pub mod flags;
pub mod http;
pub mod runtime;
pub mod server;
pub mod settings;

pub use decision::request::AdRequest;
