//! Campaigns of the feed (`domain::campaign::Campaign`, read one by one as [`FeedEntry`]) compiled
//! for serving: prices in micros, the time zone parsed, targeting lists ready to match. A
//! campaign that cannot be read or compiled (a value, time zone or price this build does not
//! understand) is left out of the index and logged, never served half-understood.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::campaign::{
    BidKind, Campaign, Creative as CampaignCreative, CreativeFormat, FrequencyCap, Pacing,
    Targeting, Weekday,
};
use domain::{AdvertiserId, Currency, Status};
use uuid::Uuid;

use crate::decision::auction::BidPrice;
use crate::decision::request::{Media, Size};

/// A campaign of the feed as servingd reads it: each on its own, so that one it cannot read (a
/// value this build does not know) is left out and logged rather than the whole page refused.
#[derive(Debug, Clone)]
pub enum FeedEntry {
    Campaign(Box<Campaign>),
    Unreadable { id: Uuid, error: String },
}

impl FeedEntry {
    /// Reads one campaign of a page.
    pub fn read(value: serde_json::Value) -> FeedEntry {
        let id = value
            .get("id")
            .and_then(|id| id.as_str())
            .and_then(|id| id.parse().ok())
            .unwrap_or_default();
        match serde_json::from_value::<Campaign>(value) {
            Ok(campaign) => FeedEntry::Campaign(Box::new(campaign)),
            Err(e) => FeedEntry::Unreadable {
                id,
                error: e.to_string(),
            },
        }
    }

    /// The campaign's id.
    pub fn id(&self) -> Uuid {
        match self {
            FeedEntry::Campaign(c) => c.id.0,
            FeedEntry::Unreadable { id, .. } => *id,
        }
    }
}

impl From<Campaign> for FeedEntry {
    fn from(campaign: Campaign) -> Self {
        FeedEntry::Campaign(Box::new(campaign))
    }
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
    pub advertiser: AdvertiserId,
    pub revision: i64,
    pub currency: Currency,
    pub bid: BidPrice,
    pub pacing: Pacing,
    pub daily_micros: Option<i64>,
    pub lifetime_micros: Option<i64>,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub time_zone: Tz,
    /// (weekdays as bits, Monday = bit 0; first hour; first hour after).
    pub day_parts: Vec<(u8, u8, u8)>,
    /// Who sees it, as the feed said (every empty list restricts nothing).
    pub targeting: Targeting,
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
    #[error("{field}: {value} is not a usable amount")]
    Amount { field: &'static str, value: String },
    #[error("not readable: {0}")]
    Unreadable(String),
    #[error("no creative")]
    NoCreative,
    #[error("no exchange rate for {0}")]
    Currency(Currency),
}

impl LiveCampaign {
    /// Compiles an active campaign for serving.
    pub fn compile(campaign: &Campaign) -> Result<LiveCampaign, Unservable> {
        if campaign.status != Status::Active {
            return Err(Unservable::NotActive(campaign.status));
        }
        let spec = &campaign.spec;
        let time_zone: Tz = spec
            .schedule
            .time_zone
            .parse()
            .map_err(|_| Unservable::TimeZone(spec.schedule.time_zone.clone()))?;
        let micros = |field: &'static str, amount: domain::Amount| {
            amount
                .money()
                .to_micros()
                .filter(|m| *m > 0)
                .ok_or(Unservable::Amount {
                    field,
                    value: amount.to_string(),
                })
        };
        let bid_micros = micros("bid.amount", spec.bid.amount)?;
        let bid = match spec.bid.kind {
            BidKind::Cpm => BidPrice::Cpm(bid_micros),
            BidKind::Cpc => BidPrice::Cpc(bid_micros),
        };
        let daily_micros = spec
            .budget
            .daily
            .map(|d| micros("budget.daily", d))
            .transpose()?;
        let lifetime_micros = spec
            .budget
            .lifetime
            .map(|l| micros("budget.lifetime", l))
            .transpose()?;
        let day_parts = spec
            .schedule
            .day_parting
            .iter()
            .map(|part| {
                let days = part
                    .days
                    .iter()
                    .fold(0u8, |days, day| days | 1 << weekday_bit(*day));
                (days, part.start_hour, part.end_hour)
            })
            .collect();
        let creatives: Vec<Creative> = spec.creatives.iter().map(compile_creative).collect();
        if creatives.is_empty() {
            return Err(Unservable::NoCreative);
        }
        Ok(LiveCampaign {
            id: campaign.id.0,
            advertiser: campaign.advertiser_id,
            revision: campaign.revision,
            currency: campaign.currency,
            bid,
            pacing: spec.pacing,
            daily_micros,
            lifetime_micros,
            start: spec.schedule.start,
            end: spec.schedule.end,
            time_zone,
            day_parts,
            targeting: spec.targeting.clone(),
            frequency_cap: spec.frequency_cap,
            creatives,
            bid_platform_micros: 0,
        })
    }
}

fn compile_creative(c: &CampaignCreative) -> Creative {
    let media = match c.format {
        CreativeFormat::Banner => Media::Banner,
        CreativeFormat::Video => Media::Video,
        CreativeFormat::Native => Media::Native,
    };
    let markup = match (&c.markup, &c.asset_url) {
        (Some(m), _) => m.clone(),
        (None, Some(url)) => format!(
            r#"<img src="{url}" width="{}" height="{}" alt="">"#,
            c.w, c.h
        ),
        (None, None) => String::new(),
    };
    Creative {
        id: c.id.clone(),
        media,
        size: Size { w: c.w, h: c.h },
        click_url: c.click_url.clone(),
        markup,
        adomain: c.adomain.to_ascii_lowercase(),
        weight: c.weight.max(1),
        categories: c.categories.clone(),
    }
}

/// Monday = 0.
fn weekday_bit(day: Weekday) -> u8 {
    match day {
        Weekday::Mon => 0,
        Weekday::Tue => 1,
        Weekday::Wed => 2,
        Weekday::Thu => 3,
        Weekday::Fri => 4,
        Weekday::Sat => 5,
        Weekday::Sun => 6,
    }
}
