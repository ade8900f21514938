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
//! - [`money`]: prices at the edge (JSON numbers to micros and back), pure.
//! - [`country`]: ISO 3166-1 alpha-3 to alpha-2.

pub mod auction;
pub mod campaign;
pub mod country;
pub mod ctr;
pub mod eligibility;
pub mod index;
pub mod money;
pub mod openrtb;
pub mod pacing;
pub mod request;

pub use request::AdRequest;
