//! The ledger writer over a real Redis stream and a real PostgreSQL: each billed event posts one
//! spend transfer however often it is delivered, refused spend is recorded unbilled once, and
//! entries that are not events, or whose seal does not verify, are kept aside and never billed;
//! the recording duty counts every event once, and
//! the stream keeps entries until every duty has them.

use std::time::Duration;

use events::{
    Appended, Billing, Duty, EntryKeys, EventKind, EventStream, LedgerWriter, ServedEvent,
    SharedEntryKeys, StreamShard, WriterSettings,
};
use ledger::{CampaignId, LeaseId, Ledger, MIGRATOR, TransferKind};
use redis::aio::MultiplexedConnection;
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use ledger::fixtures::{Advertiser, advertiser, assert_ledger_consistent, dec, transfer};

async fn redis() -> MultiplexedConnection {
    test_support::redis().await
}

/// The tests' entry keys.
fn keys() -> SharedEntryKeys {
    EntryKeys::parse(test_support::ENTRY_KEYS, None)
        .expect("keys")
        .shared()
}

/// A stream of two shards under a namespace of its own.
fn stream() -> EventStream {
    EventStream::new(2, keys()).with_namespace(format!("test-{}:", Uuid::now_v7()))
}

/// Appends `fields` as they are, past the tracking endpoint (as anyone who can write to Redis
/// could), sealed with `keys` if given: the entry's id.
async fn append_raw(
    conn: &mut MultiplexedConnection,
    stream: &EventStream,
    shard: StreamShard,
    fields: &[(&str, String)],
    keys: Option<&EntryKeys>,
) -> String {
    let mut xadd = redis::cmd("XADD");
    xadd.arg(stream.key(shard)).arg("*");
    for (name, value) in fields {
        xadd.arg(*name).arg(value);
    }
    if let Some(keys) = keys {
        xadd.arg("seal")
            .arg(keys.seal(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()))));
    }
    xadd.query_async(conn).await.expect("xadd")
}

fn writer<C>(pool: &PgPool, conn: &C, stream: &EventStream) -> LedgerWriter<C>
where
    C: redis::aio::ConnectionLike + Clone + Send + Sync + 'static,
{
    LedgerWriter::new(
        Ledger::new(pool.clone()),
        conn.clone(),
        stream.clone(),
        WriterSettings {
            consumer: "writer-a".into(),
            claim_idle: Duration::ZERO,
            claim_every: Duration::ZERO,
            ..WriterSettings::default()
        },
    )
}

/// A recording writer (every event into `ad_events`) over the same stream, in its own group.
async fn recorder<C>(pool: &PgPool, conn: &C, stream: &EventStream) -> LedgerWriter<C>
where
    C: redis::aio::ConnectionLike + Clone + Send + Sync + 'static,
{
    let recorder = LedgerWriter::new(
        Ledger::new(pool.clone()),
        conn.clone(),
        stream.clone(),
        WriterSettings {
            consumer: "recorder-a".into(),
            ..WriterSettings::for_duty(Duty::Record)
        },
    );
    recorder.prepare().await.expect("groups");
    recorder
}

/// What each test starts from: a campaign holding `held`, a Redis connection, a stream of its
/// own and a writer over it (groups created).
async fn setup(
    pool: &PgPool,
    held: &str,
) -> (
    Advertiser,
    MultiplexedConnection,
    EventStream,
    LedgerWriter<MultiplexedConnection>,
) {
    let a = campaign(pool, held).await;
    let conn = redis().await;
    let stream = stream();
    let writer = writer(pool, &conn, &stream);
    writer.prepare().await.expect("groups");
    (a, conn, stream, writer)
}

/// Appends impressions `numbers` of `campaign` at a CPM of `cpm_micros`.
async fn append_impressions(
    conn: &mut MultiplexedConnection,
    stream: &EventStream,
    campaign: CampaignId,
    lease: LeaseId,
    numbers: std::ops::Range<usize>,
    cpm_micros: i64,
) {
    for n in numbers {
        stream
            .append(conn, &impression(campaign, lease, n, cpm_micros), 600)
            .await
            .expect("append");
    }
}

/// A campaign holding `held` of its advertiser's cash.
async fn campaign(pool: &PgPool, held: &str) -> Advertiser {
    let ledger = Ledger::new(pool.clone());
    let a = advertiser(&ledger, "100").await;
    ledger
        .transfer(transfer(&a.cash, &a.hold, held, TransferKind::Hold))
        .await
        .expect("hold");
    a
}

fn impression(campaign: CampaignId, lease: LeaseId, n: usize, cpm_micros: i64) -> ServedEvent {
    ServedEvent {
        id: format!("{}:{n}", Uuid::from_u128(n as u128 + 1)),
        kind: EventKind::Impression,
        campaign,
        lease,
        billing: Billing::PerMille,
        price_micros: cpm_micros,
        at_ms: chrono::Utc::now().timestamp_millis(),
        ip: "203.0.113.9".into(),
        device: Some(format!("ifa-{n}")),
        user_agent: Some("Mozilla/5.0".into()),
        invalid: None,
        partner: None,
        test: false,
    }
}

async fn spend_rows(pool: &PgPool, campaign: CampaignId) -> (i64, Decimal) {
    sqlx::query_as(
        "select count(*), coalesce(sum(amount), 0) from ledger_transfers
          where kind = 'spend' and campaign_id = $1",
    )
    .bind(campaign.0)
    .fetch_one(pool)
    .await
    .expect("spend rows")
}

/// Impressions and clicks recorded for reports.
async fn event_rows(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "select count(*) filter (where kind = 'impression'), count(*) filter (where kind = 'click')
           from ad_events",
    )
    .fetch_one(pool)
    .await
    .expect("events")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_billed_event_posts_once_however_often_it_is_delivered(pool: PgPool) {
    let (a, mut conn, stream, writer) = setup(&pool, "10").await;
    let lease = LeaseId::new();
    for n in 0..60 {
        let event = impression(a.campaign, lease, n, 2_500_000);
        assert!(matches!(
            stream.append(&mut conn, &event, 600).await.expect("append"),
            Appended::New(_)
        ));
        // the browser fires the billing URL twice: accepted, counted once
        assert_eq!(
            stream.append(&mut conn, &event, 600).await.expect("append"),
            Appended::Repeat
        );
        // a click on a CPM ad is an event, but costs nothing
        if n % 10 == 0 {
            let click = ServedEvent {
                kind: EventKind::Click,
                ..event
            };
            stream.append(&mut conn, &click, 600).await.expect("append");
        }
    }
    let recorder = recorder(&pool, &conn, &stream).await;
    let first = writer.drain().await.expect("drain");
    assert_eq!((first.entries, first.billed, first.free), (66, 60, 6));
    assert_eq!(event_rows(&pool).await, (0, 0), "billing records no events");
    let recorded = recorder.drain().await.expect("record");
    assert_eq!(
        (recorded.entries, recorded.recorded, recorded.billed),
        (66, 66, 0)
    );
    assert_eq!(
        spend_rows(&pool, a.campaign).await,
        (60, dec("0.150000")),
        "60 impressions at a CPM of 2.5"
    );
    let unattributed: i64 = sqlx::query_scalar(
        "select count(*) from ledger_transfers
          where kind = 'spend' and (lease_id is distinct from $1 or event_id is null)",
    )
    .bind(lease.0)
    .fetch_one(&pool)
    .await
    .expect("attribution");
    assert_eq!(unattributed, 0, "every spend names its event and its lease");
    assert_eq!(
        event_rows(&pool).await,
        (60, 6),
        "reports count every event once"
    );

    // the whole stream again: nothing moves
    writer.rewind().await.expect("rewind");
    let again = writer.drain().await.expect("drain");
    assert_eq!((again.entries, again.billed, again.repeated), (66, 0, 60));
    assert_eq!(spend_rows(&pool, a.campaign).await, (60, dec("0.150000")));
    recorder.rewind().await.expect("rewind");
    assert_eq!(recorder.drain().await.expect("record").recorded, 66);
    assert_eq!(event_rows(&pool).await, (60, 6));
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn entries_a_dead_writer_left_unacknowledged_are_claimed_and_posted_once(pool: PgPool) {
    let (a, mut conn, stream, writer) = setup(&pool, "10").await;
    let lease = LeaseId::new();
    append_impressions(&mut conn, &stream, a.campaign, lease, 0..20, 1_000_000).await;
    // another writer reads everything, posts the first ten and dies before acknowledging
    let shard: StreamShard = stream.shard_of(a.campaign);
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("ledger-writer")
        .arg("writer-dead")
        .arg("COUNT")
        .arg(100)
        .arg("STREAMS")
        .arg(stream.key(shard))
        .arg(">")
        .query_async(&mut conn)
        .await
        .expect("read as the dead writer");
    let ledger = Ledger::new(pool.clone());
    for n in 0..10 {
        let event = impression(a.campaign, lease, n, 1_000_000);
        let mut t = transfer(&a.hold, &a.spend, "0.001", TransferKind::Spend);
        t.id = event.spend_id();
        t.references.campaign = Some(a.campaign);
        t.references.advertiser = Some(a.id);
        t.references.event = Some(event.id.clone());
        t.references.lease = Some(lease);
        ledger.transfer(t).await.expect("posted by the dead writer");
    }
    let outcome = writer.drain().await.expect("drain");
    assert_eq!(
        (outcome.entries, outcome.billed, outcome.repeated),
        (20, 10, 10)
    );
    assert_eq!(spend_rows(&pool, a.campaign).await, (20, dec("0.020000")));
    let pending: (i64, Option<String>, Option<String>, Option<redis::Value>) =
        redis::cmd("XPENDING")
            .arg(stream.key(shard))
            .arg("ledger-writer")
            .query_async(&mut conn)
            .await
            .expect("pending");
    assert_eq!(pending.0, 0, "everything acknowledged");
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn spend_beyond_the_hold_is_refused_and_recorded_unbilled_once(pool: PgPool) {
    let (a, mut conn, stream, writer) = setup(&pool, "0.005").await;
    let lease = LeaseId::new();
    append_impressions(&mut conn, &stream, a.campaign, lease, 0..5, 2_000_000).await;
    // and a campaign the ledger has no budget for
    let orphan = CampaignId::new();
    stream
        .append(&mut conn, &impression(orphan, lease, 99, 2_000_000), 600)
        .await
        .expect("append");
    let outcome = writer.drain().await.expect("drain");
    assert_eq!((outcome.billed, outcome.unbilled), (2, 4));
    assert_eq!(spend_rows(&pool, a.campaign).await, (2, dec("0.004000")));
    let reasons: Vec<(String, i64, Decimal)> = sqlx::query_as(
        "select reason, count(*), sum(amount) from unbilled_events group by reason order by reason",
    )
    .fetch_all(&pool)
    .await
    .expect("unbilled");
    assert_eq!(
        reasons,
        vec![
            ("no_budget".to_owned(), 1, dec("0.002000")),
            ("over_delivery".to_owned(), 3, dec("0.006000")),
        ]
    );

    // more budget arrives, then everything is delivered again: the refused ads stay unbilled
    let ledger = Ledger::new(pool.clone());
    ledger
        .transfer(transfer(&a.cash, &a.hold, "1", TransferKind::Hold))
        .await
        .expect("hold");
    writer.rewind().await.expect("rewind");
    let again = writer.drain().await.expect("drain");
    assert_eq!((again.billed, again.unbilled, again.repeated), (0, 0, 6));
    assert_eq!(spend_rows(&pool, a.campaign).await, (2, dec("0.004000")));
    let rows: i64 = sqlx::query_scalar("select count(*) from unbilled_events")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(rows, 4);
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_entry_that_is_not_an_event_is_kept_aside_and_does_not_hold_up_the_rest(pool: PgPool) {
    let (a, mut conn, stream, writer) = setup(&pool, "1").await;
    let shard = stream.shard_of(a.campaign);
    let keys = EntryKeys::parse(test_support::ENTRY_KEYS, None).expect("keys");
    let odd = [("id", "x:1".to_owned()), ("kind", "view".to_owned())];
    append_raw(&mut conn, &stream, shard, &odd, Some(&keys)).await;
    stream
        .append(
            &mut conn,
            &impression(a.campaign, LeaseId::new(), 1, 1_000_000),
            600,
        )
        .await
        .expect("append");
    let outcome = writer.drain().await.expect("drain");
    assert_eq!((outcome.entries, outcome.dead, outcome.billed), (2, 1, 1));
    let (error,): (String,) = sqlx::query_as("select error from event_dead_letters")
        .fetch_one(&pool)
        .await
        .expect("dead letter");
    assert!(error.contains("\"campaign\" is missing"), "{error}");
    assert_eq!(outcome.unsealed, 0, "it was sealed, only not an event");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_entry_not_sealed_with_the_writers_keys_is_set_aside_and_never_billed(pool: PgPool) {
    let (a, mut conn, stream, writer) = setup(&pool, "1").await;
    let recorder = recorder(&pool, &conn, &stream).await;
    let shard = stream.shard_of(a.campaign);
    let lease = LeaseId::new();
    let keys = EntryKeys::parse(test_support::ENTRY_KEYS, None).expect("keys");
    let strangers = EntryKeys::new(1, vec![(1, vec![42; 32])]).expect("keys");
    // a well-formed billable impression with no seal, one sealed with a key of the same id that
    // is not ours, and one sealed rightly whose price was raised afterwards
    let fields = |n| impression(a.campaign, lease, n, 2_000_000).fields();
    append_raw(&mut conn, &stream, shard, &fields(1), None).await;
    append_raw(&mut conn, &stream, shard, &fields(2), Some(&strangers)).await;
    let mut raised = fields(3);
    let sealed_at_two = keys.seal(raised.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
    raised
        .iter_mut()
        .find(|(n, _)| *n == "price")
        .expect("price")
        .1 = "900000000".into();
    raised.push(("seal", sealed_at_two));
    append_raw(&mut conn, &stream, shard, &raised, None).await;
    // and one the tracking endpoint appended
    stream
        .append(&mut conn, &impression(a.campaign, lease, 4, 2_000_000), 600)
        .await
        .expect("append");

    let outcome = writer.drain().await.expect("drain");
    assert_eq!(
        (
            outcome.entries,
            outcome.dead,
            outcome.unsealed,
            outcome.billed
        ),
        (4, 3, 3, 1)
    );
    assert_eq!(
        spend_rows(&pool, a.campaign).await,
        (1, dec("0.002")),
        "only the sealed impression is billed"
    );
    let errors: Vec<String> =
        sqlx::query_scalar("select error from event_dead_letters order by entry_id")
            .fetch_all(&pool)
            .await
            .expect("dead letters");
    assert_eq!(
        errors,
        [
            "the entry has no seal",
            "the entry's seal does not match its fields",
            "the entry's seal does not match its fields",
        ]
    );
    let recorded = recorder.drain().await.expect("record");
    assert_eq!(
        (recorded.recorded, recorded.unsealed),
        (1, 3),
        "nor are they reported"
    );
    assert_ledger_consistent(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn on_a_redis_cluster_every_shard_is_appended_to_and_drained(pool: PgPool) {
    let mut conn = test_support::redis_cluster().await;
    // eight shards, their hash tags spread over the three masters
    let stream = EventStream::new(8, keys()).with_namespace(format!("test-{}:", Uuid::now_v7()));
    let writer = writer(&pool, &conn, &stream);
    writer.prepare().await.expect("groups");
    let mut campaigns = Vec::new();
    let mut shards = std::collections::HashSet::new();
    while shards.len() < 8 {
        let a = campaign(&pool, "10").await;
        shards.insert(stream.shard_of(a.campaign));
        campaigns.push(a);
    }
    let lease = LeaseId::new();
    let mut n = 0;
    for a in &campaigns {
        for _ in 0..5 {
            let event = impression(a.campaign, lease, n, 2_000_000);
            stream.append(&mut conn, &event, 600).await.expect("append");
            assert_eq!(
                stream.append(&mut conn, &event, 600).await.expect("append"),
                Appended::Repeat
            );
            n += 1;
        }
    }
    let outcome = writer.drain().await.expect("drain");
    assert_eq!((outcome.entries, outcome.billed), (n, n));
    let spend: i64 =
        sqlx::query_scalar("select count(*) from ledger_transfers where kind = 'spend'")
            .fetch_one(&pool)
            .await
            .expect("spend");
    assert_eq!(spend, n as i64);
    assert_ledger_consistent(&pool).await;
}

/// Billing and recording read the stream at their own pace: billing's trims never drop an entry
/// the recorder has not handled, and once both have, the entries go.
#[sqlx::test(migrator = "MIGRATOR")]
async fn entries_stay_until_every_duty_has_handled_them(pool: PgPool) {
    let (a, mut conn, stream, _) = setup(&pool, "10").await;
    let trimming = |duty| WriterSettings {
        consumer: format!("{duty:?}-trimming"),
        retention: Duration::ZERO,
        trim_every: Duration::ZERO,
        ..WriterSettings::for_duty(duty)
    };
    let billing = LedgerWriter::new(
        Ledger::new(pool.clone()),
        conn.clone(),
        stream.clone(),
        trimming(Duty::Bill),
    );
    let recording = LedgerWriter::new(
        Ledger::new(pool.clone()),
        conn.clone(),
        stream.clone(),
        trimming(Duty::Record),
    );
    billing.prepare().await.expect("groups");
    recording.prepare().await.expect("groups");
    append_impressions(
        &mut conn,
        &stream,
        a.campaign,
        LeaseId::new(),
        0..30,
        1_000_000,
    )
    .await;
    let key = stream.key(stream.shard_of(a.campaign));
    let length = |mut conn: MultiplexedConnection, key: String| async move {
        redis::cmd("XLEN")
            .arg(key)
            .query_async::<i64>(&mut conn)
            .await
            .expect("xlen")
    };

    assert_eq!(billing.drain().await.expect("bill").billed, 30);
    // billing trims as it goes (no retention here), but the recorder has read nothing yet
    billing.drain().await.expect("trim");
    assert_eq!(length(conn.clone(), key.clone()).await, 30);
    assert_eq!(event_rows(&pool).await, (0, 0));

    assert_eq!(recording.drain().await.expect("record").recorded, 30);
    assert_eq!(event_rows(&pool).await, (30, 0));
    recording.drain().await.expect("trim");
    // XTRIM MINID keeps the last entry both groups were given; the rest is gone
    assert!(length(conn.clone(), key).await <= 1);
}

/// The ledger writer's own Redis user (scripts/redis-users.acl) reads, acknowledges and trims the
/// event stream, and can do nothing else: not append an event, not touch another key, not run
/// an admin command, not pause or kill other clients.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_writers_redis_user_bills_the_stream_and_can_append_nothing(pool: PgPool) {
    let (a, mut admin, stream, _) = setup(&pool, "1").await;
    let writer_user = redis::Client::open(test_support::service("REDIS_URL_LEDGER_WRITER"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("the writer's user signs in");
    let writer = writer(&pool, &writer_user, &stream);
    writer.prepare().await.expect("groups");
    append_impressions(
        &mut admin,
        &stream,
        a.campaign,
        LeaseId::new(),
        0..3,
        2_000_000,
    )
    .await;
    assert_eq!(writer.drain().await.expect("drain").billed, 3);

    let mut conn = writer_user.clone();
    let event = impression(a.campaign, LeaseId::new(), 9, 2_000_000);
    let appended = stream.append(&mut conn, &event, 600).await;
    assert!(appended.as_ref().is_err_and(no_permission), "{appended:?}");
    let key = stream.key(stream.shard_of(a.campaign));
    for refused in [
        redis::cmd("XADD")
            .arg(&key)
            .arg("*")
            .arg("id")
            .arg("x")
            .clone(),
        redis::cmd("SET").arg("elsewhere").arg("1").clone(),
        redis::cmd("GET").arg(&key).clone(),
        redis::cmd("FLUSHALL").clone(),
        redis::cmd("CONFIG").arg("GET").arg("maxmemory").clone(),
        redis::cmd("CLIENT").arg("LIST").clone(),
        redis::cmd("CLIENT").arg("PAUSE").arg("1000").clone(),
        redis::cmd("CLIENT")
            .arg("KILL")
            .arg("USER")
            .arg("adplat-servingd")
            .clone(),
    ] {
        let answer: redis::RedisResult<redis::Value> = refused.query_async(&mut conn).await;
        assert!(answer.as_ref().is_err_and(no_permission), "{answer:?}");
    }
}

/// Whether Redis refused a command for want of permission (ACL).
fn no_permission(e: &redis::RedisError) -> bool {
    e.code() == Some("NOPERM") || e.to_string().contains("no permissions")
}
