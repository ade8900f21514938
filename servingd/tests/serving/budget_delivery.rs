//! Budgets end to end, as advertisers set them, on the real services: the admin API, servingd,
//! the ledger writer, Redis and PostgreSQL, with the load generator sending traffic (fetching
//! every billing URL and clicking 2% of the ads, from the devices' addresses) before, during
//! and after the campaigns are activated. Budgets of 0.10, 1, 10 and 1,000, per impression and
//! per click, accelerated, each delivered to its last event and never billed or served past its
//! bound; the two campaigns found broken in the demo (1.00 at 9.00 CPM accelerated, served 3×
//! its budget; 0.50 at 9.50 CPM even, its day gone in 1.5 s); and the even one's spend in its
//! first minute within what its day allows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use ledger::Ledger;
use ledger::events::{EventStream, LedgerWriter, WriterSettings};
use rust_decimal::Decimal;
use serde_json::json;
use servingd::loadgen::{Plan, run};
use servingd::pacing::HourProfile;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::helpers::{Platform, redis_url};

/// One campaign of the run.
struct Case {
    name: &'static str,
    budget: &'static str,
    /// `cpm` or `cpc`.
    kind: &'static str,
    bid: &'static str,
    pacing: &'static str,
}

/// The bids are set so that each budget buys a few dozen to a few thousand events, and that
/// the campaigns run through in a few minutes at this test's rate.
const CASES: [Case; 10] = [
    case("CPM 0.10", "0.10", "cpm", "2", "accelerated"),
    case("CPM 1", "1", "cpm", "20", "accelerated"),
    case("CPM 10", "10", "cpm", "200", "accelerated"),
    case("CPM 1,000", "1000", "cpm", "200", "accelerated"),
    case("CPC 0.10", "0.10", "cpc", "0.10", "accelerated"),
    case("CPC 1", "1", "cpc", "0.10", "accelerated"),
    case("CPC 10", "10", "cpc", "0.50", "accelerated"),
    case("CPC 1,000", "1000", "cpc", "20", "accelerated"),
    case(
        "demo: 1.00 at 9.00 CPM",
        "1.00",
        "cpm",
        "9.00",
        "accelerated",
    ),
    case("demo: 0.50 at 9.50 CPM even", "0.50", "cpm", "9.50", "even"),
];

const fn case(
    name: &'static str,
    budget: &'static str,
    kind: &'static str,
    bid: &'static str,
    pacing: &'static str,
) -> Case {
    Case {
        name,
        budget,
        kind,
        bid,
        pacing,
    }
}

/// Requests a second from the load generator.
const RATE: f64 = 300.0;
/// How long after a per-click lease closes its clicks count (servingd's setting, short here).
const CLICK_WINDOW_S: i64 = 5;
/// The longest the accelerated campaigns may take to deliver.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(200);

fn dec(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

/// A fixed-offset time zone in which it is morning now, so the even campaign's day has most
/// of its traffic ahead.
fn morning_zone() -> (String, i32) {
    let hour = Utc::now().hour() as i32;
    let offset = (8 - hour + 12).rem_euclid(24) - 12;
    let name = match offset {
        0 => "Etc/GMT".to_owned(),
        n if n > 0 => format!("Etc/GMT-{n}"),
        n => format!("Etc/GMT+{}", -n),
    };
    (name, offset)
}

/// What `campaign` was billed, and refused as over-delivery, in the ledger.
async fn billed(pool: &PgPool, campaign: Uuid) -> (Decimal, Decimal) {
    let billed: Decimal = sqlx::query_scalar(
        "select posted from ledger_accounts where campaign_id = $1 and kind = 'campaign_spend'",
    )
    .bind(campaign)
    .fetch_one(pool)
    .await
    .expect("spend account");
    let refused: Decimal = sqlx::query_scalar(
        "select coalesce(sum(amount), 0) from unbilled_events where campaign_id = $1 and reason = 'over_delivery'",
    )
    .bind(campaign)
    .fetch_one(pool)
    .await
    .expect("unbilled");
    (billed, refused)
}

/// The most one event of a case costs: an impression at its CPM, or a click.
fn event_price(case: &Case) -> Decimal {
    match case.kind {
        "cpm" => dec(case.bid) / Decimal::from(1000),
        _ => dec(case.bid),
    }
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn budgets_are_delivered_and_never_served_past_when_activated_under_load(pool: PgPool) {
    let mut platform = Platform::start_with(pool.clone(), |s| {
        // the load generator's browsers send their devices' addresses
        s.trust_forwarded_for = true;
        s.click_window_s = CLICK_WINDOW_S;
    })
    .await;
    // the ledger writer over servingd's event stream
    let settings = &platform.engine.settings;
    let stream =
        EventStream::new(settings.event_shards).with_namespace(settings.event_namespace.clone());
    let redis = redis::Client::open(redis_url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let writer = Arc::new(LedgerWriter::new(
        Ledger::new(pool.clone()),
        redis,
        stream,
        WriterSettings {
            consumer: "budget-delivery".into(),
            ..WriterSettings::default()
        },
    ));
    writer.prepare().await.expect("groups");
    let (stop_writer, stopped) = watch::channel(false);
    let writing = tokio::spawn(writer.clone().run(stopped));

    // other campaigns, and traffic, before the cases are activated
    for size in [(728, 90), (320, 50)] {
        platform
            .active_campaign(json!({
                "bid": {"kind": "cpm", "amount": "0.40"},
                "creatives": [{"id": "bg", "format": "banner", "w": size.0, "h": size.1,
                               "click_url": "https://bg.example.com", "markup": "<b>bg</b>",
                               "adomain": "bg.example.com"}]
            }))
            .await;
    }
    let plan = Plan {
        url: format!("{}/openrtb2/auction", platform.serving),
        rate: RATE,
        duration: DELIVERY_TIMEOUT + Duration::from_secs(30),
        clients: 16,
        users: 5_000,
        seed: 23,
        get: false,
        unmatched: false,
        click_share: Some(0.02),
    };
    let load = tokio::spawn(async move { run(&plan).await });
    tokio::time::sleep(Duration::from_secs(3)).await;

    let (zone, offset_hours) = morning_zone();
    let mut ids = Vec::new();
    for case in &CASES {
        let id = platform
            .active_campaign(json!({
                "name": case.name,
                "schedule": {"start": "2026-01-01T00:00:00Z", "time_zone": zone},
                "budget": {"daily": case.budget, "lifetime": null},
                "bid": {"kind": case.kind, "amount": case.bid},
                "pacing": case.pacing,
            }))
            .await;
        ids.push(id);
    }
    let activated = Instant::now();
    let activated_at = Utc::now();

    // the even campaign's first minute, as servingd served it
    let even = CASES.len() - 1;
    let mut first_minute = None;
    loop {
        if first_minute.is_none() && activated.elapsed() >= Duration::from_secs(60) {
            let index = platform.engine.live.load();
            let campaign = index.get(ids[even]).expect("the even campaign is live");
            first_minute = Some(campaign.throttle.spent_today());
        }
        let mut delivered = true;
        for (case, id) in CASES.iter().zip(&ids).take(even) {
            let (billed, _) = billed(&pool, *id).await;
            delivered &= billed + event_price(case) > dec(case.budget);
        }
        if (delivered && first_minute.is_some()) || activated.elapsed() > DELIVERY_TIMEOUT {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let took = activated.elapsed();
    load.abort();
    // the last clicks' windows close and their counts settle; the writer catches up
    tokio::time::sleep(Duration::from_secs(CLICK_WINDOW_S as u64 + 8)).await;
    let _ = stop_writer.send(true);
    writing.await.expect("writer").expect("writer ran");

    println!(
        "\nbudgets delivered end to end ({RATE} requests/s, 2% of ads clicked, delivered in {:.0} s):",
        took.as_secs_f64()
    );
    println!(
        "{:<30} {:>10} {:>12} {:>14} {:>12}",
        "campaign", "budget", "billed", "over-delivery", "undelivered"
    );
    let mut failures = Vec::new();
    for (case, id) in CASES.iter().zip(&ids) {
        let budget = dec(case.budget);
        let (billed, over) = billed(&pool, *id).await;
        let undelivered = budget - billed;
        println!(
            "{:<30} {:>10} {:>12} {:>14} {:>12}",
            case.name, case.budget, billed, over, undelivered
        );
        // one serving instance: within 0.1% of the budget or one event
        let over_bound = (budget / Decimal::from(1000)).max(event_price(case));
        if billed > budget {
            failures.push(format!("{}: billed {billed} above {budget}", case.name));
        }
        if over > over_bound {
            failures.push(format!(
                "{}: {over} delivered beyond the budget (bound {over_bound})",
                case.name
            ));
        }
        if case.pacing == "accelerated"
            && undelivered >= event_price(case).max(budget / Decimal::from(200))
        {
            failures.push(format!("{}: {undelivered} left undelivered", case.name));
        }
    }
    // the even campaign: its first minute within what its day allows for that minute (the rest
    // of its day's budget over the rest of its day's traffic), give or take one impression
    let profile = HourProfile::diurnal().shifted(offset_hours);
    let local = activated_at
        .with_timezone(&chrono::FixedOffset::east_opt(offset_hours * 3600).expect("offset"));
    let f0 = f64::from(local.num_seconds_from_midnight()) / 86_400.0;
    let share = profile.between(f0, f0 + 60.0 / 86_400.0) / (1.0 - profile.before(f0));
    let allowed = 500_000.0 * share + 9_500.0;
    let spent = first_minute.expect("measured");
    println!(
        "even 0.50: {spent} micros served in its first minute; its day allows {:.0} (+ one impression)",
        allowed - 9_500.0
    );
    if spent as f64 > allowed {
        failures.push(format!(
            "the even campaign served {spent} micros in its first minute, above {allowed:.0}"
        ));
    }
    assert!(failures.is_empty(), "{failures:#?}");
    platform.stop().await;
}
