//! servingd's state at run time, and where the pure decision meets I/O: the live campaign index
//! fed from the API, this instance's wallets of leased budget, frequency caps in Redis, the
//! pacing board, the tracking and entry keys from Vault, the request path's metrics, and the state that
//! holds them for the handlers and background tasks.
//!
//! - [`api_session`]: signed in to the API with the service key.
//! - [`feed`]: following the API's campaign feed into the live index.
//! - [`heartbeat`]: telling the API this instance is alive, and the feed revision it serves.
//! - [`wallets`]: this instance's wallets: leases spent in memory, refilled in the background.
//! - [`caps`]: frequency caps in Redis (one script per check-and-count).
//! - [`pacing_board`]: pacing at run time: each campaign's throttle, stepped every second.
//! - [`key_rings`]: the tracking URLs' signing keys and the event entries' sealing keys, from
//!   Vault or the settings.
//! - [`serving_state`]: [`serving_state::ServingState`], what a running servingd shares between
//!   its handlers and background tasks.
//! - [`decide`]: one request's decision end to end.
//! - [`request_metrics`]: the request path's metric handles, registered once.
//! - [`metric_families`]: every metric family's HELP text and unit, and counters at zero.
//! - [`latency`]: fixed-bucket latency histograms (two atomic adds per record).

pub mod api_session;
pub mod caps;
pub mod decide;
pub mod feed;
pub mod heartbeat;
pub mod key_rings;
pub mod latency;
pub mod metric_families;
pub mod pacing_board;
pub mod request_metrics;
pub mod serving_state;
pub mod wallets;
