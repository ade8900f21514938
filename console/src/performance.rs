//! A campaign's performance as its page shows it: today's pacing (hour by hour, target against
//! actual), the last 30 days, and refunds. The server computes every figure and every chart
//! coordinate from the API's exact decimals (the browser draws, it does no arithmetic on money).

use serde::{Deserialize, Serialize};

/// How today's spend stands against its pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaceBadge {
    /// Within 10 % of the target so far.
    OnPace,
    /// More than 10 % under it.
    Behind,
    /// More than 10 % over it.
    Ahead,
    /// The day's (or the lifetime) budget is spent.
    Exhausted,
    /// No target: no budget for the day, or nothing to pace yet.
    NoTarget,
}

impl PaceBadge {
    /// The badge's words.
    pub fn label(self) -> &'static str {
        match self {
            PaceBadge::OnPace => "on pace",
            PaceBadge::Behind => "behind",
            PaceBadge::Ahead => "ahead",
            PaceBadge::Exhausted => "exhausted",
            PaceBadge::NoTarget => "no target",
        }
    }

    /// Its CSS class.
    pub fn class(self) -> &'static str {
        match self {
            PaceBadge::OnPace => "badge on-pace",
            PaceBadge::Behind => "badge behind",
            PaceBadge::Ahead => "badge ahead",
            PaceBadge::Exhausted => "badge exhausted",
            PaceBadge::NoTarget => "badge no-target",
        }
    }
}

/// One hour of today, local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourPoint {
    /// The hour's start, `14:00`.
    pub label: String,
    /// Net spend in the hour.
    pub spend: String,
    /// Net spend from midnight to the hour's end (empty for hours still to come).
    pub spent_so_far: String,
    /// The pace target from midnight to the hour's end (empty without a target).
    pub target_so_far: String,
    /// The chart's x of the hour's end, and the y of each line there (`None`: not drawn).
    pub x: u32,
    pub actual_y: Option<u32>,
    pub target_y: Option<u32>,
}

/// One day of the last 30.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRow {
    /// The local day, `2026-11-29`.
    pub day: String,
    pub impressions: i64,
    pub clicks: i64,
    pub spend: String,
    pub refunds: String,
    /// Clicks per impression, as a percentage with two decimals (`0.13 %`); empty without
    /// impressions.
    pub ctr: String,
    pub ecpm: String,
    /// The spend bar's height in the chart.
    pub bar: u32,
}

/// A refund: money given back for invalid traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRow {
    pub posted_at: String,
    pub amount: String,
    pub reason: String,
}

/// Everything the campaign's page shows of its performance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Performance {
    pub currency: String,
    pub time_zone: String,
    /// Today, local (`2026-11-30`).
    pub today: String,
    pub spent_today: String,
    pub day_budget: Option<String>,
    /// Spent over the target so far, as a percentage (`96 %`).
    pub pace: Option<String>,
    pub badge: PaceBadge,
    pub hours: Vec<HourPoint>,
    /// The amount at the top of the pacing chart.
    pub hours_top: String,
    pub days: Vec<DayRow>,
    /// The amount at the top of the daily chart.
    pub days_top: String,
    pub totals: DayRow,
    pub refunds: Vec<RefundRow>,
}

/// The pacing chart's size (the SVG's viewBox), and its plot's margins.
pub const CHART_WIDTH: u32 = 720;
pub const CHART_HEIGHT: u32 = 240;
pub const CHART_LEFT: u32 = 8;
pub const CHART_BOTTOM: u32 = 20;

/// The daily chart's bars: their width, and their height at the top of its scale.
pub const BAR_WIDTH: u32 = 18;
pub const BAR_HEIGHT: u32 = 120;
