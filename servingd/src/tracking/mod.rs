//! Tracking: the impression (billing) and click endpoints, the signed tokens their URLs carry,
//! and the events they append to the event stream; where the keys come from.

pub mod endpoints;
pub mod key_source;
pub mod token;

pub use key_source::SharedTrackingKeys;
pub use token::{KeyError, TokenClaims, TokenError, TrackingKeys};
