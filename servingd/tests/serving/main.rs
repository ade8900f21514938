//! servingd's tests beyond single functions: the pacing simulation and index swaps (pure), and
//! the daemon over HTTP against a real API, PostgreSQL and Redis.

mod auction_http;
mod binaries;
mod caps_and_leases;
mod crash_billing;
mod feed_pages;
mod fraud_scorer;
mod heartbeat;
mod helpers;
mod index_swaps;
mod metrics_help;
mod openapi_doc;
mod pacing_simulation;
mod partners_http;
mod serving_clock;
mod tracking_http;
mod tracking_keys_vault;
mod worker_metrics;
mod writer_process;
