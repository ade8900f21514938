//! The overview as its page shows it (both halves): the advertiser's money, today's spend, each
//! live campaign's day with a pace badge, and what needs a look.

use serde::{Deserialize, Serialize};

use crate::performance::PaceBadge;

/// A live campaign's day so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDay {
    pub id: String,
    pub name: String,
    pub spent: String,
    pub day_budget: Option<String>,
    /// Spent over the day's budget, as a percentage (`92 %`).
    pub used: Option<String>,
    pub badge: PaceBadge,
}

/// Something that needs the advertiser's attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Alert {
    /// Available funds cover less than a day of the live campaigns' budgets.
    FundsLow { available: String, a_day: String },
    /// A campaign has spent most of its day's budget.
    BudgetNearlySpent {
        id: String,
        name: String,
        used: String,
    },
    /// Refunds for invalid traffic today.
    Refunds { total: String },
}

/// The overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub currency: String,
    pub cash: String,
    pub available: String,
    pub held: String,
    /// Net spend today over the live campaigns (each in its own day).
    pub spent_today: String,
    pub campaigns: Vec<CampaignDay>,
    pub alerts: Vec<Alert>,
}
