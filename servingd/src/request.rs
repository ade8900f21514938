//! An ad request as the decision sees it: checked, normalised, in servingd's own terms (alpha-2
//! countries, lowercase OS names, prices in micros). Built from OpenRTB by `openrtb::parse`.

/// A width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Size {
    pub w: u32,
    pub h: u32,
}

/// What kind of ad a slot takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Media {
    Banner,
    Video,
    Native,
}

/// Device classes, as campaigns target them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    Mobile,
    Desktop,
    Tablet,
    Ctv,
}

impl DeviceType {
    /// The name campaigns use (`mobile`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::Mobile => "mobile",
            DeviceType::Desktop => "desktop",
            DeviceType::Tablet => "tablet",
            DeviceType::Ctv => "ctv",
        }
    }
}

/// A deal offered on a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealOffer {
    pub id: String,
    /// The deal's own floor, in `floor_currency` (else the slot's floor holds).
    pub floor_micros: Option<i64>,
    pub floor_currency: String,
    /// Seats allowed to buy it; empty: any.
    pub seats: Vec<String>,
}

/// One impression on offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub id: String,
    /// Every media kind the slot takes, with the sizes each allows (empty: any size).
    pub media: Vec<(Media, Vec<Size>)>,
    /// The least price per thousand, in `floor_currency`.
    pub floor_micros: i64,
    pub floor_currency: String,
    pub deals: Vec<DealOffer>,
    /// Only the deals may buy.
    pub private_auction: bool,
    /// The exchange's placement id.
    pub tag: Option<String>,
}

/// The request, ready for the decision.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdRequest {
    pub id: String,
    pub slots: Vec<Slot>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// ISO 3166-2 (`FR-IDF`), when the country is known.
    pub region: Option<String>,
    pub device: Option<DeviceType>,
    /// Lowercase (`ios`, `android`, `os x`).
    pub os: Option<String>,
    /// Content categories of the site or app, its pages and publisher.
    pub categories: Vec<String>,
    /// Placement ids: the site or app id, the app bundle, the publisher id.
    pub placements: Vec<String>,
    /// The pseudonymous user key for frequency caps; `None` when there is none or when the
    /// user's data may not be used (GDPR applies and no consent string came).
    pub user: Option<String>,
    /// User segments (data providers' segment ids), under the same consent rule.
    pub segments: Vec<String>,
    /// Advertiser categories the publisher blocks (`bcat`).
    pub blocked_categories: Vec<String>,
    /// Advertiser domains the publisher blocks (`badv`), lowercase.
    pub blocked_domains: Vec<String>,
    /// GDPR applies to this request.
    pub gdpr: bool,
    /// How long the exchange waits, in milliseconds.
    pub tmax_ms: Option<u32>,
    /// Currencies the exchange takes bids in (empty: any).
    pub currencies: Vec<String>,
    pub test: bool,
    /// The device's IP address (fraud checks), as sent.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
