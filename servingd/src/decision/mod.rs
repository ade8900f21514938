//! The decision's pure logic: no I/O, no clock of its own, each part unit-tested. What an ad
//! request is and how it is read from OpenRTB, the campaigns compiled for serving and their
//! index, whether a campaign may bid on a slot, the auction, pacing, load shedding, money at the
//! edge and currency rates, predicted click rates, and the signed tokens of the tracking URLs.
//!
//! - [`openrtb`]: the wire format: parsing a `BidRequest` into an [`request::AdRequest`], the
//!   response.
//! - [`request`]: the ad request in servingd's own terms.
//! - [`campaign`]: campaigns as the feed sends them, compiled for serving.
//! - [`index`]: the in-memory index of live campaigns, swapped whole on every feed change.
//! - [`eligibility`]: whether a campaign may bid on a slot (schedule, targeting, blocks, deals,
//!   currency) and which creative it shows.
//! - [`scan`]: the campaigns that may bid on a slot, most valuable first, into the best offers.
//! - [`auction`]: second-price auctions (one slot; GSP and VCG over several positions).
//! - [`ctr`]: predicted click-through rates behind a trait; a smoothed historical rate.
//! - [`cost`]: the most one impression costs a lease; a campaign's budget for a day.
//! - [`pacing`]: the hour-of-day traffic profile and the pacing controller.
//! - [`throttle`]: one campaign's pacing cells, which the request path reads.
//! - [`shedding`]: load zones and which requests to keep under overload.
//! - [`breaker`]: circuit breakers around dependencies.
//! - [`price`]: prices at the edge (JSON numbers to micros and back, currency conversion).
//! - [`country`]: ISO 3166-1 alpha-3 to alpha-2.
//! - [`id_hash`]: a fast hasher for maps keyed by campaign ids on the request path.
//! - [`tracking_token`]: the signed tokens the impression and click URLs carry.

pub mod auction;
pub mod breaker;
pub mod campaign;
pub mod cost;
pub mod country;
pub mod ctr;
pub mod eligibility;
pub mod id_hash;
pub mod index;
pub mod openrtb;
pub mod pacing;
pub mod price;
pub mod request;
pub mod scan;
pub mod shedding;
pub mod throttle;
pub mod tracking_token;
