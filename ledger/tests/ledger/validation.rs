//! Every invalid transfer gets its own rejection, and nothing is written.

use ledger::{
    AccountId, AccountOwner, AdvertiserId, Currency, Error, Ledger, MIGRATOR, Money, NewTransfer,
    Rejection, TransferId, TransferKind,
};
use sqlx::PgPool;

use crate::helpers::{
    advertiser, amount, assert_ledger_consistent, posted, transfer, transfer_rows, usd,
};

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_invalid_transfer_has_its_own_rejection(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "10").await;
    let eur = Currency::parse("EUR").expect("eur");
    let eur_cash = ledger
        .open_account(
            AccountOwner::AdvertiserCash {
                advertiser: AdvertiserId::new(),
            },
            eur,
        )
        .await
        .expect("eur cash");
    let rows_before = transfer_rows(&pool).await;
    let cash_before = posted(&pool, &a.cash).await;

    let mut wrong_currency = transfer(&a.world, &a.cash, "1", TransferKind::Deposit);
    wrong_currency.currency = eur;
    let cross_currency = NewTransfer::new(
        TransferId::new(),
        a.world.id,
        eur_cash.id,
        amount("1"),
        usd(),
        TransferKind::Deposit,
    );
    let cases: Vec<(NewTransfer, Rejection)> = vec![
        (
            transfer(&a.cash, &a.hold, "10.000001", TransferKind::Hold),
            Rejection::InsufficientFunds {
                account: a.cash.id,
                available: Money::parse("10").expect("10"),
                amount: amount("10.000001"),
            },
        ),
        (
            transfer(&a.cash, &a.cash, "1", TransferKind::Hold),
            Rejection::SameAccount { account: a.cash.id },
        ),
        (
            NewTransfer::new(
                TransferId::new(),
                a.cash.id,
                AccountId(999_999),
                amount("1"),
                usd(),
                TransferKind::Hold,
            ),
            Rejection::AccountNotFound {
                account: AccountId(999_999),
            },
        ),
        (
            transfer(&a.world, &a.hold, "1", TransferKind::Deposit),
            Rejection::ShapeNotAllowed {
                kind: TransferKind::Deposit,
                debit_kind: ledger::AccountKind::External,
                credit_kind: ledger::AccountKind::CampaignHold,
            },
        ),
        (
            wrong_currency,
            Rejection::CurrencyMismatch {
                account: a.world.id,
                account_currency: usd(),
                transfer_currency: eur,
            },
        ),
        (
            cross_currency,
            Rejection::CurrencyMismatch {
                account: eur_cash.id,
                account_currency: eur,
                transfer_currency: usd(),
            },
        ),
        (
            transfer(&a.hold, &a.spend, "0.000001", TransferKind::Spend),
            Rejection::InsufficientFunds {
                account: a.hold.id,
                available: Money::ZERO,
                amount: amount("0.000001"),
            },
        ),
    ];
    for (request, expected) in cases {
        match ledger.transfer(request.clone()).await {
            Err(Error::Rejected(got)) => assert_eq!(got, expected, "{request:?}"),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
    assert_eq!(
        transfer_rows(&pool).await,
        rows_before,
        "a refused transfer writes nothing"
    );
    assert_eq!(posted(&pool, &a.cash).await, cash_before);
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_campaign_keeps_one_currency(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "0").await;
    let eur = Currency::parse("EUR").expect("eur");
    let owner = AccountOwner::CampaignHold {
        advertiser: a.id,
        campaign: a.campaign,
    };
    match ledger.open_account(owner, eur).await {
        Err(Error::Rejected(Rejection::CurrencyMismatch { account, .. })) => {
            assert_eq!(account, a.hold.id)
        }
        other => panic!("expected a currency mismatch, got {other:?}"),
    }
    // Opening again in the same currency returns the same account.
    assert_eq!(
        ledger.open_account(owner, usd()).await.expect("again").id,
        a.hold.id
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn credit_limits_move_the_cash_floor(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "10").await;
    ledger
        .set_credit_limit(a.cash.id, Money::parse("5").expect("5"))
        .await
        .expect("limit");
    ledger
        .transfer(transfer(&a.cash, &a.hold, "15", TransferKind::Hold))
        .await
        .expect("within the limit");
    assert!(matches!(
        ledger
            .transfer(transfer(&a.cash, &a.hold, "0.000001", TransferKind::Hold))
            .await,
        Err(Error::Rejected(Rejection::InsufficientFunds { .. }))
    ));
    // Lowering the limit below what is used is refused by the database's floor constraint.
    match ledger.set_credit_limit(a.cash.id, Money::ZERO).await {
        Err(Error::Invariant { constraint, .. }) => assert_eq!(constraint, "account_floor"),
        other => panic!("expected the floor to refuse, got {other:?}"),
    }
    assert_eq!(
        ledger.account(a.cash.id).await.expect("cash").credit_limit,
        Money::parse("5").expect("5")
    );
    assert_ledger_consistent(&pool).await;
}
