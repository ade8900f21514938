use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;

use super::*;
use crate::budget::LocalLease;

const RULES: LeaseRules = LeaseRules {
    ttl_ms: 1_000,
    server_window_ms: 5_000,
    max_price: 5_000,
};

fn granted(a: Allocation) -> i64 {
    match a {
        Allocation::Granted { amount, .. } => amount,
        Allocation::Exhausted => 0,
    }
}

#[test]
fn allocate_settle_and_the_books_balance() {
    let mut c = CampaignBudget::new(1_000_000);
    let lease = LeaseId::new();
    let a = c
        .allocate(lease, "s1", 300_000, 0, &RULES)
        .expect("allocate");
    assert_eq!(
        a,
        Allocation::Granted {
            amount: 300_000,
            deadline_ms: 1_000
        }
    );
    assert_eq!(
        c.allocate(lease, "s1", 999, 10, &RULES),
        Ok(a),
        "a repeated allocate returns the grant"
    );
    assert_eq!(c.remaining, 700_000);
    assert!(c.is_consistent());

    assert_eq!(
        c.settle(lease, 300_001, 0),
        Err(LeaseError::Overspent {
            granted: 300_000,
            spent: 300_001
        })
    );
    assert_eq!(
        c.settle(lease, 120_000, 0),
        Ok(Settlement::Settled { returned: 180_000 })
    );
    assert_eq!(c.settle(lease, 120_000, 0), Ok(Settlement::AlreadySettled));
    assert_eq!(
        c.settle(lease, 1, 0),
        Err(LeaseError::SettleConflict {
            recorded: 120_000,
            reported: 1
        })
    );
    assert_eq!(
        c.allocate(lease, "s1", 1, 20, &RULES),
        Err(LeaseError::Closed)
    );
    assert_eq!(
        c.settle(LeaseId::new(), 0, 0),
        Err(LeaseError::UnknownLease)
    );
    assert_eq!((c.remaining, c.spent), (880_000, 120_000));
    assert!(c.is_consistent());
}

#[test]
fn the_last_tenth_is_handed_out_in_small_pieces() {
    let mut c = CampaignBudget::new(1_000_000);
    assert_eq!(
        granted(
            c.allocate(LeaseId::new(), "a", 950_000, 0, &RULES)
                .expect("a")
        ),
        950_000
    );
    // 50,000 left (5%), two recent servers: 50,000 / 20 = 2,500, but one impression is 5,000
    assert_eq!(
        granted(
            c.allocate(LeaseId::new(), "b", 50_000, 1, &RULES)
                .expect("b")
        ),
        5_000
    );
    // the first server's entry ages out of the window: one recent server, 45,000 / 10
    assert_eq!(
        granted(
            c.allocate(LeaseId::new(), "b", 50_000, 5_002, &RULES)
                .expect("b")
        ),
        5_000
    );
    let mut drained = 0;
    while let Allocation::Granted { amount, .. } = c
        .allocate(LeaseId::new(), "b", 50_000, 6_000, &RULES)
        .expect("b")
    {
        drained += amount;
    }
    assert_eq!(drained, 40_000);
    assert_eq!(c.remaining, 0);
    assert!(c.is_consistent());
}

#[test]
fn the_reaper_returns_only_what_the_ledger_did_not_see_spent() {
    let mut c = CampaignBudget::new(100_000);
    let lease = LeaseId::new();
    c.allocate(lease, "s1", 60_000, 0, &RULES)
        .expect("allocate");
    assert!(
        c.reap(1_500, 1_000, |_| 10_000).is_empty(),
        "still within the grace period"
    );
    assert_eq!(c.reap(2_000, 1_000, |_| 10_000), vec![(lease, 50_000)]);
    assert_eq!((c.remaining, c.spent), (90_000, 10_000));
    // the server comes back and settles what it really spent: the difference is late
    assert_eq!(
        c.settle(lease, 25_000, 0),
        Ok(Settlement::Late {
            late: 15_000,
            over: 0
        })
    );
    assert_eq!((c.remaining, c.spent), (75_000, 25_000));
    assert_eq!(c.settle(lease, 25_000, 0), Ok(Settlement::AlreadySettled));
    assert!(c.is_consistent());
}

#[test]
fn late_spend_beyond_the_pool_is_reported_as_over_delivery() {
    let mut c = CampaignBudget::new(100_000);
    let first = LeaseId::new();
    c.allocate(first, "s1", 60_000, 0, &RULES).expect("first");
    c.reap(5_000, 1_000, |_| 10_000);
    c.allocate(LeaseId::new(), "s2", 90_000, 5_000, &RULES)
        .expect("second takes the rest");
    assert_eq!(c.remaining, 0);
    assert_eq!(
        c.settle(first, 60_000, 0),
        Ok(Settlement::Late {
            late: 50_000,
            over: 50_000
        })
    );
    assert!(c.is_consistent());
}

#[test]
fn a_rebuild_keeps_open_leases_and_returns_the_rest() {
    let mut open = BTreeMap::new();
    open.insert(
        LeaseId::new(),
        OpenLease {
            server: "s".into(),
            granted: 30_000,
            deadline_ms: 9,
        },
    );
    let (c, over) = CampaignBudget::rebuilt(100_000, 45_000, open.clone());
    assert_eq!(
        (c.remaining, c.spent, c.in_flight(), over),
        (25_000, 45_000, 30_000, 0)
    );
    assert!(c.is_consistent());
    // late spend: the spend is kept whole and the excess owed, so nothing is granted meanwhile
    let (mut c, over) = CampaignBudget::rebuilt(100_000, 80_000, open);
    assert_eq!((c.remaining, c.spent, over), (-10_000, 80_000, 10_000));
    assert!(c.is_consistent());
    assert_eq!(
        c.allocate(LeaseId::new(), "s", 1_000, 0, &RULES),
        Ok(Allocation::Exhausted)
    );
}

/// Requests whose answer was lost are counted at what they asked for; when that is more than
/// the budget has left, the spend still counts whole, and reaping the requests gives back only
/// what they held: the budget is never granted twice.
#[test]
fn a_rebuild_over_lost_requests_never_grants_spent_budget_again() {
    let (known, lost_a, lost_b) = (LeaseId::new(), LeaseId::new(), LeaseId::new());
    let lease = |granted| OpenLease {
        server: "s".into(),
        granted,
        deadline_ms: 1_000,
    };
    let open = BTreeMap::from([
        (known, lease(20_000)),
        (lost_a, lease(30_000)),
        (lost_b, lease(30_000)),
    ]);
    let (mut c, over) = CampaignBudget::rebuilt(100_000, 60_000, open);
    assert_eq!((c.remaining, c.spent, over), (-40_000, 60_000, 40_000));
    assert!(c.is_consistent());
    assert_eq!(
        c.allocate(LeaseId::new(), "s", 10_000, 0, &RULES),
        Ok(Allocation::Exhausted)
    );
    // the lost requests are reaped (nobody spent them); the known lease spends all it holds
    let reaped = c.reap(2_000, 500, |l| if l == known { 20_000 } else { 0 });
    assert_eq!(reaped.len(), 3);
    assert_eq!((c.remaining, c.spent), (20_000, 80_000));
    let more = granted(
        c.allocate(LeaseId::new(), "s", 50_000, 2_000, &RULES)
            .expect("allocate"),
    );
    assert_eq!(more, 20_000, "what is left, and not a micro more");
    assert!(c.is_consistent());
}

#[test]
fn closed_leases_are_forgotten_after_their_retention() {
    let mut c = CampaignBudget::new(100_000);
    let (old, recent) = (LeaseId::new(), LeaseId::new());
    c.allocate(old, "s", 10_000, 0, &RULES).expect("old");
    c.allocate(recent, "s", 10_000, 0, &RULES).expect("recent");
    c.settle(old, 1_000, 5_000).expect("settled early");
    c.settle(recent, 2_000, 9_000).expect("settled later");
    assert_eq!(c.forget_closed(9_000), 1);
    assert_eq!(
        c.settle(old, 1_000, 10_000),
        Err(LeaseError::UnknownLease),
        "forgotten"
    );
    assert_eq!(
        c.settle(recent, 2_000, 10_000),
        Ok(Settlement::AlreadySettled)
    );
    assert!(c.is_consistent());
}

#[test]
fn negative_amounts_are_refused() {
    let mut c = CampaignBudget::new(100);
    assert_eq!(
        c.allocate(LeaseId::new(), "s", -1, 0, &RULES),
        Err(LeaseError::Negative)
    );
    assert_eq!(c.settle(LeaseId::new(), -1, 0), Err(LeaseError::Negative));
}

/// One step of the simulation.
#[derive(Debug, Clone)]
enum Step {
    Allocate {
        server: usize,
        want: i64,
    },
    Spend {
        server: usize,
        price: i64,
        times: u16,
    },
    Settle {
        server: usize,
    },
    RetrySettle {
        server: usize,
    },
    Crash {
        server: usize,
    },
    Renew {
        server: usize,
    },
    Advance {
        ms: i64,
    },
    Reap,
    Rebuild,
    /// A request the audit trail recorded whose answer never reached its server (Redis went
    /// away mid-call): granted by the controller or not, nobody spends it.
    LostAnswer {
        server: usize,
        want: i64,
        granted: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..5usize, 1i64..400_000).prop_map(|(server, want)| Step::Allocate { server, want }),
        6 => (0..5usize, 1i64..6_000, 1u16..200).prop_map(|(server, price, times)| Step::Spend { server, price, times }),
        2 => (0..5usize).prop_map(|server| Step::Settle { server }),
        1 => (0..5usize).prop_map(|server| Step::RetrySettle { server }),
        1 => (0..5usize).prop_map(|server| Step::Crash { server }),
        2 => (0..5usize).prop_map(|server| Step::Renew { server }),
        2 => (1i64..3_000).prop_map(|ms| Step::Advance { ms }),
        1 => Just(Step::Reap),
        1 => Just(Step::Rebuild),
        2 => (0..5usize, 1i64..400_000, any::<bool>()).prop_map(|(server, want, granted)| Step::LostAnswer { server, want, granted }),
    ]
}

/// The world around the controller: servers holding leases in process (each with its deadline,
/// past which its server stops spending it unless renewed), and the ledger recording every spend
/// against the lease that paid for it (delivered before any reap, as the grace period guarantees).
struct World {
    controller: CampaignBudget,
    held: Vec<Vec<(LocalLease, i64)>>,
    last_settled: Vec<Option<(LeaseId, i64)>>,
    ledger: HashMap<LeaseId, i64>,
    /// Requests the audit trail holds without an answer: server, what was asked, when.
    unanswered: BTreeMap<LeaseId, (String, i64, i64)>,
    now: i64,
}

impl World {
    fn ledger_total(&self) -> i64 {
        self.ledger.values().sum()
    }

    fn run(&mut self, step: &Step) {
        match *step {
            Step::Allocate { server, want } => {
                let lease = LeaseId::new();
                let name = format!("s{server}");
                if let Ok(Allocation::Granted {
                    amount,
                    deadline_ms,
                }) = self
                    .controller
                    .allocate(lease, &name, want, self.now, &RULES)
                {
                    self.held[server].push((LocalLease::new(lease, amount), deadline_ms));
                }
            }
            Step::Spend {
                server,
                price,
                times,
            } => {
                for _ in 0..times {
                    // spend from the first live lease that covers the price; never beyond what is held
                    let now = self.now;
                    if let Some((lease, _)) = self.held[server]
                        .iter()
                        .find(|(l, deadline)| *deadline > now && l.try_spend(price))
                    {
                        *self.ledger.entry(lease.id()).or_default() += price;
                    }
                }
            }
            Step::Settle { server } => {
                if !self.held[server].is_empty() {
                    let (lease, _) = self.held[server].remove(0);
                    let outcome = self.controller.settle(lease.id(), lease.spent(), self.now);
                    // After a rebuild the lease may be unknown, or reaped if it outlived its deadline.
                    assert!(
                        matches!(outcome, Ok(_) | Err(LeaseError::UnknownLease)),
                        "settle of a held lease: {outcome:?}"
                    );
                    self.last_settled[server] = Some((lease.id(), lease.spent()));
                }
            }
            Step::RetrySettle { server } => {
                if let Some((lease, spent)) = self.last_settled[server] {
                    let outcome = self.controller.settle(lease, spent, self.now);
                    assert!(
                        matches!(
                            outcome,
                            Ok(Settlement::AlreadySettled) | Err(LeaseError::UnknownLease)
                        ),
                        "{outcome:?}"
                    );
                }
            }
            Step::Crash { server } => self.held[server].clear(),
            Step::Renew { server } => {
                let (controller, now) = (&mut self.controller, self.now);
                // a lease the controller no longer has open (reaped, or forgotten with Redis) is dropped
                self.held[server].retain_mut(|(lease, deadline)| {
                    match controller.renew(lease.id(), now, &RULES) {
                        Ok(renewed) if *deadline > now => {
                            *deadline = renewed;
                            true
                        }
                        _ => false,
                    }
                });
            }
            Step::Advance { ms } => self.now += ms,
            Step::Reap => {
                let ledger = &self.ledger;
                self.controller.reap(self.now, 500, |lease| {
                    ledger.get(&lease).copied().unwrap_or(0)
                });
                // the reaper closes unanswered requests in the audit trail too, once overdue
                let now = self.now;
                self.unanswered
                    .retain(|_, (_, _, asked)| *asked + RULES.ttl_ms + 500 > now);
            }
            Step::Rebuild => {
                // Redis comes back empty: the ledger knows the spend, the audit trail the open
                // leases, and unanswered requests count at what they asked for.
                let mut open = self.controller.open.clone();
                for (lease, (server, want, asked)) in &self.unanswered {
                    open.insert(
                        *lease,
                        OpenLease {
                            server: server.clone(),
                            granted: *want,
                            deadline_ms: asked + RULES.ttl_ms,
                        },
                    );
                }
                let in_open: i64 = open
                    .keys()
                    .map(|l| self.ledger.get(l).copied().unwrap_or(0))
                    .sum();
                let (rebuilt, over) = CampaignBudget::rebuilt(
                    self.controller.budget,
                    self.ledger_total() - in_open,
                    open,
                );
                let asked: i64 = self.unanswered.values().map(|(_, want, _)| want).sum();
                assert!(
                    over <= asked,
                    "no late spend in this world: over-commitment {over} only from unanswered requests ({asked})"
                );
                self.controller = rebuilt;
            }
            Step::LostAnswer {
                server,
                want,
                granted,
            } => {
                let lease = LeaseId::new();
                let name = format!("s{server}");
                if granted {
                    let _ = self
                        .controller
                        .allocate(lease, &name, want, self.now, &RULES);
                }
                self.unanswered.insert(lease, (name, want, self.now));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_interleavings_keep_the_books(budget in 50_000i64..5_000_000, steps in proptest::collection::vec(step(), 1..150)) {
        let mut world = World {
            controller: CampaignBudget::new(budget),
            held: (0..5).map(|_| Vec::new()).collect(),
            last_settled: vec![None; 5],
            ledger: HashMap::new(),
            unanswered: BTreeMap::new(),
            now: 0,
        };
        for step in &steps {
            world.run(step);
            let c = &world.controller;
            prop_assert!(c.is_consistent(), "after {:?}: {:?}", step, c);
            // everything served was billed within the budget
            prop_assert!(world.ledger_total() <= budget);
            // the controller's spend is exactly the ledger's spend of the leases it has closed
            let closed_in_ledger: i64 = world
                .ledger
                .iter()
                .filter(|(lease, _)| !c.open.contains_key(lease))
                .map(|(_, spent)| spent)
                .sum();
            prop_assert_eq!(closed_in_ledger, c.spent, "after {:?}", step);
            // no server holds more than its open leases' grants
            for (lease, _) in world.held.iter().flatten() {
                prop_assert!(lease.spent() <= lease.granted());
            }
        }
    }
}
