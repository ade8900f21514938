use std::collections::HashMap;

use chrono::Utc;
use proptest::prelude::*;

use super::*;
use crate::account::AccountOwner;
use crate::currency::Currency;
use crate::ids::{AdvertiserId, CampaignId};
use crate::money::Amount;
use crate::transfer::{References, TransferKind};

const WORLD: AccountId = AccountId(1);
const CASH_A: AccountId = AccountId(2);
const CASH_B: AccountId = AccountId(3);
const HOLD_A: AccountId = AccountId(4);
const SPEND_A: AccountId = AccountId(5);
const EUR_CASH: AccountId = AccountId(6);

fn usd() -> Currency {
    Currency::parse("USD").expect("usd")
}

fn accounts() -> HashMap<AccountId, Account> {
    let adv = AdvertiserId::new();
    let campaign = CampaignId::new();
    let make = |id, owner, currency| Account {
        id,
        owner,
        currency,
        credit_limit: Money::ZERO,
        posted: Money::ZERO,
        reserved: Money::ZERO,
        incoming: Money::ZERO,
    };
    [
        make(WORLD, AccountOwner::External, usd()),
        make(
            CASH_A,
            AccountOwner::AdvertiserCash { advertiser: adv },
            usd(),
        ),
        make(
            CASH_B,
            AccountOwner::AdvertiserCash {
                advertiser: AdvertiserId::new(),
            },
            usd(),
        ),
        make(
            HOLD_A,
            AccountOwner::CampaignHold {
                advertiser: adv,
                campaign,
            },
            usd(),
        ),
        make(
            SPEND_A,
            AccountOwner::CampaignSpend {
                advertiser: adv,
                campaign,
            },
            usd(),
        ),
        make(
            EUR_CASH,
            AccountOwner::AdvertiserCash {
                advertiser: AdvertiserId::new(),
            },
            Currency::parse("EUR").expect("eur"),
        ),
    ]
    .into_iter()
    .map(|a| (a.id, a))
    .collect()
}

fn transfer(debit: AccountId, credit: AccountId, amount: &str, kind: TransferKind) -> NewTransfer {
    NewTransfer::new(
        TransferId::new(),
        debit,
        credit,
        Amount::parse(amount).expect("amount"),
        usd(),
        kind,
    )
}

fn posted(accounts: &HashMap<AccountId, Account>, id: AccountId) -> String {
    accounts[&id].posted.to_string()
}

fn post_all(
    accounts: &mut HashMap<AccountId, Account>,
    items: &[NewTransfer],
) -> Vec<Result<Plan, Rejection>> {
    plan_batch(
        accounts,
        &HashMap::new(),
        items,
        BatchMode::Independent,
        Effect::Post,
    )
}

fn recorded(item: &NewTransfer) -> Transfer {
    Transfer::recorded(item, 1, Utc::now())
}

#[test]
fn money_flows_from_deposit_to_spend() {
    let mut acc = accounts();
    let items = [
        transfer(WORLD, CASH_A, "100", TransferKind::Deposit),
        transfer(CASH_A, HOLD_A, "60", TransferKind::Hold),
        transfer(HOLD_A, SPEND_A, "25.5", TransferKind::Spend),
    ];
    let results = post_all(&mut acc, &items);
    assert!(results.iter().all(|r| r == &Ok(Plan::Apply)), "{results:?}");
    assert_eq!(posted(&acc, WORLD), "-100.000000");
    assert_eq!(posted(&acc, CASH_A), "40.000000");
    assert_eq!(posted(&acc, HOLD_A), "34.500000");
    assert_eq!(posted(&acc, SPEND_A), "25.500000");
}

#[test]
fn each_refusal_names_its_reason_and_moves_nothing() {
    let mut acc = accounts();
    let over = transfer(CASH_A, HOLD_A, "1", TransferKind::Hold);
    let same = transfer(CASH_A, CASH_A, "1", TransferKind::Hold);
    let missing = transfer(WORLD, AccountId(99), "1", TransferKind::Deposit);
    let shape = transfer(WORLD, HOLD_A, "1", TransferKind::Deposit);
    let mut eur = transfer(WORLD, EUR_CASH, "1", TransferKind::Deposit);
    eur.currency = Currency::parse("EUR").expect("eur");
    let results = post_all(&mut acc, &[over.clone(), same, missing, shape, eur]);
    assert_eq!(
        results,
        vec![
            Err(Rejection::InsufficientFunds {
                account: CASH_A,
                available: Money::ZERO,
                amount: over.amount
            }),
            Err(Rejection::SameAccount { account: CASH_A }),
            Err(Rejection::AccountNotFound {
                account: AccountId(99)
            }),
            Err(Rejection::ShapeNotAllowed {
                kind: TransferKind::Deposit,
                debit_kind: crate::AccountKind::External,
                credit_kind: crate::AccountKind::CampaignHold,
            }),
            Err(Rejection::CurrencyMismatch {
                account: WORLD,
                account_currency: usd(),
                transfer_currency: Currency::parse("EUR").expect("eur"),
            }),
        ]
    );
    assert_eq!(acc, accounts_with_same_ids(&acc));
}

/// The accounts as they started, keeping the owners of `like` (owners are random per fixture).
fn accounts_with_same_ids(like: &HashMap<AccountId, Account>) -> HashMap<AccountId, Account> {
    like.iter()
        .map(|(id, a)| {
            let mut fresh = a.clone();
            fresh.posted = Money::ZERO;
            fresh.reserved = Money::ZERO;
            fresh.incoming = Money::ZERO;
            (*id, fresh)
        })
        .collect()
}

#[test]
fn spend_is_capped_by_the_hold() {
    let mut acc = accounts();
    post_all(
        &mut acc,
        &[
            transfer(WORLD, CASH_A, "10", TransferKind::Deposit),
            transfer(CASH_A, HOLD_A, "10", TransferKind::Hold),
        ],
    );
    let results = post_all(
        &mut acc,
        &[
            transfer(HOLD_A, SPEND_A, "9.999999", TransferKind::Spend),
            transfer(HOLD_A, SPEND_A, "0.000002", TransferKind::Spend),
        ],
    );
    assert_eq!(results[0], Ok(Plan::Apply));
    assert!(matches!(
        results[1],
        Err(Rejection::InsufficientFunds {
            account: HOLD_A,
            ..
        })
    ));
    assert_eq!(posted(&acc, SPEND_A), "9.999999");
}

#[test]
fn credit_limit_lets_cash_go_below_zero_that_far_only() {
    let mut acc = accounts();
    acc.get_mut(&CASH_A).expect("cash").credit_limit = Money::parse("50").expect("50");
    let results = post_all(
        &mut acc,
        &[
            transfer(CASH_A, HOLD_A, "50", TransferKind::Hold),
            transfer(CASH_A, HOLD_A, "0.000001", TransferKind::Hold),
        ],
    );
    assert_eq!(results[0], Ok(Plan::Apply));
    assert!(matches!(
        results[1],
        Err(Rejection::InsufficientFunds { .. })
    ));
    assert_eq!(posted(&acc, CASH_A), "-50.000000");
}

#[test]
fn retries_return_the_original_and_conflicts_are_refused() {
    let mut acc = accounts();
    let deposit = transfer(WORLD, CASH_A, "10", TransferKind::Deposit);
    let original = recorded(&deposit);
    let mut existing = HashMap::new();
    existing.insert(deposit.id, Existing::Transfer(original.clone()));
    let mut changed = deposit.clone();
    changed.amount = Amount::parse("11").expect("11");
    let mut relabelled = deposit.clone();
    relabelled.references = References {
        event: Some("e1".into()),
        ..References::default()
    };
    let results = plan_batch(
        &mut acc,
        &existing,
        &[deposit.clone(), changed, relabelled],
        BatchMode::Independent,
        Effect::Post,
    );
    assert_eq!(results[0], Ok(Plan::AlreadyPosted(original)));
    assert_eq!(results[1], Err(Rejection::IdConflict { id: deposit.id }));
    assert_eq!(results[2], Err(Rejection::IdConflict { id: deposit.id }));
    assert_eq!(posted(&acc, CASH_A), "0.000000");
}

#[test]
fn repeats_inside_one_batch_apply_once() {
    let mut acc = accounts();
    let deposit = transfer(WORLD, CASH_A, "10", TransferKind::Deposit);
    let mut conflicting = deposit.clone();
    conflicting.credit = CASH_B;
    let results = post_all(&mut acc, &[deposit.clone(), deposit.clone(), conflicting]);
    assert_eq!(results[0], Ok(Plan::Apply));
    assert_eq!(results[1], Ok(Plan::SameAsItem(0)));
    assert_eq!(results[2], Err(Rejection::IdConflict { id: deposit.id }));
    assert_eq!(posted(&acc, CASH_A), "10.000000");
}

#[test]
fn a_linked_batch_is_all_or_nothing() {
    let mut acc = accounts();
    let items = [
        transfer(WORLD, CASH_A, "10", TransferKind::Deposit),
        transfer(CASH_A, HOLD_A, "20", TransferKind::Hold),
        transfer(WORLD, CASH_B, "5", TransferKind::Deposit),
    ];
    let results = plan_batch(
        &mut acc,
        &HashMap::new(),
        &items,
        BatchMode::Linked,
        Effect::Post,
    );
    assert_eq!(results[0], Err(Rejection::LinkedBatchFailed { failed: 1 }));
    assert!(matches!(
        results[1],
        Err(Rejection::InsufficientFunds { .. })
    ));
    assert_eq!(results[2], Err(Rejection::LinkedBatchFailed { failed: 1 }));
    assert_eq!(posted(&acc, WORLD), "0.000000");
    assert_eq!(posted(&acc, CASH_A), "0.000000");
}

#[test]
fn reservations_count_against_the_floor() {
    let mut acc = accounts();
    post_all(
        &mut acc,
        &[transfer(WORLD, CASH_A, "10", TransferKind::Deposit)],
    );
    let results = plan_batch(
        &mut acc,
        &HashMap::new(),
        &[
            transfer(CASH_A, HOLD_A, "7", TransferKind::Hold),
            transfer(CASH_A, HOLD_A, "7", TransferKind::Hold),
        ],
        BatchMode::Independent,
        Effect::Reserve,
    );
    assert_eq!(results[0], Ok(Plan::Apply));
    assert!(matches!(
        results[1],
        Err(Rejection::InsufficientFunds { .. })
    ));
    assert_eq!(acc[&CASH_A].reserved.to_string(), "7.000000");
    assert_eq!(acc[&HOLD_A].incoming.to_string(), "7.000000");
    assert_eq!(posted(&acc, CASH_A), "10.000000");
    let more = post_all(
        &mut acc,
        &[transfer(CASH_A, HOLD_A, "3.000001", TransferKind::Hold)],
    );
    assert!(matches!(more[0], Err(Rejection::InsufficientFunds { .. })));
}

/// A random request over the fixture accounts: a kind, a pair of accounts that may or may not
/// suit it, an amount, and an id drawn from a small pool so that repeats and conflicts happen.
fn arb_request() -> impl Strategy<Value = (usize, usize, TransferKind, i64, u8)> {
    let kinds = proptest::sample::select(TransferKind::ALL.to_vec());
    (0usize..6, 0usize..6, kinds, 1i64..5_000_000_000, 0u8..40)
}

fn build(
    pool: &[TransferId],
    (d, c, kind, micros, id): (usize, usize, TransferKind, i64, u8),
) -> NewTransfer {
    let ids = [WORLD, CASH_A, CASH_B, HOLD_A, SPEND_A, EUR_CASH];
    let amount = Amount::try_from(rust_decimal::Decimal::new(micros, 6)).expect("positive");
    NewTransfer::new(pool[id as usize], ids[d], ids[c], amount, usd(), kind)
}

proptest! {
    #[test]
    fn conservation_floors_and_idempotency(
        requests in proptest::collection::vec(arb_request(), 1..120),
        linked in any::<bool>(),
    ) {
        let pool: Vec<TransferId> = (0..40).map(|_| TransferId::new()).collect();
        let items: Vec<NewTransfer> = requests.into_iter().map(|r| build(&pool, r)).collect();
        let mut acc = accounts();
        let mode = if linked { BatchMode::Linked } else { BatchMode::Independent };
        let results = plan_batch(&mut acc, &HashMap::new(), &items, mode, Effect::Post);

        // conservation: money is only moved, never made
        let total = acc.values().try_fold(Money::ZERO, |sum, a| sum.checked_add(a.posted));
        prop_assert_eq!(total, Some(Money::ZERO));
        // floors: no account below its floor
        prop_assert!(acc.values().all(Account::within_floor));
        // the balances are exactly a replay of the applied items
        let mut replay: HashMap<AccountId, rust_decimal::Decimal> = HashMap::new();
        let mut recorded_items = HashMap::new();
        for (item, result) in items.iter().zip(&results) {
            if result == &Ok(Plan::Apply) {
                *replay.entry(item.debit).or_default() -= item.amount.as_decimal();
                *replay.entry(item.credit).or_default() += item.amount.as_decimal();
                prop_assert!(recorded_items.insert(item.id, Existing::Transfer(recorded(item))).is_none());
            }
        }
        for a in acc.values() {
            prop_assert_eq!(a.posted.as_decimal(), replay.get(&a.id).copied().unwrap_or_default());
        }
        // retrying what was applied moves nothing and returns the originals
        let snapshot = acc.clone();
        let applied: Vec<NewTransfer> = items
            .iter()
            .zip(&results)
            .filter(|(_, r)| *r == &Ok(Plan::Apply))
            .map(|(i, _)| i.clone())
            .collect();
        let again = plan_batch(&mut acc, &recorded_items, &applied, BatchMode::Independent, Effect::Post);
        prop_assert_eq!(&acc, &snapshot);
        prop_assert!(again.iter().all(|r| matches!(r, Ok(Plan::AlreadyPosted(_)))), "{:?}", again);
    }
}
