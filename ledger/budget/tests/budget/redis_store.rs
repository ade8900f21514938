//! The Redis budget scripts against their pure twin: the same random operations on a real Redis
//! (single node and cluster) and on `CampaignBudget` give the same answers and the same state.

use std::collections::{BTreeMap, HashMap};

use budget::{
    Allocation, CampaignBudget, Installed, LeaseError, LeaseRules, OpenLease, Reaped,
    RedisBudgetStore, Settlement, StoreError, Want,
};
use ledger::CampaignId;
use ledger::LeaseId;
use rand::{Rng, SeedableRng, rngs::StdRng};
use redis::aio::ConnectionLike;

const RULES: LeaseRules = LeaseRules {
    ttl_ms: 1_000,
    server_window_ms: 3_000,
};

pub async fn single_node() -> RedisBudgetStore<redis::aio::MultiplexedConnection> {
    RedisBudgetStore::new(test_support::redis().await)
}

pub async fn cluster() -> RedisBudgetStore<redis::cluster_async::ClusterConnection> {
    RedisBudgetStore::new(test_support::redis_cluster().await)
}

/// Runs `steps` random operations on one campaign in Redis and in the pure model, comparing
/// every answer, then the whole state.
async fn differential<C: ConnectionLike + Clone + Send + Sync>(
    store: &RedisBudgetStore<C>,
    seed: u64,
    steps: usize,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let campaign = CampaignId::new();
    let budget = rng.random_range(10_000..2_000_000);
    let mut now = 1_800_000_000_000i64;
    let mut leases: Vec<(LeaseId, i64)> = Vec::new();
    // half the runs start as a rebuild that found requests without their answers (pending),
    // as a real history leaves them: what they could have been granted fits the budget
    let mut model = if rng.random_bool(0.5) {
        let spent = rng.random_range(0..budget / 2);
        let mut left = budget - spent;
        let open: BTreeMap<LeaseId, OpenLease> = (0..rng.random_range(1..4))
            .map(|n| {
                let want = rng.random_range(1..=left.max(2) / 2);
                left -= want;
                let lease = LeaseId::new();
                leases.push((lease, want));
                let open = OpenLease {
                    server: format!("server-{n}"),
                    granted: want,
                    deadline_ms: now + 500,
                    pending: true,
                };
                (lease, open)
            })
            .collect();
        CampaignBudget::rebuilt(budget, 7, spent, open).0
    } else {
        CampaignBudget::new(budget)
    };
    assert_eq!(
        store.install(campaign, &model).await.expect("install"),
        Installed::New
    );
    for step in 0..steps {
        match rng.random_range(0..12) {
            11 if !leases.is_empty() => {
                // a closed lease's count set to its clicks (any lease: open ones are refused)
                let (lease, granted) = leases[rng.random_range(0..leases.len())];
                let counted = rng.random_range(-1..=granted * 2);
                let expected = model.adjust(lease, counted);
                let got = store
                    .adjust(campaign, lease, counted)
                    .await
                    .expect("adjust");
                assert_eq!(got, expected, "step {step}: adjust");
            }
            10 => {
                // the ledger's budget changed: resized in version order
                let (budget, version) = (rng.random_range(0..3_000_000), rng.random_range(0..20));
                let expected = model.resize(budget, version);
                let mut asked = model.clone();
                asked.budget = budget;
                asked.version = version;
                let got = store.install(campaign, &asked).await.expect("resize");
                let expected = if expected {
                    Installed::Resized
                } else {
                    Installed::Current
                };
                assert_eq!(got, expected, "step {step}: resize");
            }
            0..=3 => {
                let lease = if !leases.is_empty() && rng.random_ratio(1, 6) {
                    leases[rng.random_range(0..leases.len())].0
                } else {
                    LeaseId::new()
                };
                let server = format!("server-{}", rng.random_range(0..4));
                let want = rng.random_range(-10..300_000);
                let unit = rng.random_range(0..20_000);
                let want = match rng.random_bool(0.3) {
                    true => Want::per_click(want, unit),
                    false => Want::per_impression(want, unit),
                };
                let expected = model.allocate(lease, &server, want, now, &RULES);
                let got = store
                    .allocate(campaign, lease, &server, want, now, &RULES)
                    .await
                    .expect("allocate");
                assert_eq!(got, expected, "step {step}: allocate");
                if let Ok(Allocation::Granted { amount, .. }) = got {
                    leases.push((lease, amount));
                }
            }
            4..=5 if !leases.is_empty() => {
                let (lease, granted) = leases[rng.random_range(0..leases.len())];
                let spent = match rng.random_range(0..10) {
                    0 => granted + 1,
                    1 => -1,
                    _ => rng.random_range(0..=granted),
                };
                let expected = model.settle(lease, spent, now);
                let got = store
                    .settle(campaign, lease, spent, now)
                    .await
                    .expect("settle");
                assert_eq!(got, expected, "step {step}: settle");
            }
            6 if !leases.is_empty() => {
                let (lease, _) = leases[rng.random_range(0..leases.len())];
                let expected = model.renew(lease, now, &RULES);
                let got = store
                    .renew(campaign, lease, now, &RULES)
                    .await
                    .expect("renew");
                assert_eq!(got, expected, "step {step}: renew");
            }
            7 => now += rng.random_range(1..1_500),
            8 if rng.random_ratio(1, 3) => {
                let before = now - rng.random_range(0..4_000);
                let expected = model.forget_closed(before);
                let got = store
                    .forget_closed(campaign, before)
                    .await
                    .expect("forget closed");
                assert_eq!(got, expected, "step {step}: forget closed");
            }
            _ => {
                let grace = 300;
                let due: HashMap<LeaseId, i64> = model
                    .open
                    .iter()
                    .filter(|(_, l)| l.deadline_ms + grace <= now)
                    .map(|(id, l)| (*id, rng.random_range(0..=l.granted + 10)))
                    .collect();
                let mut expected = model.reap(now, grace, |lease| due[&lease]);
                expected.sort();
                let mut got = Vec::new();
                for (lease, ledger_spent) in &due {
                    match store
                        .reap(campaign, *lease, *ledger_spent, now, grace)
                        .await
                        .expect("reap")
                    {
                        Reaped::Closed { returned, .. } => got.push((*lease, returned)),
                        other => panic!("step {step}: a due lease was {other:?}"),
                    }
                }
                got.sort();
                assert_eq!(got, expected, "step {step}: reap");
            }
        }
        assert!(model.is_consistent(), "step {step}: {model:?}");
    }
    let stored = store.load(campaign).await.expect("load").expect("state");
    assert_eq!(stored, model, "the whole state after {steps} steps");
}

#[tokio::test]
async fn scripts_match_the_model_on_a_single_node() {
    let store = single_node().await;
    for seed in 0..25 {
        differential(&store, seed, 120).await;
    }
}

#[tokio::test]
async fn scripts_match_the_model_on_a_cluster() {
    let store = cluster().await;
    for seed in 100..125 {
        differential(&store, seed, 120).await;
    }
}

#[tokio::test]
async fn a_missing_state_is_reported_before_anything_changes() {
    let store = single_node().await;
    let campaign = CampaignId::new();
    let lease = LeaseId::new();
    assert!(matches!(
        store.allocate(campaign, lease, "s1", Want::per_impression(100, 10), 0, &RULES).await,
        Err(StoreError::Missing(c)) if c == campaign
    ));
    assert!(matches!(
        store.settle(campaign, lease, 0, 0).await,
        Err(StoreError::Missing(_))
    ));
    assert!(store.load(campaign).await.expect("load").is_none());

    let state = CampaignBudget::new(50_000);
    assert_eq!(
        store.install(campaign, &state).await.expect("install"),
        Installed::New
    );
    assert_eq!(
        store
            .install(campaign, &CampaignBudget::new(1))
            .await
            .expect("again"),
        Installed::Current,
        "never overwrites"
    );
    assert_eq!(
        store
            .allocate(
                campaign,
                lease,
                "s1",
                Want::per_impression(100, 10),
                0,
                &RULES
            )
            .await
            .expect("allocate"),
        Ok(Allocation::Granted {
            amount: 100,
            deadline_ms: 1_000
        })
    );
    assert_eq!(
        store.settle(campaign, lease, 40, 0).await.expect("settle"),
        Ok(Settlement::Settled { returned: 60 })
    );
    assert_eq!(
        store.settle(campaign, lease, 41, 0).await.expect("settle"),
        Err(LeaseError::SettleConflict {
            recorded: 40,
            reported: 41
        })
    );
}

#[tokio::test]
async fn bad_server_names_and_budgets_are_refused() {
    let store = single_node().await;
    let campaign = CampaignId::new();
    assert!(matches!(
        store
            .install(
                campaign,
                &CampaignBudget::new(budget::redis_store::MAX_BUDGET_MICROS + 1)
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    store
        .install(campaign, &CampaignBudget::new(1_000))
        .await
        .expect("install");
    for bad in ["", "a|b", "with space", &"x".repeat(201)] {
        assert!(
            matches!(
                store
                    .allocate(
                        campaign,
                        LeaseId::new(),
                        bad,
                        Want::per_impression(1, 1),
                        0,
                        &RULES
                    )
                    .await,
                Err(StoreError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
}
