//! OpenRTB 2.6 `BidResponse`: one seat, at most one bid per impression.

use serde::Serialize;

/// The answer to a bid request that has at least one bid (no bid is a 204 with no body).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BidResponse {
    /// The request's id.
    pub id: String,
    /// Our id for this response (the auction id).
    pub bidid: String,
    pub cur: String,
    pub seatbid: Vec<SeatBid>,
}

/// Our bids.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeatBid {
    pub seat: String,
    pub bid: Vec<Bid>,
}

/// One bid on one impression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bid {
    pub id: String,
    pub impid: String,
    /// Per thousand impressions, in the response's currency.
    pub price: f64,
    /// The creative's markup, with the click-tracking URL in place.
    pub adm: String,
    /// Called by the exchange when the impression is billable.
    pub burl: String,
    pub adomain: Vec<String>,
    pub cid: String,
    pub crid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dealid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub w: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h: Option<u32>,
}
