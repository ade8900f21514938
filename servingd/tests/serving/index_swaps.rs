//! The index is swapped whole: readers running beside a writer never see two revisions at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use domain::campaign::Campaign;
use serde_json::json;
use servingd::decision::auction::BidPrice;
use servingd::decision::eligibility::Rates;
use servingd::decision::index::CampaignIndex;
use servingd::runtime::feed::LiveIndex;
use uuid::Uuid;

fn campaign(n: u128, revision: i64) -> Campaign {
    serde_json::from_value(json!({
        "id": Uuid::from_u128(n), "advertiser_id": Uuid::from_u128(7),
        "status": "active", "currency": "USD", "revision": revision,
        "name": "c", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "schedule": {"start": "2026-01-01T00:00:00Z", "time_zone": "UTC"},
        "budget": {"daily": "10"},
        // every campaign of a revision bids that revision's price
        "bid": {"kind": "cpm", "amount": format!("{revision}")},
        "pacing": "even", "targeting": {}, "frequency_cap": null,
        "creatives": [{"id": "c", "format": "banner", "w": 300, "h": 250,
                       "click_url": "https://a.example", "markup": "x", "adomain": "a.example"}]
    }))
    .expect("campaign")
}

#[test]
fn readers_never_see_half_an_update() {
    const CAMPAIGNS: u128 = 500;
    let live = Arc::new(LiveIndex::new(Rates::default()));
    let (first, _) = CampaignIndex::empty(Rates::default())
        .from_snapshot(1, (0..CAMPAIGNS).map(|n| campaign(n, 1)).collect());
    live.store(first);
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (live, done) = (live.clone(), done.clone());
            std::thread::spawn(move || {
                let mut checked = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let index = live.load();
                    let expected = BidPrice::Cpm(index.revision() * 1_000_000);
                    assert_eq!(index.len(), CAMPAIGNS as usize);
                    for c in index.campaigns() {
                        assert_eq!(c.bid, expected, "a campaign of another revision");
                    }
                    checked += 1;
                }
                checked
            })
        })
        .collect();
    for revision in 2..=60 {
        let current = live.load();
        let changes = (0..CAMPAIGNS).map(|n| campaign(n, revision)).collect();
        let (next, _) = current.with_changes(revision, changes);
        live.store(next);
    }
    done.store(true, Ordering::Relaxed);
    let checked: u64 = readers.into_iter().map(|r| r.join().expect("reader")).sum();
    assert!(checked > 0);
    assert_eq!(live.load().revision(), 60);
}
