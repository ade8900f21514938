//! OpenRTB 2.6 `BidRequest` as it arrives on the wire (the fields servingd reads; everything else
//! is ignored). Where 2.5 kept a field under `ext` (`regs.ext.gdpr`, `user.ext.consent`), both
//! places are read. Everything is optional here: `parse` says precisely what is missing.

use serde::Deserialize;

/// A bid request.
#[derive(Debug, Default, Deserialize)]
pub struct BidRequest {
    pub id: Option<String>,
    pub imp: Option<Vec<Imp>>,
    pub site: Option<Site>,
    pub app: Option<App>,
    pub device: Option<Device>,
    pub user: Option<User>,
    pub regs: Option<Regs>,
    /// Longest the exchange waits for an answer, in milliseconds.
    pub tmax: Option<i64>,
    /// Currencies the exchange accepts bids in.
    #[serde(default)]
    pub cur: Vec<String>,
    /// Blocked content categories of advertisers.
    #[serde(default)]
    pub bcat: Vec<String>,
    /// Blocked advertiser domains.
    #[serde(default)]
    pub badv: Vec<String>,
    /// 1: first price, 2: second price plus.
    pub at: Option<i64>,
    pub test: Option<i64>,
}

/// One impression offered.
#[derive(Debug, Default, Deserialize)]
pub struct Imp {
    pub id: Option<String>,
    pub banner: Option<Banner>,
    pub video: Option<Video>,
    pub native: Option<Native>,
    pub bidfloor: Option<f64>,
    pub bidfloorcur: Option<String>,
    /// The placement's id at the exchange.
    pub tagid: Option<String>,
    pub pmp: Option<Pmp>,
    pub instl: Option<i64>,
}

/// A display slot: one size, or several allowed ones in `format`.
#[derive(Debug, Default, Deserialize)]
pub struct Banner {
    pub w: Option<i64>,
    pub h: Option<i64>,
    #[serde(default)]
    pub format: Vec<Format>,
}

/// An allowed banner size.
#[derive(Debug, Default, Deserialize)]
pub struct Format {
    pub w: Option<i64>,
    pub h: Option<i64>,
}

/// A video slot.
#[derive(Debug, Default, Deserialize)]
pub struct Video {
    pub w: Option<i64>,
    pub h: Option<i64>,
    #[serde(default)]
    pub mimes: Vec<String>,
}

/// A native slot (its request document is not read).
#[derive(Debug, Default, Deserialize)]
pub struct Native {
    pub request: Option<serde_json::Value>,
}

/// A private marketplace: deals offered on the impression.
#[derive(Debug, Default, Deserialize)]
pub struct Pmp {
    /// 1: only the deals may bid.
    pub private_auction: Option<i64>,
    #[serde(default)]
    pub deals: Vec<Deal>,
}

/// One deal.
#[derive(Debug, Default, Deserialize)]
pub struct Deal {
    pub id: Option<String>,
    pub bidfloor: Option<f64>,
    pub bidfloorcur: Option<String>,
    /// Buyer seats allowed to bid on it (empty: any).
    #[serde(default)]
    pub wseat: Vec<String>,
}

/// A website.
#[derive(Debug, Default, Deserialize)]
pub struct Site {
    pub id: Option<String>,
    pub domain: Option<String>,
    #[serde(default)]
    pub cat: Vec<String>,
    #[serde(default)]
    pub pagecat: Vec<String>,
    pub publisher: Option<Publisher>,
}

/// An app.
#[derive(Debug, Default, Deserialize)]
pub struct App {
    pub id: Option<String>,
    pub bundle: Option<String>,
    #[serde(default)]
    pub cat: Vec<String>,
    pub publisher: Option<Publisher>,
}

/// The publisher of a site or app.
#[derive(Debug, Default, Deserialize)]
pub struct Publisher {
    pub id: Option<String>,
    #[serde(default)]
    pub cat: Vec<String>,
}

/// The device.
#[derive(Debug, Default, Deserialize)]
pub struct Device {
    pub ua: Option<String>,
    pub ip: Option<String>,
    pub ipv6: Option<String>,
    pub geo: Option<Geo>,
    /// OpenRTB device type: 1 mobile/tablet, 2 PC, 3 TV, 4 phone, 5 tablet, 6 connected, 7 STB.
    pub devicetype: Option<i64>,
    pub os: Option<String>,
    /// Advertising id.
    pub ifa: Option<String>,
}

/// Where the device is.
#[derive(Debug, Default, Deserialize)]
pub struct Geo {
    /// ISO 3166-1 alpha-3 in OpenRTB; alpha-2 is accepted too.
    pub country: Option<String>,
    /// ISO 3166-2 subdivision code (without the country part).
    pub region: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// The user.
#[derive(Debug, Default, Deserialize)]
pub struct User {
    pub id: Option<String>,
    pub buyeruid: Option<String>,
    /// TCF consent string (2.6).
    pub consent: Option<String>,
    #[serde(default)]
    pub data: Vec<Data>,
    pub ext: Option<UserExt>,
}

/// 2.5 extension of the user.
#[derive(Debug, Default, Deserialize)]
pub struct UserExt {
    pub consent: Option<String>,
}

/// A data provider's segments of the user.
#[derive(Debug, Default, Deserialize)]
pub struct Data {
    #[serde(default)]
    pub segment: Vec<Segment>,
}

/// One segment.
#[derive(Debug, Default, Deserialize)]
pub struct Segment {
    pub id: Option<String>,
}

/// Regulations.
#[derive(Debug, Default, Deserialize)]
pub struct Regs {
    /// 1: GDPR applies (2.6).
    pub gdpr: Option<i64>,
    pub ext: Option<RegsExt>,
}

/// 2.5 extension of the regulations.
#[derive(Debug, Default, Deserialize)]
pub struct RegsExt {
    pub gdpr: Option<i64>,
}
