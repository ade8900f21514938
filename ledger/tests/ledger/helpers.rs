//! Fixtures and whole-ledger invariant checks shared by the tests.

use ledger::{
    Account, AccountOwner, AdvertiserId, Amount, CampaignId, Currency, Ledger, NewTransfer,
    TransferId, TransferKind,
};
use rust_decimal::Decimal;
use sqlx::{PgPool, Row};

pub fn usd() -> Currency {
    Currency::parse("USD").expect("usd")
}

pub fn amount(text: &str) -> Amount {
    Amount::parse(text).expect("amount")
}

pub fn dec(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

/// One advertiser with a campaign: cash, hold and spend accounts, and the world they are funded from.
pub struct Advertiser {
    pub id: AdvertiserId,
    pub campaign: CampaignId,
    pub world: Account,
    pub cash: Account,
    pub hold: Account,
    pub spend: Account,
}

/// Opens an advertiser's accounts in USD and deposits `deposit` into its cash.
pub async fn advertiser(ledger: &Ledger, deposit: &str) -> Advertiser {
    let id = AdvertiserId::new();
    let campaign = CampaignId::new();
    let world = ledger
        .open_account(AccountOwner::External, usd())
        .await
        .expect("world");
    let cash = ledger
        .open_account(AccountOwner::AdvertiserCash { advertiser: id }, usd())
        .await
        .expect("cash");
    let hold = ledger
        .open_account(
            AccountOwner::CampaignHold {
                advertiser: id,
                campaign,
            },
            usd(),
        )
        .await
        .expect("hold");
    let spend = ledger
        .open_account(
            AccountOwner::CampaignSpend {
                advertiser: id,
                campaign,
            },
            usd(),
        )
        .await
        .expect("spend");
    if deposit != "0" {
        ledger
            .transfer(NewTransfer::new(
                TransferId::new(),
                world.id,
                cash.id,
                amount(deposit),
                usd(),
                TransferKind::Deposit,
            ))
            .await
            .expect("deposit");
    }
    Advertiser {
        id,
        campaign,
        world,
        cash,
        hold,
        spend,
    }
}

pub fn transfer(debit: &Account, credit: &Account, amt: &str, kind: TransferKind) -> NewTransfer {
    NewTransfer::new(
        TransferId::new(),
        debit.id,
        credit.id,
        amount(amt),
        usd(),
        kind,
    )
}

/// The posted balance of an account, straight from the table.
pub async fn posted(pool: &PgPool, account: &Account) -> Decimal {
    sqlx::query_scalar("select posted from ledger_accounts where id = $1")
        .bind(account.id.0)
        .fetch_one(pool)
        .await
        .expect("posted")
}

pub async fn transfer_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from ledger_transfers")
        .fetch_one(pool)
        .await
        .expect("count")
}

/// Everything that must hold of any ledger at any commit: the sum over all accounts is zero, no
/// account is below its floor, every balance equals a replay of the transfer log, and every
/// reservation equals the pending transfers still open.
pub async fn assert_ledger_consistent(pool: &PgPool) {
    let sum: Decimal = sqlx::query_scalar("select coalesce(sum(posted), 0) from ledger_accounts")
        .fetch_one(pool)
        .await
        .expect("sum");
    assert_eq!(sum, Decimal::ZERO, "the sum over all accounts must be zero");

    let below: i64 = sqlx::query_scalar(
        r"select count(*) from ledger_accounts
           where (kind = 'advertiser_cash' and posted - reserved < -credit_limit)
              or (kind in ('campaign_hold', 'campaign_spend', 'platform_revenue') and posted - reserved < 0)",
    )
    .fetch_one(pool)
    .await
    .expect("floors");
    assert_eq!(below, 0, "no account may be below its floor");

    let drift = sqlx::query(
        r"with replay as (
              select account_id, sum(delta) as balance from (
                  select debit_account_id as account_id, -amount as delta from ledger_transfers
                  union all
                  select credit_account_id, amount from ledger_transfers) moves
               group by account_id),
          open as (
              select account_id, sum(reserved) as reserved, sum(incoming) as incoming from (
                  select debit_account_id as account_id, amount as reserved, 0 as incoming
                    from ledger_pending_transfers where state = 'pending'
                  union all
                  select credit_account_id, 0, amount
                    from ledger_pending_transfers where state = 'pending') p
               group by account_id)
          select a.id, a.posted, coalesce(r.balance, 0) as replayed, a.reserved, coalesce(o.reserved, 0) as open_reserved,
                 a.incoming, coalesce(o.incoming, 0) as open_incoming
            from ledger_accounts a
            left join replay r on r.account_id = a.id
            left join open o on o.account_id = a.id
           where a.posted <> coalesce(r.balance, 0)
              or a.reserved <> coalesce(o.reserved, 0)
              or a.incoming <> coalesce(o.incoming, 0)",
    )
    .fetch_all(pool)
    .await
    .expect("replay");
    let described: Vec<String> = drift
        .iter()
        .map(|r| {
            format!(
                "account {}: posted {} vs replay {}, reserved {} vs open {}",
                r.get::<i64, _>("id"),
                r.get::<Decimal, _>("posted"),
                r.get::<Decimal, _>("replayed"),
                r.get::<Decimal, _>("reserved"),
                r.get::<Decimal, _>("open_reserved"),
            )
        })
        .collect();
    assert!(
        described.is_empty(),
        "balances must equal a replay of the log: {described:?}"
    );
}

/// Runs `sql` as a privileged session that switches the append-only guards off (triggers do not
/// fire for it), as an attacker with the database's superuser would.
pub async fn tamper(pool: &PgPool, sql: &str) {
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .expect("bypass the guard");
    sqlx::query(sql).execute(&mut *tx).await.expect("tamper");
    tx.commit().await.expect("commit");
}
