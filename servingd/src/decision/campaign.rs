//! Campaigns as the API's feed sends them, and compiled for serving: prices in micros, the time
//! zone parsed, targeting lists ready to match. A campaign that cannot be compiled (a time zone
//! or price this build does not understand) is left out of the index and logged, never served
//! half-understood.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::Status;
use serde::Deserialize;
use uuid::Uuid;

use crate::decision::auction::BidPrice;
use crate::decision::request::{DeviceType, Media, Size};

/// A campaign in the feed (the API's `Campaign`; fields servingd does not use are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct FeedCampaign {
    pub id: Uuid,
    pub advertiser_id: Uuid,
    pub status: Status,
    pub currency: String,
    pub revision: i64,
    pub schedule: FeedSchedule,
    pub budget: FeedBudget,
    pub bid: FeedBid,
    pub pacing: String,
    #[serde(default)]
    pub targeting: FeedTargeting,
    pub frequency_cap: Option<FrequencyCap>,
    #[serde(default)]
    pub creatives: Vec<FeedCreative>,
}

/// When a campaign runs.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedSchedule {
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub time_zone: String,
    #[serde(default)]
    pub day_parting: Vec<FeedDayPart>,
}

/// Hours of some weekdays.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedDayPart {
    pub days: Vec<String>,
    pub start_hour: u8,
    pub end_hour: u8,
}

/// Budgets as decimal strings.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedBudget {
    pub daily: Option<String>,
    pub lifetime: Option<String>,
}

/// A bid as a decimal string.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedBid {
    pub kind: String,
    pub amount: String,
}

/// Targeting; an empty list restricts nothing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FeedTargeting {
    pub countries: Vec<String>,
    pub regions: Vec<String>,
    pub device_types: Vec<String>,
    pub os: Vec<String>,
    pub categories: Vec<String>,
    pub placements: Vec<String>,
    pub sizes: Vec<FeedSize>,
    pub segments: Vec<String>,
    pub deals: Vec<String>,
}

/// A size.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct FeedSize {
    pub w: u32,
    pub h: u32,
}

/// At most `count` impressions per user in any `period_s` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct FrequencyCap {
    pub count: u32,
    pub period_s: u32,
}

/// A creative.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedCreative {
    pub id: String,
    pub format: String,
    pub w: u32,
    pub h: u32,
    pub click_url: String,
    pub markup: Option<String>,
    pub asset_url: Option<String>,
    pub adomain: String,
    #[serde(default = "one")]
    pub weight: u32,
    #[serde(default)]
    pub categories: Vec<String>,
}

fn one() -> u32 {
    1
}

/// How a campaign spends its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    Even,
    Accelerated,
}

/// A creative ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creative {
    pub id: String,
    pub media: Media,
    pub size: Size,
    pub click_url: String,
    /// The markup, or an image tag around the asset URL.
    pub markup: String,
    pub adomain: String,
    pub weight: u32,
    /// IAB categories of the ad (matched against `bcat`).
    pub categories: Vec<String>,
}

/// A campaign ready to serve: only active campaigns are compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveCampaign {
    pub id: Uuid,
    pub advertiser: Uuid,
    pub revision: i64,
    pub currency: String,
    pub bid: BidPrice,
    pub pacing: Pacing,
    pub daily_micros: Option<i64>,
    pub lifetime_micros: Option<i64>,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub time_zone: Tz,
    /// (weekdays as bits, Monday = bit 0; first hour; first hour after).
    pub day_parts: Vec<(u8, u8, u8)>,
    pub countries: Vec<String>,
    pub regions: Vec<String>,
    pub device_types: Vec<DeviceType>,
    pub os: Vec<String>,
    pub categories: Vec<String>,
    pub placements: Vec<String>,
    pub sizes: Vec<Size>,
    pub segments: Vec<String>,
    pub deals: Vec<String>,
    pub frequency_cap: Option<FrequencyCap>,
    pub creatives: Vec<Creative>,
    /// Its bid in the platform currency (set by the index, which orders campaigns by it).
    pub bid_platform_micros: i64,
}

/// Why a feed campaign is not served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unservable {
    #[error("status {0} is not served")]
    NotActive(Status),
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    #[error("{field}: {value:?} is not a usable amount")]
    Amount { field: &'static str, value: String },
    #[error("unknown {field} {value:?}")]
    Unknown { field: &'static str, value: String },
    #[error("no creative")]
    NoCreative,
    #[error("no exchange rate for {0}")]
    Currency(String),
}

impl FeedCampaign {
    /// Compiles an active campaign for serving.
    pub fn compile(&self) -> Result<LiveCampaign, Unservable> {
        if self.status != Status::Active {
            return Err(Unservable::NotActive(self.status));
        }
        let time_zone: Tz = self
            .schedule
            .time_zone
            .parse()
            .map_err(|_| Unservable::TimeZone(self.schedule.time_zone.clone()))?;
        let amount = |field: &'static str, text: &str| {
            ledger::Money::parse(text)
                .ok()
                .and_then(|m| m.to_micros())
                .filter(|m| *m > 0)
                .ok_or(Unservable::Amount {
                    field,
                    value: text.to_owned(),
                })
        };
        let bid_micros = amount("bid.amount", &self.bid.amount)?;
        let bid = match self.bid.kind.as_str() {
            "cpm" => BidPrice::Cpm(bid_micros),
            "cpc" => BidPrice::Cpc(bid_micros),
            other => return Err(unknown("bid.kind", other)),
        };
        let pacing = match self.pacing.as_str() {
            "even" => Pacing::Even,
            "accelerated" => Pacing::Accelerated,
            other => return Err(unknown("pacing", other)),
        };
        let daily_micros = self
            .budget
            .daily
            .as_deref()
            .map(|d| amount("budget.daily", d))
            .transpose()?;
        let lifetime_micros = self
            .budget
            .lifetime
            .as_deref()
            .map(|l| amount("budget.lifetime", l))
            .transpose()?;
        let mut day_parts = Vec::new();
        for part in &self.schedule.day_parting {
            let mut days = 0u8;
            for day in &part.days {
                days |= 1 << weekday_bit(day).ok_or_else(|| unknown("day", day))?;
            }
            day_parts.push((days, part.start_hour, part.end_hour));
        }
        let device_types = self
            .targeting
            .device_types
            .iter()
            .map(|d| device_type(d).ok_or_else(|| unknown("device type", d)))
            .collect::<Result<_, _>>()?;
        let creatives: Vec<Creative> = self
            .creatives
            .iter()
            .map(compile_creative)
            .collect::<Result<_, _>>()?;
        if creatives.is_empty() {
            return Err(Unservable::NoCreative);
        }
        let t = &self.targeting;
        Ok(LiveCampaign {
            id: self.id,
            advertiser: self.advertiser_id,
            revision: self.revision,
            currency: self.currency.clone(),
            bid,
            pacing,
            daily_micros,
            lifetime_micros,
            start: self.schedule.start,
            end: self.schedule.end,
            time_zone,
            day_parts,
            countries: t.countries.clone(),
            regions: t.regions.clone(),
            device_types,
            os: t.os.clone(),
            categories: t.categories.clone(),
            placements: t.placements.clone(),
            sizes: t.sizes.iter().map(|s| Size { w: s.w, h: s.h }).collect(),
            segments: t.segments.clone(),
            deals: t.deals.clone(),
            frequency_cap: self.frequency_cap,
            creatives,
            bid_platform_micros: 0,
        })
    }
}

fn unknown(field: &'static str, value: &str) -> Unservable {
    Unservable::Unknown {
        field,
        value: value.to_owned(),
    }
}

fn compile_creative(c: &FeedCreative) -> Result<Creative, Unservable> {
    let media = match c.format.as_str() {
        "banner" => Media::Banner,
        "video" => Media::Video,
        "native" => Media::Native,
        other => return Err(unknown("creative format", other)),
    };
    let markup = match (&c.markup, &c.asset_url) {
        (Some(m), _) => m.clone(),
        (None, Some(url)) => format!(
            r#"<img src="{url}" width="{}" height="{}" alt="">"#,
            c.w, c.h
        ),
        (None, None) => String::new(),
    };
    Ok(Creative {
        id: c.id.clone(),
        media,
        size: Size { w: c.w, h: c.h },
        click_url: c.click_url.clone(),
        markup,
        adomain: c.adomain.to_ascii_lowercase(),
        weight: c.weight.max(1),
        categories: c.categories.clone(),
    })
}

/// Monday = 0.
fn weekday_bit(day: &str) -> Option<u8> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .position(|d| *d == day)
        .and_then(|p| u8::try_from(p).ok())
}

fn device_type(name: &str) -> Option<DeviceType> {
    Some(match name {
        "mobile" => DeviceType::Mobile,
        "desktop" => DeviceType::Desktop,
        "tablet" => DeviceType::Tablet,
        "ctv" => DeviceType::Ctv,
        _ => return None,
    })
}
