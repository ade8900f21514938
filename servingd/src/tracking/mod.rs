//! Tracking: the impression (billing) and click endpoints, the signed tokens their URLs carry,
//! and the events they append to the event stream.

pub mod endpoints;
pub mod token;

pub use token::{KeyError, TokenClaims, TokenError, TrackingKeys};
