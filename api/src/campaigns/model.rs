//! A campaign as the API's write paths load it.

use chrono::NaiveDate;
use domain::campaign::Campaign;

/// A campaign with the bookkeeping of its holds, as the write paths load it (locked).
#[derive(Debug, Clone)]
pub struct StoredCampaign {
    pub campaign: Campaign,
    /// Hold and release transfers made so far; the next one's id derives from it.
    pub hold_seq: i32,
    /// The local day whose daily budget is held.
    pub held_day: Option<NaiveDate>,
}
