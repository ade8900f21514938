//! Fraud level 3 over a real ledger: events billed by the ledger writer, the scorer run after
//! the fact; the convicted sources' billed ads are refunded exactly, once, people's are not, and
//! the convicted addresses join the blocklist.

use std::time::Duration;

use events::{Billing, Duty, EventKind, EventStream, LedgerWriter, ServedEvent, WriterSettings};
use fraud::offline::Rules;
use fraud::scorer::score_recent;
use ledger::{LeaseId, Ledger};
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::funded_campaign;

fn impression(
    campaign: ledger::CampaignId,
    id: String,
    at_ms: i64,
    ip: &str,
    ua: String,
) -> ServedEvent {
    ServedEvent {
        id,
        kind: EventKind::Impression,
        campaign,
        lease: LeaseId(Uuid::from_u128(1)),
        billing: Billing::PerMille,
        price_micros: 1_500_000,
        at_ms,
        ip: ip.to_owned(),
        device: None,
        user_agent: Some(ua),
        invalid: None,
        partner: None,
        test: false,
    }
}

async fn money(pool: &PgPool, kind: &str) -> (i64, Decimal) {
    sqlx::query_as(
        "select count(*), coalesce(sum(amount), 0) from ledger_transfers where kind = $1",
    )
    .bind(kind)
    .fetch_one(pool)
    .await
    .expect("sum")
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn convicted_sources_are_refunded_exactly_once_and_blocklisted(pool: PgPool) {
    let ledger = Ledger::new(pool.clone());
    let campaign = funded_campaign(&ledger).await;
    let now = chrono::Utc::now();
    let start = now.timestamp_millis() - 9 * 60_000;
    let mut events = Vec::new();
    // five people, each seeing eight ads at random moments in one browser
    let mut rng = 17_u64;
    for p in 0..5 {
        for i in 0..8 {
            rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let at = start + (rng >> 33) as i64 % (8 * 60_000);
            events.push(impression(
                campaign,
                format!("person-{p}-{i}:1"),
                at,
                &format!("10.0.0.{p}"),
                format!("Mozilla/5.0 person {p}"),
            ));
        }
    }
    // three bots loading an ad every 20 s, each time as another browser
    for b in 0..3 {
        for i in 0..10 {
            events.push(impression(
                campaign,
                format!("bot-{b}-{i}:1"),
                start + i * 20_000 + b * 1_000,
                &format!("192.0.2.{b}"),
                format!("Agent/{i}"),
            ));
        }
    }
    let mut conn = test_support::redis().await;
    let stream = EventStream::new(
        2,
        events::EntryKeys::parse(test_support::ENTRY_KEYS, None)
            .expect("keys")
            .shared(),
    )
    .with_namespace(format!("l3-{}:", Uuid::now_v7().simple()));
    for e in &events {
        stream.append(&mut conn, e, 600).await.expect("append");
    }
    let writer_stream = stream.clone();
    let writer = LedgerWriter::new(
        ledger.clone(),
        conn.clone(),
        stream,
        WriterSettings::default(),
    );
    writer.prepare().await.expect("groups");
    assert_eq!(writer.drain().await.expect("drain").billed, 70);
    // the scorer judges what the recording duty wrote down
    let recorder = LedgerWriter::new(
        ledger.clone(),
        conn.clone(),
        writer_stream,
        WriterSettings::for_duty(Duty::Record),
    );
    recorder.prepare().await.expect("groups");
    assert_eq!(
        recorder.drain().await.expect("record").recorded,
        events.len()
    );
    let billed_to_bots: Decimal = sqlx::query_scalar(
        "select sum(amount) from ledger_transfers where kind = 'spend' and event_id like 'bot-%'",
    )
    .fetch_one(&pool)
    .await
    .expect("bots' spend");

    let window = Duration::from_secs(600);
    let outcome = score_recent(&pool, &ledger, window, &Rules::default(), now)
        .await
        .expect("score");
    assert_eq!(outcome.sources, 3, "{outcome:?}");
    assert_eq!(outcome.invalidated, 30);
    assert_eq!(outcome.refunds, 30);
    assert_eq!(
        outcome.refunded,
        [(ledger::Currency::parse("USD").expect("USD"), billed_to_bots)].into(),
        "refunds equal what the invalid ads were billed, to the micro"
    );
    assert_eq!(money(&pool, "refund").await, (30, billed_to_bots));
    let unlinked: i64 = sqlx::query_scalar(
        "select count(*) from ledger_transfers r
          where r.kind = 'refund'
            and not exists (select 1 from ledger_transfers s
                             where s.kind = 'spend' and s.event_id = r.event_id
                               and s.id::text = r.metadata ->> 'refunds' and s.amount = r.amount)",
    )
    .fetch_one(&pool)
    .await
    .expect("links");
    assert_eq!(
        unlinked, 0,
        "each refund names the spend it returns, same amount"
    );
    let people_refunded: i64 = sqlx::query_scalar(
        "select count(*) from ledger_transfers where kind = 'refund' and event_id like 'person-%'",
    )
    .fetch_one(&pool)
    .await
    .expect("people");
    assert_eq!(people_refunded, 0);
    let reason: String = sqlx::query_scalar(
        "select metadata ->> 'reason' from ledger_transfers where kind = 'refund' limit 1",
    )
    .fetch_one(&pool)
    .await
    .expect("reason");
    assert!(reason.starts_with("invalid_traffic:"), "{reason}");
    let blocked: Vec<String> = sqlx::query_scalar(
        "select value from blocked_sources where added_by = 'fraud-scorer' order by value",
    )
    .fetch_all(&pool)
    .await
    .expect("blocklist");
    assert_eq!(blocked, vec!["192.0.2.0", "192.0.2.1", "192.0.2.2"]);

    // run again: nothing more
    let again = score_recent(&pool, &ledger, window, &Rules::default(), now)
        .await
        .expect("score");
    assert_eq!((again.sources, again.refunds), (0, 0));
    assert_eq!(money(&pool, "refund").await, (30, billed_to_bots));
}
