//! OpenRTB 2.6 `BidResponse`: one seat, at most one bid per impression. Borrows what it can from
//! the request and the campaigns, so building one allocates only the texts made for it.

use serde::Serialize;

/// The answer to a bid request that has at least one bid (no bid is a 204 with no body).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BidResponse<'a> {
    /// The request's id.
    pub id: &'a str,
    /// Our id for this response (the auction id).
    pub bidid: String,
    pub cur: &'a str,
    pub seatbid: Vec<SeatBid<'a>>,
}

/// Our bids.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeatBid<'a> {
    pub seat: &'a str,
    pub bid: Vec<Bid<'a>>,
}

/// One bid on one impression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bid<'a> {
    pub id: String,
    pub impid: &'a str,
    /// Per thousand impressions, in the response's currency.
    pub price: f64,
    /// The creative's markup, with the click-tracking URL in place.
    pub adm: String,
    /// Called by the exchange when the impression is billable.
    pub burl: String,
    pub adomain: [&'a str; 1],
    pub cid: String,
    pub crid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dealid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub w: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h: Option<u32>,
}
