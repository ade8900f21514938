//! Everything a request needs, shared by the handlers and the background tasks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};

use budget::BudgetController;
use domain::Currency;
use ledger::Clock;
use redis::aio::ConnectionManager;

use crate::decision::breaker::Breaker;
use crate::decision::ctr::CtrModel;
use crate::decision::eligibility::Rates;
use crate::decision::shedding::ValueTracker;
use crate::runtime::caps::FrequencyCaps;
use crate::runtime::feed::LiveIndex;
use crate::runtime::key_rings::SharedTrackingKeys;
use crate::runtime::pacing_board::PacingBoard;
use crate::runtime::request_metrics::RequestMetrics;
use crate::runtime::wallets::Wallets;
use crate::settings::Settings;
use arc_swap::ArcSwap;
use events::EventStream;
use fraud::Blocklist;
use fraud::score::Rules as FraudRules;
use fraud::windows::FraudWindows;
use partners::Directory;

/// What a running servingd shares between its handlers and background tasks: the live index,
/// the wallets, the caps, the pacing board, the clock, the metrics.
pub struct ServingState {
    pub settings: Settings,
    /// Where the serving path reads the time (schedules, day-parting, pacing, caps, tokens).
    pub clock: Arc<dyn Clock>,
    pub live: Arc<LiveIndex>,
    pub rates: Rates,
    pub ctr: Arc<dyn CtrModel>,
    pub caps: FrequencyCaps<ConnectionManager>,
    pub caps_breaker: Mutex<Breaker>,
    pub controller: Arc<BudgetController<ConnectionManager>>,
    pub wallets: Wallets<ConnectionManager>,
    pub pacing: PacingBoard,
    pub metrics: RequestMetrics,
    pub in_flight: AtomicUsize,
    pub values: Mutex<ValueTracker>,
    /// The budget controller answered lately (Redis and PostgreSQL reachable).
    pub budget_reachable: AtomicBool,
    pub redis: ConnectionManager,
    pub db: sqlx::PgPool,
    /// Signs and verifies the tracking URLs (a rotation in Vault swaps them).
    pub tracking: SharedTrackingKeys,
    /// Where verified events go.
    pub events: EventStream,
    /// The supply partners allowed to ask for ads, reloaded when they change.
    pub partners: ArcSwap<Directory>,
    /// Known-bad IPs and device ids (fraud level 1), reloaded when the list changes.
    pub blocklist: ArcSwap<Blocklist>,
    /// Per-IP and per-device activity (fraud level 2), and how it is judged.
    pub fraud_windows: FraudWindows,
    pub fraud_rules: FraudRules,
}

impl ServingState {
    /// Leased budget held and not spent, by currency, micros: every currency of the campaigns
    /// served appears, at zero when nothing of it is held (a gauge once set keeps its value).
    pub fn unspent_by_currency(&self) -> BTreeMap<Currency, i64> {
        let index = self.live.load();
        let mut by_currency: BTreeMap<Currency, i64> =
            index.campaigns().map(|c| (c.currency, 0)).collect();
        for (campaign, micros) in self.wallets.unspent() {
            if let Some(c) = index.get(campaign) {
                *by_currency.entry(c.currency).or_default() += micros;
            }
        }
        by_currency
    }

    /// Whether Redis and PostgreSQL both answer.
    pub async fn budget_dependencies_answer(&self) -> bool {
        let mut redis = self.redis.clone();
        let redis_ok = redis::cmd("PING")
            .query_async::<String>(&mut redis)
            .await
            .is_ok();
        let db_ok = sqlx::query("select 1").execute(&self.db).await.is_ok();
        redis_ok && db_ok
    }
}
