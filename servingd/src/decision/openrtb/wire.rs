//! OpenRTB 2.6 `BidRequest` as it arrives on the wire (the fields servingd reads; everything else
//! is ignored). Where 2.5 kept a field under `ext` (`regs.ext.gdpr`, `user.ext.consent`), both
//! places are read. Everything is optional here: `parse` says precisely what is missing.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Visitor};

/// A string of the request, borrowed from the body unless it held escapes (then decoded into
/// its own buffer): most requests are parsed without copying a single string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// A bid request.
#[derive(Debug, Default, Deserialize)]
pub struct BidRequest<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub imp: Option<Vec<Imp<'a>>>,
    #[serde(borrow)]
    pub site: Option<Site<'a>>,
    #[serde(borrow)]
    pub app: Option<App<'a>>,
    #[serde(borrow)]
    pub device: Option<Device<'a>>,
    #[serde(borrow)]
    pub user: Option<User<'a>>,
    pub regs: Option<Regs>,
    /// Longest the exchange waits for an answer, in milliseconds.
    pub tmax: Option<i64>,
    /// Currencies the exchange accepts bids in.
    #[serde(default, borrow)]
    pub cur: Vec<Text<'a>>,
    /// Blocked content categories of advertisers.
    #[serde(default, borrow)]
    pub bcat: Vec<Text<'a>>,
    /// Blocked advertiser domains.
    #[serde(default, borrow)]
    pub badv: Vec<Text<'a>>,
    /// 1: first price, 2: second price plus.
    pub at: Option<i64>,
    pub test: Option<i64>,
}

/// One impression offered.
#[derive(Debug, Default, Deserialize)]
pub struct Imp<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    pub banner: Option<Banner>,
    #[serde(borrow)]
    pub video: Option<Video<'a>>,
    pub native: Option<Native>,
    pub bidfloor: Option<f64>,
    #[serde(borrow)]
    pub bidfloorcur: Option<Text<'a>>,
    /// The placement's id at the exchange.
    #[serde(borrow)]
    pub tagid: Option<Text<'a>>,
    #[serde(borrow)]
    pub pmp: Option<Pmp<'a>>,
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
pub struct Video<'a> {
    pub w: Option<i64>,
    pub h: Option<i64>,
    #[serde(default, borrow)]
    pub mimes: Vec<Text<'a>>,
}

/// A native slot (its request document is not read).
#[derive(Debug, Default, Deserialize)]
pub struct Native {
    pub request: Option<serde::de::IgnoredAny>,
}

/// A private marketplace: deals offered on the impression.
#[derive(Debug, Default, Deserialize)]
pub struct Pmp<'a> {
    /// 1: only the deals may bid.
    pub private_auction: Option<i64>,
    #[serde(default, borrow)]
    pub deals: Vec<Deal<'a>>,
}

/// One deal.
#[derive(Debug, Default, Deserialize)]
pub struct Deal<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    pub bidfloor: Option<f64>,
    #[serde(borrow)]
    pub bidfloorcur: Option<Text<'a>>,
    /// Buyer seats allowed to bid on it (empty: any).
    #[serde(default, borrow)]
    pub wseat: Vec<Text<'a>>,
}

/// A website.
#[derive(Debug, Default, Deserialize)]
pub struct Site<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub domain: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub cat: Vec<Text<'a>>,
    #[serde(default, borrow)]
    pub pagecat: Vec<Text<'a>>,
    #[serde(borrow)]
    pub publisher: Option<Publisher<'a>>,
}

/// An app.
#[derive(Debug, Default, Deserialize)]
pub struct App<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub bundle: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub cat: Vec<Text<'a>>,
    #[serde(borrow)]
    pub publisher: Option<Publisher<'a>>,
}

/// The publisher of a site or app.
#[derive(Debug, Default, Deserialize)]
pub struct Publisher<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub cat: Vec<Text<'a>>,
}

/// The device.
#[derive(Debug, Default, Deserialize)]
pub struct Device<'a> {
    #[serde(borrow)]
    pub ua: Option<Text<'a>>,
    #[serde(borrow)]
    pub ip: Option<Text<'a>>,
    #[serde(borrow)]
    pub ipv6: Option<Text<'a>>,
    #[serde(borrow)]
    pub geo: Option<Geo<'a>>,
    /// OpenRTB device type: 1 mobile/tablet, 2 PC, 3 TV, 4 phone, 5 tablet, 6 connected, 7 STB.
    pub devicetype: Option<i64>,
    #[serde(borrow)]
    pub os: Option<Text<'a>>,
    /// Advertising id.
    #[serde(borrow)]
    pub ifa: Option<Text<'a>>,
}

/// Where the device is.
#[derive(Debug, Default, Deserialize)]
pub struct Geo<'a> {
    /// ISO 3166-1 alpha-3 in OpenRTB; alpha-2 is accepted too.
    #[serde(borrow)]
    pub country: Option<Text<'a>>,
    /// ISO 3166-2 subdivision code (without the country part).
    #[serde(borrow)]
    pub region: Option<Text<'a>>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// The user.
#[derive(Debug, Default, Deserialize)]
pub struct User<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub buyeruid: Option<Text<'a>>,
    /// TCF consent string (2.6).
    #[serde(borrow)]
    pub consent: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub data: Vec<Data<'a>>,
    #[serde(borrow)]
    pub ext: Option<UserExt<'a>>,
}

/// 2.5 extension of the user.
#[derive(Debug, Default, Deserialize)]
pub struct UserExt<'a> {
    #[serde(borrow)]
    pub consent: Option<Text<'a>>,
}

/// A data provider's segments of the user.
#[derive(Debug, Default, Deserialize)]
pub struct Data<'a> {
    #[serde(default, borrow)]
    pub segment: Vec<Segment<'a>>,
}

/// One segment.
#[derive(Debug, Default, Deserialize)]
pub struct Segment<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
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
