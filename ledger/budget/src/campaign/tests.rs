use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;

use super::*;
use crate::LocalLease;

const RULES: LeaseRules = LeaseRules {
    ttl_ms: 1_000,
    server_window_ms: 5_000,
};
/// The most one event costs.
const UNIT: i64 = 5_000;

fn granted(a: Allocation) -> i64 {
    match a {
        Allocation::Granted { amount, .. } => amount,
        Allocation::Exhausted => 0,
    }
}

#[test]
fn allocate_settle_and_the_books_balance() {
    let mut c = CampaignBudget::new(10_000_000);
    let lease = LeaseId::new();
    let a = c
        .allocate(lease, "s1", Want::per_impression(300_000, UNIT), 0, &RULES)
        .expect("allocate");
    assert_eq!(
        a,
        Allocation::Granted {
            amount: 300_000,
            deadline_ms: 1_000
        }
    );
    assert_eq!(
        c.allocate(lease, "s1", Want::per_impression(999, UNIT), 10, &RULES),
        Ok(a),
        "a repeated allocate returns the grant"
    );
    assert_eq!(c.remaining, 9_700_000);
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
        c.allocate(lease, "s1", Want::per_impression(1, UNIT), 20, &RULES),
        Err(LeaseError::Closed)
    );
    assert_eq!(
        c.settle(LeaseId::new(), 0, 0),
        Err(LeaseError::UnknownLease)
    );
    assert_eq!((c.remaining, c.spent), (9_880_000, 120_000));
    assert!(c.is_consistent());
}

#[test]
fn the_budget_is_shared_out_in_tenths_of_what_is_left() {
    let mut c = CampaignBudget::new(1_000_000);
    // the first lease: a tenth of the budget, whatever was asked
    assert_eq!(
        granted(
            c.allocate(
                LeaseId::new(),
                "a",
                Want::per_impression(950_000, UNIT),
                0,
                &RULES
            )
            .expect("a")
        ),
        100_000
    );
    // two recent servers: 900,000 / 20
    assert_eq!(
        granted(
            c.allocate(
                LeaseId::new(),
                "b",
                Want::per_impression(50_000, UNIT),
                1,
                &RULES
            )
            .expect("b")
        ),
        45_000
    );
    // the first server's entry ages out of the window: one recent server, 855,000 / 10
    assert_eq!(
        granted(
            c.allocate(
                LeaseId::new(),
                "b",
                Want::per_impression(500_000, UNIT),
                5_002,
                &RULES
            )
            .expect("b")
        ),
        85_500
    );
    let (mut drained, mut last) = (0, 0);
    while let Allocation::Granted { amount, .. } = c
        .allocate(
            LeaseId::new(),
            "b",
            Want::per_impression(50_000, UNIT),
            6_000,
            &RULES,
        )
        .expect("b")
    {
        assert!(amount <= 50_000 && amount <= (c.remaining + amount) / 10 + UNIT);
        drained += amount;
        last = amount;
    }
    assert!(last <= UNIT, "the last pieces are one impression each");
    // what is left cannot pay for one impression at its most, and is not handed out
    assert!(c.remaining < UNIT);
    assert_eq!(drained + c.remaining, 769_500);
    assert!(c.is_consistent());
}

#[test]
fn the_reaper_returns_only_what_the_ledger_did_not_see_spent() {
    let mut c = CampaignBudget::new(1_000_000);
    let lease = LeaseId::new();
    c.allocate(lease, "s1", Want::per_impression(60_000, UNIT), 0, &RULES)
        .expect("allocate");
    assert!(
        c.reap(1_500, 1_000, |_| 10_000).is_empty(),
        "still within the grace period"
    );
    assert_eq!(c.reap(2_000, 1_000, |_| 10_000), vec![(lease, 50_000)]);
    assert_eq!((c.remaining, c.spent), (990_000, 10_000));
    // the server comes back and settles what it really spent: the difference is late
    assert_eq!(
        c.settle(lease, 25_000, 0),
        Ok(Settlement::Late {
            late: 15_000,
            over: 0
        })
    );
    assert_eq!((c.remaining, c.spent), (975_000, 25_000));
    assert_eq!(c.settle(lease, 25_000, 0), Ok(Settlement::AlreadySettled));
    assert!(c.is_consistent());
}

#[test]
fn late_spend_beyond_the_pool_is_reported_as_over_delivery() {
    let mut c = CampaignBudget::new(100_000);
    let first = LeaseId::new();
    c.allocate(first, "s1", Want::per_impression(60_000, UNIT), 0, &RULES)
        .expect("first");
    assert_eq!(c.remaining, 90_000);
    c.reap(5_000, 1_000, |_| 2_000);
    // another server takes the rest
    while let Allocation::Granted { .. } = c
        .allocate(
            LeaseId::new(),
            "s2",
            Want::per_impression(90_000, UNIT),
            5_000,
            &RULES,
        )
        .expect("the rest")
    {}
    let left = c.remaining;
    assert!(left < UNIT, "less than an impression left: {left}");
    assert_eq!(
        c.settle(first, 10_000, 0),
        Ok(Settlement::Late {
            late: 8_000,
            over: 8_000 - left
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
            pending: false,
        },
    );
    let (c, over) = CampaignBudget::rebuilt(100_000, 3, 45_000, open.clone());
    assert_eq!(
        (c.remaining, c.spent, c.in_flight(), over),
        (25_000, 45_000, 30_000, 0)
    );
    assert!(c.is_consistent());
    // late spend: the spend is kept whole and the excess owed, so nothing is granted meanwhile
    let (mut c, over) = CampaignBudget::rebuilt(100_000, 3, 80_000, open);
    assert_eq!((c.remaining, c.spent, over), (-10_000, 80_000, 10_000));
    assert!(c.is_consistent());
    assert_eq!(
        c.allocate(
            LeaseId::new(),
            "s",
            Want::per_impression(1_000, UNIT),
            0,
            &RULES
        ),
        Ok(Allocation::Exhausted)
    );
}

/// Requests whose answer was lost are counted at what they asked for; when that is more than
/// the budget has left, the spend still counts whole, and reaping the requests gives back only
/// what they held: the budget is never granted twice.
#[test]
fn a_rebuild_over_lost_requests_never_grants_spent_budget_again() {
    let (known, lost_a, lost_b) = (LeaseId::new(), LeaseId::new(), LeaseId::new());
    let lease = |granted, pending| OpenLease {
        server: "s".into(),
        granted,
        deadline_ms: 1_000,
        pending,
    };
    let open = BTreeMap::from([
        (known, lease(20_000, false)),
        (lost_a, lease(30_000, true)),
        (lost_b, lease(30_000, true)),
    ]);
    let (mut c, over) = CampaignBudget::rebuilt(100_000, 3, 60_000, open);
    assert_eq!((c.remaining, c.spent, over), (-40_000, 60_000, 40_000));
    assert!(c.is_consistent());
    assert_eq!(
        c.allocate(
            LeaseId::new(),
            "s",
            Want::per_impression(10_000, UNIT),
            0,
            &RULES
        ),
        Ok(Allocation::Exhausted)
    );
    // the lost requests are reaped (nobody spent them); the known lease spends all it holds
    let reaped = c.reap(2_000, 500, |l| if l == known { 20_000 } else { 0 });
    assert_eq!(reaped.len(), 3);
    assert_eq!((c.remaining, c.spent), (20_000, 80_000));
    let mut more = 0;
    while let Allocation::Granted { amount, .. } = c
        .allocate(
            LeaseId::new(),
            "s",
            Want::per_impression(50_000, UNIT),
            2_000,
            &RULES,
        )
        .expect("allocate")
    {
        more += amount;
    }
    assert_eq!(more, 20_000, "what is left, and not a micro more");
    assert!(c.is_consistent());
}

/// The first request of a new campaign, or any request when Redis lost the campaign before
/// granting it: the rebuild counts it at what it asked for, pending, and when its allocation is
/// asked again it is sized from what remains, never granted on that count. (It was granted
/// twice the budget: its own reservation, found open, was handed out.)
#[test]
fn a_request_lost_before_its_grant_is_sized_from_what_remains() {
    let lease = LeaseId::new();
    let open = BTreeMap::from([(
        lease,
        OpenLease {
            server: "s".into(),
            granted: 2_000_000,
            deadline_ms: 1_000,
            pending: true,
        },
    )]);
    let (mut c, over) = CampaignBudget::rebuilt(1_000_000, 3, 0, open);
    assert_eq!((c.remaining, over), (-1_000_000, 1_000_000));
    assert!(c.is_consistent());
    // another request meanwhile finds the reservation counted: nothing left
    assert_eq!(
        c.allocate(
            LeaseId::new(),
            "t",
            Want::per_impression(10_000, UNIT),
            0,
            &RULES
        ),
        Ok(Allocation::Exhausted)
    );
    // the retry: a tenth of the budget shared by the two servers that asked
    let a = c
        .allocate(
            lease,
            "s",
            Want::per_impression(2_000_000, 9_000),
            0,
            &RULES,
        )
        .expect("allocate");
    assert_eq!(granted(a), 50_000);
    assert_eq!(c.remaining, 950_000);
    assert!(!c.open[&lease].pending);
    assert_eq!(
        c.allocate(
            lease,
            "s",
            Want::per_impression(2_000_000, 9_000),
            5,
            &RULES
        ),
        Ok(a),
        "granted now: asking again returns the grant"
    );
    assert!(c.is_consistent());
    // a pending request that finds nothing left is not recorded
    let (lost, other) = (LeaseId::new(), LeaseId::new());
    let open = BTreeMap::from([(
        lost,
        OpenLease {
            server: "s".into(),
            granted: 50_000,
            deadline_ms: 1_000,
            pending: true,
        },
    )]);
    let (mut c, _) = CampaignBudget::rebuilt(100_000, 3, 100_000, open);
    assert_eq!(
        c.allocate(lost, "s", Want::per_impression(50_000, UNIT), 0, &RULES),
        Ok(Allocation::Exhausted)
    );
    assert!(c.open.is_empty() && c.remaining == 0 && c.is_consistent());
    assert_eq!(
        c.allocate(other, "s", Want::per_impression(50_000, UNIT), 0, &RULES),
        Ok(Allocation::Exhausted)
    );
    // a refusal recorded after a rebuild made the request pending gives its reservation back
    let refused = LeaseId::new();
    let open = BTreeMap::from([(
        refused,
        OpenLease {
            server: "s".into(),
            granted: 30_000,
            deadline_ms: 1_000,
            pending: true,
        },
    )]);
    let (mut c, _) = CampaignBudget::rebuilt(100_000, 3, 0, open);
    assert!(c.release_pending(refused));
    assert!(!c.release_pending(refused));
    assert_eq!((c.remaining, c.open.len()), (100_000, 0));
}

/// A pending lease is renewed, settled and reaped like any open one, at what it asked for.
#[test]
fn a_pending_lease_settles_and_reaps_like_an_open_one() {
    let (settled, reaped) = (LeaseId::new(), LeaseId::new());
    let pending = |granted| OpenLease {
        server: "s".into(),
        granted,
        deadline_ms: 1_000,
        pending: true,
    };
    let open = BTreeMap::from([(settled, pending(30_000)), (reaped, pending(20_000))]);
    let (mut c, _) = CampaignBudget::rebuilt(100_000, 3, 10_000, open);
    assert_eq!(c.remaining, 40_000);
    assert_eq!(c.renew(settled, 900, &RULES), Ok(1_900));
    assert!(c.open[&settled].pending, "still pending after a renewal");
    assert_eq!(
        c.settle(settled, 12_000, 1_000),
        Ok(Settlement::Settled { returned: 18_000 })
    );
    assert_eq!(c.reap(1_600, 500, |_| 5_000), vec![(reaped, 15_000)]);
    assert_eq!((c.remaining, c.spent), (73_000, 27_000));
    assert!(c.is_consistent());
}

/// Budget changes in the ledger resize the state in place, in version order: open leases and
/// spend stay, an older change arriving late changes nothing.
#[test]
fn a_budget_change_resizes_the_state_in_version_order() {
    let mut c = CampaignBudget::new(100_000);
    c.version = 10;
    let lease = LeaseId::new();
    c.allocate(lease, "s", Want::per_impression(10_000, UNIT), 0, &RULES)
        .expect("allocate");
    c.settle(lease, 4_000, 1).expect("settle");
    let open = LeaseId::new();
    c.allocate(open, "s", Want::per_impression(6_000, UNIT), 2, &RULES)
        .expect("allocate");
    assert_eq!(c.remaining, 90_000);
    // a new day: 50,000 more held
    assert!(c.resize(150_000, 12));
    assert_eq!((c.budget, c.remaining, c.spent), (150_000, 140_000, 4_000));
    // the change before it, seen late, and the same one again: nothing
    assert!(!c.resize(100_000, 11));
    assert!(!c.resize(150_000, 12));
    assert_eq!(c.budget, 150_000);
    // a pause releases what is not leased: remaining goes to zero, the open lease stays
    assert!(c.resize(10_000, 13));
    assert_eq!((c.remaining, c.in_flight(), c.spent), (0, 6_000, 4_000));
    // below what is spent and out in leases: owed, nothing more is granted meanwhile
    assert!(c.resize(1_000, 14));
    assert_eq!((c.budget, c.remaining), (1_000, -9_000));
    assert_eq!(
        c.allocate(
            LeaseId::new(),
            "s",
            Want::per_impression(1, UNIT),
            3,
            &RULES
        ),
        Ok(Allocation::Exhausted)
    );
    assert!(c.is_consistent());
}

/// A per-click lease's count follows its clicks: an open lease holds at least what its clicks
/// billed already; a closed one counts more when they come to more than expected (past the
/// budget: owed), and what they billed when its window has passed.
#[test]
fn a_lease_is_counted_by_its_clicks() {
    let mut c = CampaignBudget::new(1_000_000);
    let (lease, open) = (LeaseId::new(), LeaseId::new());
    c.allocate(lease, "s", Want::per_impression(100_000, UNIT), 0, &RULES)
        .expect("allocate");
    c.allocate(open, "s", Want::per_impression(50_000, UNIT), 0, &RULES)
        .expect("allocate");
    c.settle(lease, 60_000, 1).expect("settle");
    assert_eq!(c.adjust(lease, -1), Err(LeaseError::Negative));
    // an open lease whose clicks already exceed its grant holds at least what they billed
    assert_eq!(c.adjust(open, 20_000), Ok(Adjusted::Unchanged));
    assert_eq!(
        c.adjust(open, 70_000),
        Ok(Adjusted::Changed { delta: 20_000 })
    );
    assert_eq!(
        c.adjust(open, 60_000),
        Ok(Adjusted::Unchanged),
        "never shrinks"
    );
    assert_eq!(c.remaining, 870_000);
    assert_eq!(
        c.settle(open, 50_000, 2),
        Ok(Settlement::Settled { returned: 20_000 })
    );
    assert_eq!(
        c.adjust(open, 70_000),
        Ok(Adjusted::Changed { delta: 20_000 })
    );
    assert_eq!((c.remaining, c.spent), (870_000, 130_000));
    // clicks billed beyond the expectation
    assert_eq!(
        c.adjust(lease, 140_000),
        Ok(Adjusted::Changed { delta: 80_000 })
    );
    assert_eq!(c.adjust(lease, 140_000), Ok(Adjusted::Unchanged));
    assert_eq!((c.remaining, c.spent), (790_000, 210_000));
    // counted by its clicks now: its server's settle, repeated, changes nothing
    assert_eq!(c.settle(lease, 60_000, 3), Ok(Settlement::AlreadySettled));
    assert_eq!(c.settle(lease, 1, 3), Ok(Settlement::AlreadySettled));
    // the window passed with fewer clicks billed: the rest goes back
    assert_eq!(
        c.adjust(lease, 35_000),
        Ok(Adjusted::Changed { delta: -105_000 })
    );
    assert_eq!((c.remaining, c.spent), (895_000, 105_000));
    assert_eq!(c.adjust(LeaseId::new(), 5), Ok(Adjusted::Gone));
    // far more clicks than the budget: owed, nothing granted meanwhile
    assert_eq!(
        c.adjust(lease, 1_000_000),
        Ok(Adjusted::Changed { delta: 965_000 })
    );
    assert_eq!(c.remaining, -70_000);
    assert_eq!(
        c.allocate(
            LeaseId::new(),
            "s",
            Want::per_impression(10_000, UNIT),
            2,
            &RULES
        ),
        Ok(Allocation::Exhausted)
    );
    assert!(c.is_consistent());
}

#[test]
fn closed_leases_are_forgotten_after_their_retention() {
    let mut c = CampaignBudget::new(100_000);
    let (old, recent) = (LeaseId::new(), LeaseId::new());
    c.allocate(old, "s", Want::per_impression(10_000, UNIT), 0, &RULES)
        .expect("old");
    c.allocate(recent, "s", Want::per_impression(10_000, UNIT), 0, &RULES)
        .expect("recent");
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
        c.allocate(
            LeaseId::new(),
            "s",
            Want::per_impression(-1, UNIT),
            0,
            &RULES
        ),
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
    /// An unanswered request asked again (the controller retries an allocation after Redis
    /// said it had lost the campaign).
    RetryAllocate {
        which: usize,
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
        2 => (0..8usize).prop_map(|which| Step::RetryAllocate { which }),
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
                let remaining = self.controller.remaining;
                if let Ok(Allocation::Granted {
                    amount,
                    deadline_ms,
                }) = self.controller.allocate(
                    lease,
                    &name,
                    Want::per_impression(want, UNIT),
                    self.now,
                    &RULES,
                ) {
                    assert!(amount <= remaining, "granted {amount} of {remaining} left");
                    self.held[server].push((LocalLease::new(lease, amount), deadline_ms));
                }
            }
            Step::RetryAllocate { which } => {
                let Some((&lease, (name, want, _))) = self.unanswered.iter().nth(which) else {
                    return;
                };
                let (name, want) = (name.clone(), *want);
                let (reserved, pending) = match self.controller.open.get(&lease) {
                    Some(open) => (open.granted, open.pending),
                    None => (0, false),
                };
                let remaining = self.controller.remaining;
                if let Ok(Allocation::Granted {
                    amount,
                    deadline_ms,
                }) = self.controller.allocate(
                    lease,
                    &name,
                    Want::per_impression(want, UNIT),
                    self.now,
                    &RULES,
                ) {
                    if pending || reserved == 0 {
                        // sized now: from what remains, its own reservation given back first
                        assert!(
                            amount <= remaining + reserved,
                            "granted {amount} of {remaining} left (+{reserved} reserved)"
                        );
                    } else {
                        assert_eq!(amount, reserved, "granted before: the same grant");
                    }
                    let server: usize = name[1..].parse().expect("server");
                    self.held[server].push((LocalLease::new(lease, amount), deadline_ms));
                    self.unanswered.remove(&lease);
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
                            pending: true,
                        },
                    );
                }
                let in_open: i64 = open
                    .keys()
                    .map(|l| self.ledger.get(l).copied().unwrap_or(0))
                    .sum();
                let (rebuilt, over) = CampaignBudget::rebuilt(
                    self.controller.budget,
                    self.controller.version,
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
                    let _ = self.controller.allocate(
                        lease,
                        &name,
                        Want::per_impression(want, UNIT),
                        self.now,
                        &RULES,
                    );
                }
                self.unanswered.insert(lease, (name, want, self.now));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_interleavings_keep_the_books(budget in 10_000i64..5_000_000, steps in proptest::collection::vec(step(), 1..150)) {
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
            // what was spent and what servers can still spend never exceed the budget: no
            // budget is ever granted twice
            let spendable: i64 = world
                .held
                .iter()
                .flatten()
                .filter(|(_, deadline)| *deadline > world.now)
                .map(|(lease, _)| lease.granted() - lease.spent())
                .sum();
            prop_assert!(
                world.ledger_total() + spendable <= budget,
                "after {:?}: spent {} + spendable {spendable} above {budget}",
                step,
                world.ledger_total()
            );
        }
    }
}
