//! A campaign: its settings as advertisers write them (`CampaignInput`, raw), as the platform
//! keeps them (`CampaignSpec`, validated: only the API's validation turns one into the other),
//! and the [`Campaign`] the API shows and the feed carries to servingd.
//!
//! Readers ignore fields they do not know, so a field the API adds later does not make an older
//! servingd drop every campaign; the API refuses unknown fields in what advertisers send on its
//! own (it names each one).

use crate::campaign_status::Status;
use crate::currency::Currency;
use crate::ids::{AdvertiserId, CampaignId};
use crate::money::Amount;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a campaign pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BidKind {
    /// A price per thousand impressions.
    Cpm,
    /// A price per click.
    Cpc,
}

/// How a campaign spends its daily budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Pacing {
    /// Along the day's traffic curve.
    #[default]
    Even,
    /// As fast as traffic allows.
    Accelerated,
}

/// Device classes a campaign may target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeviceType {
    Mobile,
    Desktop,
    Tablet,
    Ctv,
}

/// Creative formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CreativeFormat {
    Banner,
    Video,
    Native,
}

/// Days of the week, for day parting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// Hours of some weekdays (in the campaign's time zone) when the campaign may serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayPart {
    pub days: Vec<Weekday>,
    /// First hour served, 0 to 23.
    pub start_hour: u8,
    /// First hour no longer served, 1 to 24.
    pub end_hour: u8,
}

/// When a campaign runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    pub start: DateTime<Utc>,
    #[serde(default)]
    pub end: Option<DateTime<Utc>>,
    /// An IANA time zone (`Europe/Paris`): days, day parts and daily budgets follow it.
    pub time_zone: String,
    /// Empty: every hour of every day.
    #[serde(default)]
    pub day_parting: Vec<DayPart>,
}

/// A creative's width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Size {
    pub w: u32,
    pub h: u32,
}

/// Who sees the campaign. Every empty list means "no restriction".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Targeting {
    /// ISO 3166-1 alpha-2 codes (`FR`).
    pub countries: Vec<String>,
    /// ISO 3166-2 codes (`FR-IDF`).
    pub regions: Vec<String>,
    pub device_types: Vec<DeviceType>,
    /// Operating systems, lowercase (`ios`, `android`).
    pub os: Vec<String>,
    /// IAB content categories (`IAB1`, `IAB1-2`).
    pub categories: Vec<String>,
    /// Site, app or placement ids.
    pub placements: Vec<String>,
    pub sizes: Vec<Size>,
    /// User segments.
    pub segments: Vec<String>,
    /// Private-marketplace deal ids: a campaign with deals buys only through them (on
    /// impressions that offer one of them); without, it buys in open auctions only.
    pub deals: Vec<String>,
}

/// At most `count` impressions per user in every `period_s` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FrequencyCap {
    pub count: u32,
    pub period_s: u32,
}

/// Budgets as written: decimal strings in the advertiser's currency.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct BudgetInput {
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9]{1,14}(\\.[0-9]{1,6})?$", example = "100")
    )]
    pub daily: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9]{1,14}(\\.[0-9]{1,6})?$", example = "1000")
    )]
    pub lifetime: Option<String>,
}

/// A bid as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BidInput {
    pub kind: BidKind,
    /// A decimal string: CPM per thousand impressions, CPC per click.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9]{1,14}(\\.[0-9]{1,6})?$", example = "2.5")
    )]
    pub amount: String,
}

/// A creative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Creative {
    /// Unique within the campaign.
    pub id: String,
    pub format: CreativeFormat,
    pub w: u32,
    pub h: u32,
    /// Where a click goes: an https URL.
    pub click_url: String,
    /// The ad markup (HTML, VAST or native JSON), or else `asset_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markup: Option<String>,
    /// An https URL of the asset, or else `markup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_url: Option<String>,
    /// The advertiser's domain, for publishers' blocks (`example.com`).
    pub adomain: String,
    /// Relative share among the campaign's creatives, 1 to 1000.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// IAB categories of the ad itself: publishers blocking one of them (`bcat`) never get it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

fn default_weight() -> u32 {
    1
}

/// A campaign's settings as written by its owner (create, or the result of a merge patch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignInput {
    pub name: String,
    pub schedule: Schedule,
    pub budget: BudgetInput,
    pub bid: BidInput,
    #[serde(default)]
    pub pacing: Pacing,
    #[serde(default)]
    pub targeting: Targeting,
    #[serde(default)]
    pub frequency_cap: Option<FrequencyCap>,
    #[serde(default)]
    pub creatives: Vec<Creative>,
}

/// Validated budgets: at least one, and a daily budget never above the lifetime one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Budget {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "100.000000"))]
    pub daily: Option<Amount>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "1000.000000"))]
    pub lifetime: Option<Amount>,
}

/// A validated bid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bid {
    pub kind: BidKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2.500000"))]
    pub amount: Amount,
}

/// A campaign's settings as the platform keeps them: every field checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignSpec {
    pub name: String,
    pub schedule: Schedule,
    pub budget: Budget,
    pub bid: Bid,
    pub pacing: Pacing,
    pub targeting: Targeting,
    pub frequency_cap: Option<FrequencyCap>,
    pub creatives: Vec<Creative>,
}

impl CampaignSpec {
    /// The spec written back as input, so a merge patch applies to what the owner wrote.
    pub fn to_input(&self) -> CampaignInput {
        CampaignInput {
            name: self.name.clone(),
            schedule: self.schedule.clone(),
            budget: BudgetInput {
                daily: self
                    .budget
                    .daily
                    .map(|a| a.as_decimal().normalize().to_string()),
                lifetime: self
                    .budget
                    .lifetime
                    .map(|a| a.as_decimal().normalize().to_string()),
            },
            bid: BidInput {
                kind: self.bid.kind,
                amount: self.bid.amount.as_decimal().normalize().to_string(),
            },
            pacing: self.pacing,
            targeting: self.targeting.clone(),
            frequency_cap: self.frequency_cap,
            creatives: self.creatives.clone(),
        }
    }
}

/// A campaign as the API shows it and the feed carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Campaign {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: CampaignId,
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub advertiser_id: AdvertiserId,
    pub status: Status,
    /// The advertiser's currency (ISO 4217): budgets and bids are in it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "USD"))]
    pub currency: Currency,
    /// The feed revision of the campaign's last change.
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub spec: CampaignSpec,
}
