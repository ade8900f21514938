//! A campaign as the API shows it and the feed carries it.

use chrono::{DateTime, NaiveDate, Utc};
use domain::campaign_status::Status;
use ledger::{AdvertiserId, CampaignId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::spec::CampaignSpec;

/// A campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    pub id: Uuid,
    pub advertiser_id: Uuid,
    pub status: Status,
    /// The advertiser's currency: budgets and bids are in it.
    pub currency: String,
    /// The feed revision of the campaign's last change.
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub spec: CampaignSpec,
}

impl Campaign {
    /// The typed id.
    pub fn campaign_id(&self) -> CampaignId {
        CampaignId(self.id)
    }

    /// The typed advertiser id.
    pub fn advertiser(&self) -> AdvertiserId {
        AdvertiserId(self.advertiser_id)
    }
}

/// A campaign with the bookkeeping of its holds, as the write paths load it (locked).
#[derive(Debug, Clone)]
pub struct StoredCampaign {
    pub campaign: Campaign,
    /// Hold and release transfers made so far; the next one's id derives from it.
    pub hold_seq: i32,
    /// The local day whose daily budget is held.
    pub held_day: Option<NaiveDate>,
}
