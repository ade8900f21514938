//! servingd: the live ad decision path. For each OpenRTB request it picks the campaign to show,
//! at the right price, within pacing, frequency caps and the budget it holds.
//!
//! # Layout
//!
//! - [`openrtb`]: the wire format: parsing a `BidRequest` into an [`AdRequest`], the response.
//! - [`request`]: the ad request in servingd's own terms.
//! - [`campaign`]: campaigns as the feed sends them, compiled for serving.
//! - [`index`]: the in-memory index of live campaigns, swapped whole on every feed change.
//! - [`eligibility`]: whether a campaign may bid on a slot (schedule, targeting, blocks, deals,
//!   currency) and which creative it shows, pure.
//! - [`ctr`]: predicted click-through rates behind a trait; a smoothed historical rate.
//! - [`auction`]: second-price auctions (one slot; GSP and VCG over several positions), pure.
//! - [`pacing`]: the hour-of-day traffic profile and the pacing controller, pure.
//! - [`breaker`]: circuit breakers around dependencies, pure.
//! - [`shedding`]: load zones and which requests to keep under overload, pure.
//! - [`settings`]: defaults and `SERVINGD_*` variables.
//! - [`fraud`]: fraud level 1: the blocklist of IPs and device ids in a Bloom filter.
//! - [`feed`]: following the API's campaign feed into the live index.
//! - [`caps`]: frequency caps in Redis (one script per check-and-count).
//! - [`budget`]: this instance's wallets: leases spent in memory, refilled in the background.
//! - [`pace`]: pacing at run time: each campaign's throttle, stepped every few seconds.
//! - [`engine`]: the shared state of a running servingd.
//! - [`request_metrics`]: the request path's metric handles, registered once.
//! - [`latency`]: fixed-bucket latency histograms (two atomic adds per record).
//! - [`scan`]: the campaigns that may bid on a slot, most valuable first, into the best
//!   offers, pure.
//! - [`decision`]: one request's decision end to end.
//! - [`http`]: the routes: auction, health, readiness, metrics.
//! - [`tracking`]: the impression and click endpoints, their signed tokens, the event stream.
//! - [`server`]: connecting, background work, serving and the orderly stop.
//! - [`process`]: logging, stop signals and exit status, shared by the binaries.
//! - [`loadgen`]: the load generator's request mix and runner.
//! - [`money`]: prices at the edge (JSON numbers to micros and back), pure.
//! - [`country`]: ISO 3166-1 alpha-3 to alpha-2.
//! - [`id_hash`]: a fast hasher for maps keyed by campaign ids on the request path.

pub mod auction;
pub mod breaker;
pub mod budget;
pub mod campaign;
pub mod caps;
pub mod country;
pub mod ctr;
pub mod decision;
pub mod eligibility;
pub mod engine;
pub mod feed;
pub mod fraud;
pub mod http;
pub mod id_hash;
pub mod index;
pub mod latency;
pub mod loadgen;
pub mod money;
pub mod openrtb;
pub mod pace;
pub mod pacing;
pub mod process;
pub mod request;
pub mod request_metrics;
pub mod scan;
pub mod server;
pub mod settings;
pub mod shedding;
pub mod tracking;

pub use request::AdRequest;
