//! The in-memory campaign index, built from the API's feed: the active campaigns, compiled, and
//! looked up by country and media kind, each beside its pacing [`Throttle`] (run-time state,
//! carried from index to index while the campaign stays live). An index is immutable (but for
//! the throttles and the copies of their probabilities the pacing step refreshes in its
//! entries); changes build a new one that the server swaps in whole, so a request sees one
//! revision of every campaign, never half an update.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

use crate::decision::auction::BidPrice;
use domain::campaign::Pacing;

use crate::decision::campaign::{FeedEntry, LiveCampaign, Unservable};
use crate::decision::eligibility::{Gate, Rates};
use crate::decision::request::{Media, Size};
use crate::decision::throttle::Throttle;

/// Active campaigns at one feed revision.
#[derive(Debug, Clone, Default)]
pub struct CampaignIndex {
    revision: i64,
    rates: Rates,
    campaigns: HashMap<Uuid, Arc<LiveCampaign>>,
    /// Each live campaign's pacing state on this instance (what it spent today, its
    /// probability of entering an auction), kept beside the compiled campaigns.
    throttles: HashMap<Uuid, Arc<Throttle>>,
    /// (country or `None` for campaigns that target every country, media, a creative size or
    /// `None` for any size) → campaigns, the most an impression can be worth to them first.
    lookup: HashMap<Key, Vec<Entry>>,
}

/// A campaign in a lookup list, with what the scan of a request reads of every campaign it
/// passes kept inline, so the scan walks memory in order and touches the campaign itself only
/// for those it considers.
#[derive(Debug)]
pub struct Entry {
    pub id: Uuid,
    /// What eligibility reads first (schedule, which rules are set).
    pub gate: Gate,
    /// The bid in the platform currency (CPM or CPC).
    pub bid_platform_micros: i64,
    /// A CPC bid (else CPM).
    pub cpc: bool,
    /// Even pacing: the throttle applies.
    pub paced: bool,
    /// A copy of the campaign's throttle probability (its [`Throttle`]), refreshed by every
    /// pacing step ([`CampaignIndex::refresh_throttles`]): the campaign's own cell lives
    /// elsewhere in memory, and most campaigns the scan passes are turned away by it.
    probability_bits: AtomicU64,
    /// Auctions this entry reached the throttle for, and those it passed, since the last pacing
    /// step collected them ([`CampaignIndex::collect_counts`]): counted here, beside the
    /// probability, rather than in the campaign's cell.
    opportunities: AtomicU64,
    entries: AtomicU64,
    pub campaign: Arc<LiveCampaign>,
    /// The campaign's throttle (a spend adds to it).
    pub throttle: Arc<Throttle>,
}

impl Clone for Entry {
    fn clone(&self) -> Self {
        Entry {
            id: self.id,
            gate: self.gate,
            bid_platform_micros: self.bid_platform_micros,
            cpc: self.cpc,
            paced: self.paced,
            probability_bits: AtomicU64::new(self.probability_bits.load(Ordering::Relaxed)),
            // counts are collected from the original
            opportunities: AtomicU64::new(0),
            entries: AtomicU64::new(0),
            campaign: self.campaign.clone(),
            throttle: self.throttle.clone(),
        }
    }
}

impl Entry {
    /// Whether the campaign's throttle lets it into this auction, given a uniform draw in
    /// [0, 1).
    /// The opportunity, and the entry when it passes, are counted for pacing.
    pub fn passes_throttle(&self, draw: f64) -> bool {
        if !self.paced {
            return true;
        }
        let passes = draw < f64::from_bits(self.probability_bits.load(Ordering::Relaxed));
        self.opportunities.fetch_add(1, Ordering::Relaxed);
        if passes {
            self.entries.fetch_add(1, Ordering::Relaxed);
        }
        passes
    }

    fn refresh_throttle(&self) {
        let p = self.throttle.probability();
        self.probability_bits.store(p.to_bits(), Ordering::Relaxed);
    }
}

/// A lookup key: country (alpha-2 as two bytes), media kind, creative size, CPC bids (`true`)
/// or CPM bids.
type Key = (Option<[u8; 2]>, Media, Option<Size>, bool);

fn country_key(code: &str) -> Option<[u8; 2]> {
    let b = code.as_bytes();
    (b.len() == 2).then(|| [b[0], b[1]])
}

/// A feed campaign left out, and why (status other than active is not listed).
pub type Skipped = Vec<(Uuid, Unservable)>;

impl CampaignIndex {
    /// An empty index valuing bids with `rates`.
    pub fn empty(rates: Rates) -> CampaignIndex {
        CampaignIndex {
            rates,
            ..CampaignIndex::default()
        }
    }

    /// The index of a snapshot, bids valued with this index's rates.
    pub fn from_snapshot(
        &self,
        revision: i64,
        campaigns: Vec<impl Into<FeedEntry>>,
    ) -> (CampaignIndex, Skipped) {
        let mut index = CampaignIndex {
            revision,
            rates: self.rates.clone(),
            ..CampaignIndex::default()
        };
        let skipped = index.apply(campaigns, &self.throttles);
        index.rebuild_lookup();
        (index, skipped)
    }

    /// This index with `changes` (each the campaign after its change) applied, at `revision`.
    pub fn with_changes(
        &self,
        revision: i64,
        changes: Vec<impl Into<FeedEntry>>,
    ) -> (CampaignIndex, Skipped) {
        let mut index = CampaignIndex {
            revision,
            rates: self.rates.clone(),
            campaigns: self.campaigns.clone(),
            throttles: self.throttles.clone(),
            lookup: HashMap::new(),
        };
        let skipped = index.apply(changes, &self.throttles);
        index.rebuild_lookup();
        (index, skipped)
    }

    /// Compiles `campaigns` into this index; a campaign with a throttle in `previous` keeps it
    /// (what it spent today, its pacing), a new one starts a fresh one.
    fn apply(
        &mut self,
        campaigns: impl IntoIterator<Item = impl Into<FeedEntry>>,
        previous: &HashMap<Uuid, Arc<Throttle>>,
    ) -> Skipped {
        let mut skipped = Vec::new();
        for entry in campaigns {
            let entry = entry.into();
            let id = entry.id();
            let compiled = match entry {
                FeedEntry::Campaign(campaign) => LiveCampaign::compile(&campaign),
                FeedEntry::Unreadable { error, .. } => Err(Unservable::Unreadable(error)),
            };
            match compiled.and_then(|live| self.valued(live)) {
                Ok(live) => {
                    let throttle = previous.get(&live.id).cloned().unwrap_or_default();
                    self.throttles.insert(live.id, throttle);
                    self.campaigns.insert(live.id, Arc::new(live));
                }
                Err(why) => {
                    self.campaigns.remove(&id);
                    self.throttles.remove(&id);
                    if !matches!(why, Unservable::NotActive(_)) {
                        skipped.push((id, why));
                    }
                }
            }
        }
        skipped
    }

    /// Sets the campaign's bid in the platform currency.
    fn valued(&self, mut live: LiveCampaign) -> Result<LiveCampaign, Unservable> {
        let bid = match live.bid {
            BidPrice::Cpm(m) | BidPrice::Cpc(m) => m,
        };
        live.bid_platform_micros = self
            .rates
            .bid(bid, live.currency.code())
            .ok_or(Unservable::Currency(live.currency))?;
        Ok(live)
    }

    fn rebuild_lookup(&mut self) {
        let mut lookup: HashMap<Key, Vec<Entry>> = HashMap::new();
        let mut ordered: Vec<&Arc<LiveCampaign>> = self.campaigns.values().collect();
        ordered.sort_by_key(|c| (std::cmp::Reverse(c.bid_platform_micros), c.id));
        for campaign in ordered {
            let throttle = &self.throttles[&campaign.id];
            let mut keys: Vec<(Media, Option<Size>)> = Vec::new();
            for creative in &campaign.creatives {
                for key in [
                    (creative.media, Some(creative.size)),
                    (creative.media, None),
                ] {
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
            let countries: Vec<Option<[u8; 2]>> = if campaign.targeting.countries.is_empty() {
                vec![None]
            } else {
                campaign
                    .targeting
                    .countries
                    .iter()
                    .filter_map(|c| country_key(c))
                    .map(Some)
                    .collect()
            };
            for country in &countries {
                let cpc = matches!(campaign.bid, BidPrice::Cpc(_));
                for (media, size) in &keys {
                    lookup
                        .entry((*country, *media, *size, cpc))
                        .or_default()
                        .push(Entry {
                            id: campaign.id,
                            gate: Gate::of(campaign),
                            bid_platform_micros: campaign.bid_platform_micros,
                            cpc,
                            paced: campaign.pacing == Pacing::Even,
                            probability_bits: AtomicU64::new(throttle.probability().to_bits()),
                            opportunities: AtomicU64::new(0),
                            entries: AtomicU64::new(0),
                            campaign: campaign.clone(),
                            throttle: throttle.clone(),
                        });
                }
            }
        }
        self.lookup = lookup;
    }

    /// Moves what every entry counted since the last call into its campaign's throttle (the
    /// pacing step calls it before reading them).
    pub fn collect_counts(&self) {
        for entry in self.lookup.values().flatten() {
            let opportunities = entry.opportunities.swap(0, Ordering::Relaxed);
            let entries = entry.entries.swap(0, Ordering::Relaxed);
            if opportunities > 0 {
                entry.throttle.count(opportunities, entries);
            }
        }
    }

    /// Copies every campaign's throttle probability into its entries (the pacing step calls
    /// it after setting them).
    pub fn refresh_throttles(&self) {
        for entry in self.lookup.values().flatten() {
            entry.refresh_throttle();
        }
    }

    /// The feed revision this index reflects.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// How many campaigns are live.
    pub fn len(&self) -> usize {
        self.campaigns.len()
    }

    /// Whether no campaign is live.
    pub fn is_empty(&self) -> bool {
        self.campaigns.is_empty()
    }

    /// A live campaign.
    pub fn get(&self, id: Uuid) -> Option<&Arc<LiveCampaign>> {
        self.campaigns.get(&id)
    }

    /// A live campaign's throttle.
    pub fn throttle(&self, id: Uuid) -> Option<&Arc<Throttle>> {
        self.throttles.get(&id)
    }

    /// Every live campaign.
    pub fn campaigns(&self) -> impl Iterator<Item = &Arc<LiveCampaign>> {
        self.campaigns.values()
    }

    /// Every live campaign with its throttle.
    pub fn with_throttles(&self) -> impl Iterator<Item = (&Arc<LiveCampaign>, &Arc<Throttle>)> {
        self.campaigns
            .iter()
            .filter_map(|(id, c)| Some((c, self.throttles.get(id)?)))
    }

    /// The rates bids are valued with.
    pub fn rates(&self) -> &Rates {
        &self.rates
    }

    /// The lists of campaigns that may target a request from `country` with a creative of
    /// `media` and `size` (`None`: any size): CPM campaigns targeting every country and that
    /// country, then CPC campaigns likewise; each list the highest bid first. A campaign is in
    /// one of them at most.
    pub fn lists(&self, country: Option<&str>, media: Media, size: Option<Size>) -> [&[Entry]; 4] {
        let country = country.and_then(country_key);
        let list = |country: Option<[u8; 2]>, cpc: bool| {
            self.lookup
                .get(&(country, media, size, cpc))
                .map_or(&[][..], Vec::as_slice)
        };
        let here = |cpc| country.map_or(&[][..], |c| list(Some(c), cpc));
        [list(None, false), here(false), list(None, true), here(true)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A campaign of the feed as servingd reads it (an unreadable one is still an entry).
    fn feed(id: u128, status: &str, countries: &[&str], format: &str, bid: &str) -> FeedEntry {
        FeedEntry::read(json!({
            "id": Uuid::from_u128(id), "advertiser_id": Uuid::from_u128(999),
            "status": status, "currency": "USD", "revision": 1,
            "name": "c", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "schedule": {"start": "2026-01-01T00:00:00Z", "time_zone": "UTC"},
            "budget": {"daily": "10"}, "bid": {"kind": "cpm", "amount": bid}, "pacing": "even",
            "targeting": {"countries": countries}, "frequency_cap": null,
            "creatives": [{"id": "c", "format": format, "w": 300, "h": 250,
                           "click_url": "https://a.example", "markup": "x", "adomain": "a.example"}]
        }))
    }

    fn ids(lists: [&[Entry]; 4]) -> Vec<u128> {
        let mut v: Vec<u128> = lists
            .iter()
            .copied()
            .flatten()
            .map(|e| e.campaign.id.as_u128())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn only_active_campaigns_are_indexed_and_looked_up_by_country_and_media() {
        let (index, skipped) = CampaignIndex::empty(Rates::default()).from_snapshot(
            5,
            vec![
                feed(1, "active", &["FR"], "banner", "1"),
                feed(2, "active", &[], "banner", "1"),
                feed(3, "paused", &["FR"], "banner", "1"),
                feed(4, "active", &["DE", "FR"], "video", "1"),
                feed(5, "active", &["FR"], "banner", "not money"),
            ],
        );
        assert_eq!(index.revision(), 5);
        assert_eq!(index.len(), 3);
        assert_eq!(
            skipped.len(),
            1,
            "the unreadable bid is reported: {skipped:?}"
        );
        assert!(
            matches!(&skipped[0], (id, Unservable::Unreadable(_)) if *id == Uuid::from_u128(5)),
            "{skipped:?}"
        );
        let mrec = Some(Size { w: 300, h: 250 });
        assert_eq!(ids(index.lists(Some("FR"), Media::Banner, mrec)), [1, 2]);
        assert_eq!(ids(index.lists(Some("FR"), Media::Banner, None)), [1, 2]);
        assert_eq!(ids(index.lists(Some("DE"), Media::Banner, mrec)), [2]);
        assert_eq!(ids(index.lists(None, Media::Banner, mrec)), [2]);
        assert_eq!(ids(index.lists(Some("DE"), Media::Video, mrec)), [4]);
        let leaderboard = Some(Size { w: 728, h: 90 });
        assert_eq!(
            ids(index.lists(Some("FR"), Media::Banner, leaderboard)),
            Vec::<u128>::new()
        );
    }

    #[test]
    fn changes_replace_remove_and_add() {
        let (index, _) = CampaignIndex::empty(Rates::default())
            .from_snapshot(1, vec![feed(1, "active", &[], "banner", "1")]);
        let (next, _) = index.with_changes(
            3,
            vec![
                feed(1, "paused", &[], "banner", "1"),
                feed(2, "active", &[], "banner", "2"),
            ],
        );
        assert_eq!(index.len(), 1, "the old index is untouched");
        assert_eq!(next.revision(), 3);
        assert_eq!(ids(next.lists(None, Media::Banner, None)), [2]);
    }

    #[test]
    fn a_changed_or_reloaded_campaign_keeps_what_it_spent_today() {
        let (index, _) = CampaignIndex::empty(Rates::default())
            .from_snapshot(1, vec![feed(1, "active", &[], "banner", "1")]);
        let throttle = index.throttle(Uuid::from_u128(1)).expect("live").clone();
        throttle.spend(1_234);
        let (changed, _) = index.with_changes(2, vec![feed(1, "active", &["FR"], "banner", "2")]);
        let (reloaded, _) =
            changed.from_snapshot(3, vec![feed(1, "active", &["FR"], "banner", "2")]);
        for index in [&changed, &reloaded] {
            let live = index.throttle(Uuid::from_u128(1)).expect("live");
            assert!(Arc::ptr_eq(live, &throttle));
            assert_eq!(live.spent_today(), 1_234);
            let entries = index.lists(Some("FR"), Media::Banner, None);
            assert!(Arc::ptr_eq(&entries[1][0].throttle, &throttle));
        }
        let (fresh, _) = CampaignIndex::empty(Rates::default())
            .from_snapshot(4, vec![feed(1, "active", &[], "banner", "1")]);
        let live = fresh.throttle(Uuid::from_u128(1)).expect("live");
        assert_eq!(live.spent_today(), 0, "a new index starts fresh");
    }

    /// A change servingd cannot read (a creative format this build does not know) takes the
    /// campaign out rather than leaving its last version serving; the others stay.
    #[test]
    fn an_unreadable_change_takes_the_campaign_out() {
        let (index, _) = CampaignIndex::empty(Rates::default()).from_snapshot(
            1,
            vec![
                feed(1, "active", &[], "banner", "1"),
                feed(2, "active", &[], "banner", "1"),
            ],
        );
        let (changed, skipped) = index.with_changes(2, vec![feed(1, "active", &[], "audio", "1")]);
        assert_eq!(changed.len(), 1);
        assert!(changed.get(Uuid::from_u128(1)).is_none());
        assert!(changed.get(Uuid::from_u128(2)).is_some());
        assert!(
            matches!(&skipped[..], [(id, Unservable::Unreadable(_))] if *id == Uuid::from_u128(1)),
            "{skipped:?}"
        );
    }

    /// A campaign carrying fields this build does not know (the API added them after it) is
    /// read and served all the same.
    #[test]
    fn fields_this_build_does_not_know_are_ignored() {
        let FeedEntry::Campaign(campaign) = feed(1, "active", &["FR"], "banner", "1") else {
            panic!("readable");
        };
        let mut value = serde_json::to_value(&campaign).expect("json");
        value["targeting"]["weather"] = json!(["sunny"]);
        value["creatives"][0]["sound"] = json!(true);
        value["label"] = json!("new");
        let (index, skipped) =
            CampaignIndex::empty(Rates::default()).from_snapshot(1, vec![FeedEntry::read(value)]);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert!(index.get(Uuid::from_u128(1)).is_some());
    }
}
