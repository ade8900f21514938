//! Statements: per-account history with a running balance, cursor-paginated.

use ledger::{BatchMode, Ledger, MIGRATOR, Money, StatementCursor, TransferKind};
use sqlx::PgPool;

use crate::helpers::{advertiser, transfer};

#[sqlx::test(migrator = "MIGRATOR")]
async fn pages_carry_the_running_balance(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "100").await; // line 1: +100
    let mut items = Vec::new();
    for i in 0..23 {
        items.push(transfer(&a.cash, &a.hold, "3", TransferKind::Hold)); // -3 each
        if i % 5 == 0 {
            items.push(transfer(&a.hold, &a.cash, "1.25", TransferKind::Release)); // +1.25
        }
    }
    ledger
        .transfer_batch(&items, BatchMode::Linked)
        .await
        .expect("batch")
        .into_iter()
        .for_each(|r| {
            r.expect("posted");
        });

    let mut cursor = StatementCursor::start();
    let mut lines = Vec::new();
    let mut pages = 0;
    loop {
        let page = ledger.statement(a.cash.id, cursor, 7).await.expect("page");
        pages += 1;
        assert!(page.lines.len() <= 7);
        lines.extend(page.lines);
        match page.next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    assert_eq!(lines.len(), 1 + 23 + 5);
    assert_eq!(pages, 5);
    let mut running = Money::ZERO;
    let mut last_seq = 0;
    for line in &lines {
        assert!(line.transfer.seq > last_seq, "oldest first, no repeats");
        last_seq = line.transfer.seq;
        running = running.checked_add(line.change).expect("in range");
        assert_eq!(line.balance, running);
    }
    let account = ledger.account(a.cash.id).await.expect("account");
    assert_eq!(running, account.posted);
    assert_eq!(account.posted, Money::parse("37.25").expect("balance"));

    // a cursor from the middle gives the same lines as the full walk
    let cursor: StatementCursor = format!("s{}", lines[9].transfer.seq)
        .parse()
        .expect("cursor");
    let page = ledger.statement(a.cash.id, cursor, 3).await.expect("page");
    assert_eq!(page.lines, lines[10..13].to_vec());
}
