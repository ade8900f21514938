//! What the dashboard shows, as the API gives it, and the task that fetches it every 2 s
//! (budgets every 10 s: comparing Redis with the ledger costs more) without ever blocking the
//! keyboard: each answer goes to the UI loop as an [`Update`].

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use crate::client::Client;
use crate::failure::Failure;

/// How often the dashboard refreshes.
pub const REFRESH: Duration = Duration::from_secs(2);
/// How often budgets are compared (every fifth refresh).
const BUDGET_EVERY: u32 = 5;
/// Most campaigns the table holds.
pub const MAX_CAMPAIGNS: usize = 2000;
/// The statuses the dashboard follows (campaigns that serve, or could again at a keystroke).
const LIVE: &[&str] = &["active", "paused", "exhausted"];

/// A campaign's day so far (`GET /api/v1/reports/today`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CampaignRow {
    pub campaign_id: String,
    pub name: String,
    pub status: String,
    pub currency: String,
    pub day_budget: Option<String>,
    pub spent: String,
    pub used: Option<String>,
    pub pace: Option<String>,
    pub impressions: i64,
    pub clicks: i64,
    pub ctr: Option<String>,
    pub refunds: String,
}

/// One hour of the selected campaign's day (`GET /api/v1/campaigns/{id}/pacing`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PacingHour {
    pub hour: String,
    pub spend: String,
    pub spent_so_far: String,
    pub target_so_far: Option<String>,
}

/// The selected campaign's day.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Pacing {
    pub campaign_id: String,
    pub time_zone: String,
    /// The local hour now is in (`2026-11-30T14:00:00`).
    pub current_hour: String,
    pub hours: Vec<PacingHour>,
}

/// A servingd instance (`GET /api/v1/system/status`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ServingInstance {
    pub instance: String,
    pub live: bool,
    pub revisions_behind: i64,
    pub feed_staleness_s: f64,
}

/// Refunds of one currency.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RefundTotal {
    pub currency: String,
    pub count: i64,
    pub amount: String,
}

/// The audit chain.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Chain {
    pub length: u64,
    pub signed_checkpoint_size: Option<u64>,
    pub signed_checkpoint_at: Option<String>,
}

/// The platform's status.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct System {
    pub feed_revision: i64,
    pub servingd: Vec<ServingInstance>,
    pub blocklist_size: i64,
    pub invalid_events_last_hour: i64,
    pub refunds_last_hour: Vec<RefundTotal>,
    pub audit: Chain,
}

/// Budgets compared: how many campaigns, how many out of line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Budgets {
    pub compared: usize,
    pub out_of_sync: u64,
}

/// The campaigns of a refresh.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    pub rows: Vec<CampaignRow>,
    /// More campaigns are live than the table holds ([`MAX_CAMPAIGNS`]).
    pub truncated: bool,
}

/// What reaches the UI loop.
#[derive(Debug)]
pub enum Update {
    Campaigns(Result<Listing, String>),
    System(Result<System, String>),
    Budgets(Result<Budgets, String>),
    Pacing(Result<Pacing, String>),
    /// What an action (pause, resume, reconcile) came to, in a line.
    Done(String),
    Key(crossterm::event::KeyEvent),
    Resized,
}

/// Fetches everything every [`REFRESH`] until the UI loop goes away; the selected campaign's
/// pacing follows `selected`.
pub async fn fetch(
    client: Client,
    updates: mpsc::Sender<Update>,
    mut selected: watch::Receiver<Option<String>>,
) {
    let mut ticks = tokio::time::interval(REFRESH);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round: u32 = 0;
    loop {
        let mut sent = Vec::with_capacity(4);
        tokio::select! {
            _ = ticks.tick() => {
                let campaign = selected.borrow_and_update().clone();
                if let Some(id) = campaign {
                    sent.push(Update::Pacing(pacing(&client, &id).await));
                }
                sent.push(Update::Campaigns(campaigns(&client).await));
                sent.push(Update::System(system(&client).await));
                if round.is_multiple_of(BUDGET_EVERY) {
                    sent.push(Update::Budgets(budgets(&client).await));
                }
                round = round.wrapping_add(1);
            }
            // a new selection shows its pacing at once
            changed = selected.changed() => {
                if changed.is_err() {
                    return;
                }
                let campaign = selected.borrow_and_update().clone();
                if let Some(id) = campaign {
                    sent.push(Update::Pacing(pacing(&client, &id).await));
                }
            }
        }
        for update in sent {
            if updates.send(update).await.is_err() {
                return;
            }
        }
    }
}

/// The live campaigns (active, paused, exhausted), at most [`MAX_CAMPAIGNS`].
async fn campaigns(client: &Client) -> Result<Listing, String> {
    let mut listing = Listing::default();
    for status in LIVE {
        let room = MAX_CAMPAIGNS - listing.rows.len();
        if room == 0 {
            listing.truncated = true;
            break;
        }
        let query = [("status", (*status).to_owned())];
        let mut pages = client.pages("/api/v1/reports/today", &query, Some(room + 1));
        while let Some(items) = pages.next().await.map_err(text)? {
            for item in items {
                if listing.rows.len() == MAX_CAMPAIGNS {
                    listing.truncated = true;
                    break;
                }
                let row = serde_json::from_value::<CampaignRow>(item)
                    .map_err(|e| format!("an answer adctl cannot read: {e}"))?;
                listing.rows.push(row);
            }
        }
    }
    Ok(listing)
}

async fn system(client: &Client) -> Result<System, String> {
    parsed(client.get("/api/v1/system/status", &[]).await)
}

async fn pacing(client: &Client, campaign: &str) -> Result<Pacing, String> {
    parsed(
        client
            .get(&format!("/api/v1/campaigns/{campaign}/pacing"), &[])
            .await,
    )
}

async fn budgets(client: &Client) -> Result<Budgets, String> {
    let status = client
        .get("/api/v1/budget/status", &[])
        .await
        .map_err(text)?;
    Ok(Budgets {
        compared: status["campaigns"].as_array().map_or(0, Vec::len),
        out_of_sync: status["out_of_sync"].as_u64().unwrap_or(0),
    })
}

fn parsed<T: serde::de::DeserializeOwned>(answer: Result<Value, Failure>) -> Result<T, String> {
    serde_json::from_value(answer.map_err(text)?)
        .map_err(|e| format!("an answer adctl cannot read: {e}"))
}

/// A failure in one line (the first of its lines).
fn text(failure: Failure) -> String {
    failure
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}
