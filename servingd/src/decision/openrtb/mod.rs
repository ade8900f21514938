//! OpenRTB on the wire: the request as sent, its parsing into an [`crate::AdRequest`], and the
//! response.

pub mod parse;
pub mod response;
pub mod wire;

pub use parse::{FieldError, Invalid, parse};
pub use response::{Bid, BidResponse, SeatBid};
