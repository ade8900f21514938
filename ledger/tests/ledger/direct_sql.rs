//! Hand-typed SQL that tries to break an invariant is refused by the database itself: an unbalanced
//! write to a balance, a balance below its floor, spend above the hold, a malformed transfer.

use ledger::{Ledger, MIGRATOR, TransferKind};
use sqlx::PgPool;

use crate::helpers::{Advertiser, advertiser, assert_ledger_consistent, transfer};

/// Runs `sql` and returns the name of the constraint that refused it.
async fn refused_by(pool: &PgPool, sql: &str) -> String {
    match sqlx::query(sql).execute(pool).await {
        Ok(done) => panic!(
            "the database accepted {sql:?} ({} rows)",
            done.rows_affected()
        ),
        Err(e) => e
            .as_database_error()
            .and_then(|d| d.constraint().map(str::to_owned))
            .unwrap_or_else(|| panic!("{sql:?} failed without naming a constraint: {e}")),
    }
}

async fn funded(pool: &PgPool) -> Advertiser {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "100").await;
    ledger
        .transfer(transfer(&a.cash, &a.hold, "30", TransferKind::Hold))
        .await
        .expect("hold");
    a
}

fn insert(debit: i64, credit: i64, amount: &str, kind: &str, currency: &str) -> String {
    format!(
        "insert into ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, kind) \
         values (gen_random_uuid(), {debit}, {credit}, {amount}, '{currency}', '{kind}')"
    )
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn unbalanced_writes_to_balances_are_refused(pool: PgPool) {
    let a = funded(&pool).await;
    let cases = [
        (format!("update ledger_accounts set posted = posted + 5 where id = {}", a.cash.id), "account_balance_guarded"),
        (format!("update ledger_accounts set reserved = 1 where id = {}", a.cash.id), "account_balance_guarded"),
        (format!("update ledger_accounts set kind = 'external' where id = {}", a.cash.id), "account_balance_guarded"),
        (
            "insert into ledger_accounts (kind, currency, posted) values ('platform_revenue', 'USD', 5)".to_owned(),
            "account_balance_guarded",
        ),
        (format!("delete from ledger_accounts where id = {}", a.spend.id), "account_balance_guarded"),
        (format!("update ledger_accounts set credit_limit = 10 where id = {}", a.hold.id), "account_credit_limit_only_cash"),
        ("insert into ledger_accounts (kind, currency) values ('bank', 'USD')".to_owned(), "account_kind_known"),
        ("insert into ledger_accounts (kind, currency) values ('external', 'usd')".to_owned(), "account_currency_format"),
        ("insert into ledger_accounts (kind, currency) values ('advertiser_cash', 'USD')".to_owned(), "account_owner_shape"),
    ];
    for (sql, constraint) in cases {
        assert_eq!(refused_by(&pool, &sql).await, constraint, "{sql}");
    }
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn malformed_and_unbalanced_transfers_are_refused(pool: PgPool) {
    let a = funded(&pool).await;
    let (world, cash, hold, spend) = (a.world.id.0, a.cash.id.0, a.hold.id.0, a.spend.id.0);
    let cases = [
        (
            insert(cash, cash, "1", "hold", "USD"),
            "transfer_distinct_accounts",
        ),
        (
            insert(cash, hold, "0", "hold", "USD"),
            "transfer_amount_positive",
        ),
        (
            insert(cash, hold, "-5", "hold", "USD"),
            "transfer_amount_positive",
        ),
        (
            insert(cash, spend, "1", "spend", "USD"),
            "transfer_accounts_valid",
        ),
        (
            insert(cash, hold, "1", "hold", "EUR"),
            "transfer_accounts_valid",
        ),
        (
            insert(world, 999_999, "1", "deposit", "USD"),
            "transfer_accounts_valid",
        ),
        (
            insert(world, cash, "1", "gift", "USD"),
            "transfer_accounts_valid",
        ),
    ];
    for (sql, constraint) in cases {
        assert_eq!(refused_by(&pool, &sql).await, constraint, "{sql}");
    }
    // A transfer may not take the id of a pending transfer, nor the other way round.
    sqlx::query(&format!(
        "insert into ledger_pending_transfers (id, debit_account_id, credit_account_id, amount, currency, kind, expires_at) \
         values ('00000000-0000-0000-0000-0000000000aa', {cash}, {hold}, 1, 'USD', 'hold', now() + interval '1 hour')"
    ))
    .execute(&pool)
    .await
    .expect("a reservation");
    let taken = format!(
        "insert into ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, kind) \
         values ('00000000-0000-0000-0000-0000000000aa', {cash}, {hold}, 1, 'USD', 'hold')"
    );
    assert_eq!(refused_by(&pool, &taken).await, "transfer_id_taken");
    let posted_id: uuid::Uuid = sqlx::query_scalar("select id from ledger_transfers limit 1")
        .fetch_one(&pool)
        .await
        .expect("id");
    let reuse = format!(
        "insert into ledger_pending_transfers (id, debit_account_id, credit_account_id, amount, currency, kind, expires_at) \
         values ('{posted_id}', {cash}, {hold}, 1, 'USD', 'hold', now() + interval '1 hour')"
    );
    assert_eq!(refused_by(&pool, &reuse).await, "transfer_id_taken");
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn floors_and_the_spend_cap_hold_against_direct_inserts(pool: PgPool) {
    let a = funded(&pool).await;
    let (cash, hold, spend) = (a.cash.id.0, a.hold.id.0, a.spend.id.0);
    let cases = [
        // cash holds 70: pushing it below zero
        (
            insert(cash, hold, "70.000001", "hold", "USD"),
            "account_floor",
        ),
        // spend above the campaign's hold of 30
        (
            insert(hold, spend, "30.000001", "spend", "USD"),
            "account_floor",
        ),
        // a refund larger than what was spent
        (insert(spend, cash, "1", "refund", "USD"), "account_floor"),
    ];
    for (sql, constraint) in cases {
        assert_eq!(refused_by(&pool, &sql).await, constraint, "{sql}");
    }
    // A multi-row insert whose net effect is fine but which overspends the hold is refused whole.
    let sql = format!(
        "insert into ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, kind) values \
         (gen_random_uuid(), {hold}, {spend}, 20, 'USD', 'spend'), \
         (gen_random_uuid(), {hold}, {spend}, 20, 'USD', 'spend')"
    );
    assert_eq!(refused_by(&pool, &sql).await, "account_floor");
    // Exactly the hold is fine: the cap is inclusive.
    sqlx::query(&insert(hold, spend, "30", "spend", "USD"))
        .execute(&pool)
        .await
        .expect("spend all of the hold");
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_log_is_append_only(pool: PgPool) {
    let _ = funded(&pool).await;
    for (sql, constraint) in [
        (
            "update ledger_transfers set amount = amount * 2",
            "ledger_transfers_append_only",
        ),
        (
            "delete from ledger_transfers",
            "ledger_transfers_append_only",
        ),
        ("truncate ledger_transfers", "ledger_transfers_append_only"),
    ] {
        assert_eq!(refused_by(&pool, sql).await, constraint, "{sql}");
    }
    assert_ledger_consistent(&pool).await;
}
