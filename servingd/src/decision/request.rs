//! An ad request as the decision sees it: checked, normalised, in servingd's own terms (alpha-2
//! countries, lowercase OS names, prices in micros). Built from OpenRTB by `openrtb::parse`; its
//! texts borrow from the request body where they could be taken as sent.

use std::borrow::Cow;

/// Device classes and sizes, as campaigns target them.
pub use domain::campaign::{DeviceType, Size};

/// What kind of ad a slot takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Media {
    Banner,
    Video,
    Native,
}

/// A deal offered on a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealOffer<'a> {
    pub id: Cow<'a, str>,
    /// The deal's own floor, in `floor_currency` (else the slot's floor holds).
    pub floor_micros: Option<i64>,
    pub floor_currency: Cow<'a, str>,
    /// Seats allowed to buy it; empty: any.
    pub seats: Vec<Cow<'a, str>>,
}

/// One impression on offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot<'a> {
    pub id: Cow<'a, str>,
    /// Every media kind the slot takes, with the sizes each allows (empty: any size).
    pub media: Vec<(Media, Vec<Size>)>,
    /// The least price per thousand, in `floor_currency`.
    pub floor_micros: i64,
    pub floor_currency: Cow<'a, str>,
    pub deals: Vec<DealOffer<'a>>,
    /// Only the deals may buy.
    pub private_auction: bool,
    /// The exchange's placement id.
    pub tag: Option<Cow<'a, str>>,
}

/// The request, ready for the decision.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdRequest<'a> {
    pub id: Cow<'a, str>,
    pub slots: Vec<Slot<'a>>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<&'static str>,
    /// ISO 3166-2 (`FR-IDF`), when the country is known.
    pub region: Option<String>,
    pub device: Option<DeviceType>,
    /// Lowercase (`ios`, `android`, `os x`).
    pub os: Option<String>,
    /// Content categories of the site or app, its pages and publisher.
    pub categories: Vec<Cow<'a, str>>,
    /// Placement ids: the site or app id, the app bundle, the publisher id.
    pub placements: Vec<Cow<'a, str>>,
    /// The pseudonymous user key for frequency caps; `None` when there is none or when the
    /// user's data may not be used (GDPR applies and no consent string came).
    pub user: Option<Cow<'a, str>>,
    /// User segments (data providers' segment ids), under the same consent rule.
    pub segments: Vec<Cow<'a, str>>,
    /// Advertiser categories the publisher blocks (`bcat`).
    pub blocked_categories: Vec<Cow<'a, str>>,
    /// Advertiser domains the publisher blocks (`badv`), lowercase.
    pub blocked_domains: Vec<Cow<'a, str>>,
    /// GDPR applies to this request.
    pub gdpr: bool,
    /// How long the exchange waits, in milliseconds.
    pub tmax_ms: Option<u32>,
    /// Currencies the exchange takes bids in (empty: any).
    pub currencies: Vec<Cow<'a, str>>,
    /// A test request (`test: 1`): answered, never billed.
    pub test: bool,
    /// The most an impression may clear at per thousand, in the platform currency, micros: the
    /// supply partner's price ceiling (set by the endpoint, not read from the request).
    pub price_ceiling_micros: Option<i64>,
    /// The device's IP address (fraud checks), as sent.
    pub ip: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    /// The device's advertising id (`device.ifa`), for fraud checks.
    pub device_id: Option<Cow<'a, str>>,
}

fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

fn all_owned(texts: Vec<Cow<'_, str>>) -> Vec<Cow<'static, str>> {
    texts.into_iter().map(owned).collect()
}

impl DealOffer<'_> {
    /// The same offer, owning its texts.
    pub fn into_owned(self) -> DealOffer<'static> {
        DealOffer {
            id: owned(self.id),
            floor_micros: self.floor_micros,
            floor_currency: owned(self.floor_currency),
            seats: all_owned(self.seats),
        }
    }
}

impl Slot<'_> {
    /// The same slot, owning its texts.
    pub fn into_owned(self) -> Slot<'static> {
        Slot {
            id: owned(self.id),
            media: self.media,
            floor_micros: self.floor_micros,
            floor_currency: owned(self.floor_currency),
            deals: self.deals.into_iter().map(DealOffer::into_owned).collect(),
            private_auction: self.private_auction,
            tag: self.tag.map(owned),
        }
    }
}

impl AdRequest<'_> {
    /// The same request, owning its texts (to keep it beyond the body it was parsed from).
    pub fn into_owned(self) -> AdRequest<'static> {
        AdRequest {
            id: owned(self.id),
            slots: self.slots.into_iter().map(Slot::into_owned).collect(),
            country: self.country,
            region: self.region,
            device: self.device,
            os: self.os,
            categories: all_owned(self.categories),
            placements: all_owned(self.placements),
            user: self.user.map(owned),
            segments: all_owned(self.segments),
            blocked_categories: all_owned(self.blocked_categories),
            blocked_domains: all_owned(self.blocked_domains),
            gdpr: self.gdpr,
            tmax_ms: self.tmax_ms,
            currencies: all_owned(self.currencies),
            test: self.test,
            price_ceiling_micros: self.price_ceiling_micros,
            ip: self.ip.map(owned),
            user_agent: self.user_agent.map(owned),
            device_id: self.device_id.map(owned),
        }
    }
}
