//! This instance's budget: one wallet per campaign it has bid for, each refilled in the
//! background from the budget controller, so the request path spends from memory and never
//! waits on Redis or PostgreSQL. A campaign's first request finds no lease (no bid) and starts
//! its refiller; a campaign that leaves the index (ended, paused, archived) has its leases
//! settled at once, so what they did not spend goes back to its budget; shutdown settles every
//! lease.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use budget::{BudgetController, LeaseRules, Wallet, WalletRules};
use chrono::{DateTime, Utc};
use ledger::{CampaignId, LeaseId};
use redis::aio::ConnectionLike;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::decision::auction::BidPrice;
use domain::campaign::Pacing;

use crate::decision::campaign::LiveCampaign;
use crate::decision::cost::{day_budget, unit_cost};
use crate::decision::id_hash::IdMap;
use crate::decision::index::CampaignIndex;

/// How often held leases are renewed: a third of their time to live. Each renewal is a Redis
/// script and a PostgreSQL update per lease, so with thousands of campaigns held this sets a
/// steady write load that does not depend on traffic.
pub const RENEW_EVERY: Duration = Duration::from_secs(40);

/// How long a lease should last at the campaign's pace: a campaign that wins often goes back
/// to the controller (a Redis script and a PostgreSQL row) about this rarely, not once per
/// base-sized lease.
pub const LEASE_LIFE: Duration = Duration::from_secs(20);

/// Leases: two minutes to live unless renewed (refillers renew every 40 s). A crashed
/// instance's leases come back to their campaigns two minutes and the reap grace after its
/// last renewal.
pub const LEASE_RULES: LeaseRules = LeaseRules::PLATFORM;

/// The most a lease grows beyond the base size for a campaign that spends fast.
pub const MAX_LEASE_GROWTH: i64 = 16;

/// How long a lease is spent after it was granted or last renewed: five sixths of the
/// controller's time to live, so an instance cut off from Redis stops spending well before the
/// reaper may hand the lease's budget to another.
pub const SPEND_WINDOW: Duration =
    Duration::from_millis(crate::runtime::wallets::LEASE_RULES.ttl_ms as u64 * 5 / 6);

struct Held {
    wallet: Arc<Wallet>,
    stop: Arc<Notify>,
    refiller: JoinHandle<()>,
}

/// The wallets of this instance.
pub struct Wallets<C> {
    controller: Arc<BudgetController<C>>,
    server: String,
    /// What to ask for at a time, at most, before a campaign's pace says more.
    base_want: i64,
    /// This instance's share of each campaign's day (see [`crate::runtime::pacing_board`]).
    pacing_share: f64,
    held: RwLock<IdMap<Uuid, Held>>,
}

impl<C> Wallets<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Wallets of `server` that ask `controller` for up to `want` micros at a time for a
    /// campaign that has not shown its pace yet, pacing `pacing_share` of each campaign's day.
    pub fn new(
        controller: Arc<BudgetController<C>>,
        server: &str,
        want: i64,
        pacing_share: f64,
    ) -> Self {
        Wallets {
            controller,
            server: server.to_owned(),
            base_want: want,
            pacing_share,
            held: RwLock::new(IdMap::default()),
        }
    }

    /// Spends `micros` of `campaign`'s budget from what this instance holds; the lease that paid,
    /// or `None` (no bid). Never waits.
    pub fn spend(&self, campaign: &LiveCampaign, micros: i64) -> Option<LeaseId> {
        if let Some(held) = self
            .held
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&campaign.id)
        {
            return held.wallet.try_spend(micros);
        }
        self.start(campaign);
        None
    }

    /// Starts holding budget of `campaign` ahead of its first request.
    pub fn start(&self, campaign: &LiveCampaign) {
        let now = self.controller.clock().now();
        let rules = wallet_rules(campaign, self.base_want, self.pacing_share, now);
        let campaign = campaign.id;
        let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
        if held.contains_key(&campaign) {
            return;
        }
        let wallet = Wallet::new(CampaignId(campaign), &self.server, rules);
        let stop = Arc::new(Notify::new());
        let refiller = tokio::spawn(wallet.clone().run(
            self.controller.clone(),
            RENEW_EVERY,
            stop.clone(),
        ));
        wallet.wake();
        held.insert(
            campaign,
            Held {
                wallet,
                stop,
                refiller,
            },
        );
    }

    /// Settles the leases of every campaign no longer in `index` (ended, paused, archived, its
    /// budget removed): its refiller stops and settles what it holds, so what was not spent goes
    /// back to the campaign's budget within seconds. Returns how many it let go.
    pub fn retain_live(&self, index: &CampaignIndex) -> usize {
        let gone: Vec<Held> = {
            let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
            let ids: Vec<Uuid> = held
                .keys()
                .filter(|id| index.get(**id).is_none())
                .copied()
                .collect();
            ids.iter().filter_map(|id| held.remove(id)).collect()
        };
        for h in &gone {
            // the refiller settles everything on its way out
            h.stop.notify_one();
        }
        gone.len()
    }

    /// Whether this instance holds a wallet for `campaign`.
    pub fn holds(&self, campaign: Uuid) -> bool {
        self.held
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&campaign)
    }

    /// What is held and not spent, per campaign, micros of the campaign's currency.
    pub fn unspent(&self) -> Vec<(Uuid, i64)> {
        self.held
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(id, h)| (*id, h.wallet.unspent()))
            .collect()
    }

    /// Settles every lease held (shutdown).
    pub async fn close(&self) {
        let held: Vec<Held> = self
            .held
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, h)| h)
            .collect();
        for h in &held {
            h.stop.notify_one();
        }
        for h in held {
            if let Err(e) = h.refiller.await {
                tracing::warn!(error = %e, "a wallet refiller ended badly");
            }
        }
    }
}

/// How a wallet of `campaign` asks for leases, at `now`. The first lease follows the campaign's
/// pace: an even-paced campaign asks for what it should spend over [`LEASE_LIFE`] at the pace
/// that spreads its day's budget (this instance's share) over what is left of its day, at
/// least one event and at most `base_want`; an accelerated one asks for `base_want`, or 200 of
/// its most expensive events when that is more. A campaign that spends faster asks for up to
/// [`MAX_LEASE_GROWTH`] times that, enough for [`LEASE_LIFE`] at its pace. (The controller
/// still grants at most a tenth of what is left, shared among the servers asking.)
pub fn wallet_rules(
    campaign: &LiveCampaign,
    base_want: i64,
    pacing_share: f64,
    now: DateTime<Utc>,
) -> WalletRules {
    let unit = unit_cost(campaign).max(1);
    let paced = match (campaign.pacing, day_budget(campaign)) {
        (Pacing::Even, Some(day)) => {
            let local = now.with_timezone(&campaign.time_zone);
            let left_s = 86_400 - i64::from(chrono::Timelike::num_seconds_from_midnight(&local));
            let share = (day as f64 * pacing_share) as i64;
            let life_s = LEASE_LIFE.as_secs() as i64;
            Some(i128::from(share) * i128::from(life_s) / i128::from(left_s.max(life_s)))
        }
        _ => None,
    };
    let want = match paced {
        Some(paced) => i64::try_from(paced)
            .unwrap_or(i64::MAX)
            .clamp(unit, base_want.max(unit)),
        None => base_want.max(unit.saturating_mul(200)),
    };
    WalletRules {
        want,
        low_water: want / 4,
        max_want: want.saturating_mul(MAX_LEASE_GROWTH),
        lease_life: LEASE_LIFE,
        spend_window: SPEND_WINDOW,
        unit,
        per_click: matches!(campaign.bid, BidPrice::Cpc(_)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::campaign::Campaign;
    use serde_json::json;

    fn campaign(bid: &str, kind: &str, pacing: &str, daily: &str) -> LiveCampaign {
        let feed: Campaign = serde_json::from_value(json!({
            "id": Uuid::from_u128(1), "advertiser_id": Uuid::from_u128(2),
            "status": "active", "currency": "USD", "revision": 1,
            "name": "c", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "schedule": {"start": "2026-01-01T00:00:00Z", "time_zone": "America/New_York"},
            "budget": {"daily": daily}, "bid": {"kind": kind, "amount": bid}, "pacing": pacing,
            "targeting": {}, "creatives": [{"id": "c", "format": "banner", "w": 300, "h": 250,
                           "click_url": "https://a.example", "markup": "x", "adomain": "a.example"}]
        }))
        .expect("feed");
        LiveCampaign::compile(&feed).expect("compiles")
    }

    /// 19:42 in New York.
    fn evening() -> DateTime<Utc> {
        "2026-11-30T00:42:00Z".parse().expect("time")
    }

    #[test]
    fn an_even_campaign_asks_for_what_its_pace_spends_in_a_lease_life() {
        // 200 a day, 4 h 18 min left: 200 × 20 s / 15,480 s = 0.258397
        let rules = wallet_rules(
            &campaign("2.40", "cpm", "even", "200"),
            2_000_000,
            1.0,
            evening(),
        );
        assert_eq!(rules.want, 258_397);
        assert_eq!(rules.unit, 2_400);
        assert_eq!(rules.max_want, 258_397 * MAX_LEASE_GROWTH);
        // half the day's pace on each of two instances
        let half = wallet_rules(
            &campaign("2.40", "cpm", "even", "200"),
            2_000_000,
            0.5,
            evening(),
        );
        assert_eq!(half.want, 129_198);
        // a small budget: one impression's worth at least
        let small = wallet_rules(
            &campaign("9.50", "cpm", "even", "0.50"),
            2_000_000,
            1.0,
            evening(),
        );
        assert_eq!(small.want, 9_500);
        // never above the base want
        let big = wallet_rules(
            &campaign("2", "cpm", "even", "100000"),
            2_000_000,
            1.0,
            evening(),
        );
        assert_eq!(big.want, 2_000_000);
    }

    #[test]
    fn an_accelerated_campaign_asks_for_the_base_or_200_events() {
        let cpm = wallet_rules(
            &campaign("9", "cpm", "accelerated", "1"),
            2_000_000,
            1.0,
            evening(),
        );
        assert_eq!((cpm.want, cpm.unit), (2_000_000, 9_000));
        let cpc = wallet_rules(
            &campaign("0.35", "cpc", "accelerated", "120"),
            2_000_000,
            1.0,
            evening(),
        );
        // one impression costs at most 0.35 at a 5% click rate: 200 of them
        assert_eq!(
            (cpc.want, cpc.unit, cpc.per_click),
            (3_500_000, 17_500, true)
        );
    }
}
