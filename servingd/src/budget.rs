//! This instance's budget: one wallet per campaign it has bid for, each refilled in the
//! background from the budget controller, so the request path spends from memory and never
//! waits on Redis or PostgreSQL. A campaign's first request finds no lease (no bid) and starts
//! its refiller; shutdown settles every lease.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ledger::budget::{BudgetController, Wallet, WalletRules};
use ledger::{CampaignId, LeaseId};
use redis::aio::ConnectionLike;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::auction::BidPrice;
use crate::campaign::LiveCampaign;
use crate::id_hash::IdMap;

/// How often held leases are renewed: a third of their time to live. Each renewal is a Redis
/// script and a PostgreSQL update per lease, so with thousands of campaigns held this sets a
/// steady write load that does not depend on traffic.
pub const RENEW_EVERY: Duration = Duration::from_secs(40);

/// How long a lease should last at the campaign's pace: a campaign that wins often goes back
/// to the controller (a Redis script and a PostgreSQL row) about this rarely, not once per
/// base-sized lease.
pub const LEASE_LIFE: Duration = Duration::from_secs(20);

/// The most a lease grows beyond the base size for a campaign that spends fast.
pub const MAX_LEASE_GROWTH: i64 = 16;

/// How long a lease is spent after it was granted or last renewed: five sixths of the
/// controller's time to live, so an instance cut off from Redis stops spending well before the
/// reaper may hand the lease's budget to another.
pub const SPEND_WINDOW: Duration =
    Duration::from_millis(crate::server::LEASE_RULES.ttl_ms as u64 * 5 / 6);

struct Held {
    wallet: Arc<Wallet>,
    stop: Arc<Notify>,
    refiller: JoinHandle<()>,
}

/// The wallets of this instance.
pub struct Wallets<C> {
    controller: Arc<BudgetController<C>>,
    server: String,
    rules: WalletRules,
    held: RwLock<IdMap<Uuid, Held>>,
}

impl<C> Wallets<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Wallets of `server` that ask `controller` for `want` micros at a time.
    pub fn new(controller: Arc<BudgetController<C>>, server: &str, want: i64) -> Self {
        Wallets {
            controller,
            server: server.to_owned(),
            rules: WalletRules::fixed(want, want / 4),
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

    /// What to ask for at a time for `campaign`: at least the base size, or enough for 200 of
    /// its most expensive events when that is more (a CPC lease holds each click's whole price
    /// until it is settled, so small leases would churn); a campaign that spends fast asks for
    /// up to [`MAX_LEASE_GROWTH`] times that, enough for [`LEASE_LIFE`] at its pace.
    fn rules_for(&self, campaign: &LiveCampaign) -> WalletRules {
        let per_event = match campaign.bid {
            BidPrice::Cpm(cpm) => (cpm + 999) / 1000,
            BidPrice::Cpc(cpc) => cpc,
        };
        let want = self.rules.want.max(per_event.saturating_mul(200));
        WalletRules {
            want,
            low_water: want / 4,
            max_want: want.saturating_mul(MAX_LEASE_GROWTH),
            lease_life: LEASE_LIFE,
            spend_window: SPEND_WINDOW,
        }
    }

    /// Starts holding budget of `campaign` ahead of its first request.
    pub fn start(&self, campaign: &LiveCampaign) {
        let rules = self.rules_for(campaign);
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

    /// What is held and not spent, over every campaign, micros.
    pub fn unspent(&self) -> i64 {
        self.held
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|h| h.wallet.unspent())
            .sum()
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
