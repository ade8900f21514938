//! Campaign reports: delivery from the event table, and delivery the ledger refused to bill
//! shown beside the spend, never in it.

use api::auth::Role;
use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::MIGRATOR;
use crate::helpers::TestApp;

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_report_counts_events_and_shows_unbilled_over_delivery(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let advertiser = app.advertiser("Reported").await;
    let campaign = app.campaign(advertiser, json!({"lifetime": "10"})).await;
    let at = "2026-11-20T10:30:00Z";
    for (event, kind) in [
        ("a:1", "impression"),
        ("b:1", "impression"),
        ("a:1", "click"),
    ] {
        sqlx::query("insert into ad_events (event_id, campaign_id, kind, at) values ($1, $2, $3, $4::timestamptz)")
            .bind(event)
            .bind(campaign)
            .bind(kind)
            .bind(at)
            .execute(&pool)
            .await
            .expect("event");
    }
    sqlx::query(
        "insert into unbilled_events (event_id, campaign_id, lease_id, amount, currency, reason, event_at)
         values ('c:1', $1, $2, 0.002, 'EUR', 'over_delivery', $3::timestamptz)",
    )
    .bind(campaign)
    .bind(Uuid::now_v7())
    .bind(at)
    .execute(&pool)
    .await
    .expect("unbilled");
    let token = app.token(Role::Advertiser, Some(advertiser));
    let report = app
        .send(
            Method::GET,
            &format!(
                "/api/v1/campaigns/{campaign}/report?from=2026-11-19T00:00:00Z&to=2026-11-22T00:00:00Z"
            ),
            Some(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let rows = report.body["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{}", report.body);
    assert_eq!(rows[0]["impressions"], 2);
    assert_eq!(rows[0]["clicks"], 1);
    assert_eq!(rows[0]["spend"], "0.000000");
    assert_eq!(rows[0]["unbilled_over_delivery"], "0.002000");
    assert_eq!(rows[0]["ctr"], "0.5");
}

/// The pace of a campaign activated mid-day is judged along the curve of the day's traffic
/// that pacing follows, against what was left of its day when it started.
#[sqlx::test(migrator = "MIGRATOR")]
async fn pace_follows_the_day_curve_from_when_the_campaign_started(pool: PgPool) {
    use budget::day_curve::HourProfile;
    use chrono::{Offset, Timelike};
    use ledger::{
        AccountOwner, AdvertiserId, Amount, CampaignId, Clock, Currency, Ledger, NewTransfer,
    };
    use ledger::{References, TransferId, TransferKind};

    let app = TestApp::new(pool.clone()).await;
    let advertiser = app.advertiser("Paced").await;
    app.deposit(advertiser, "100").await;
    let campaign = app.campaign(advertiser, json!({"daily": "24"})).await;
    let operator = app.token(Role::Operator, None);
    let activated = app.clock.now();
    let reply = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/activate"),
            &operator,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // half a unit spent a moment later
    app.clock.advance(chrono::Duration::seconds(1));
    let ledger = Ledger::new(pool.clone()).with_clock(app.clock.clone());
    let eur = Currency::parse("EUR").expect("eur");
    let (a, c) = (AdvertiserId(advertiser), CampaignId(campaign));
    let hold = ledger
        .open_account(
            AccountOwner::CampaignHold {
                advertiser: a,
                campaign: c,
            },
            eur,
        )
        .await
        .expect("hold");
    let spend = ledger
        .open_account(
            AccountOwner::CampaignSpend {
                advertiser: a,
                campaign: c,
            },
            eur,
        )
        .await
        .expect("spend");
    let mut t = NewTransfer::new(
        TransferId::new(),
        hold.id,
        spend.id,
        Amount::parse("0.5").expect("amount"),
        eur,
        TransferKind::Spend,
    );
    t.references = References {
        advertiser: Some(a),
        campaign: Some(c),
        ..References::default()
    };
    ledger.transfer(t).await.expect("spend");

    let token = app.token(Role::Advertiser, Some(advertiser));
    let range = format!(
        "from={}&to={}",
        (activated - chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ"),
        (activated + chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let hourly = app
        .get(
            &format!("/api/v1/campaigns/{campaign}/report?granularity=hour&{range}"),
            &token,
        )
        .await;
    assert_eq!(hourly.status, StatusCode::OK, "{}", hourly.body);
    let row = &hourly.body["rows"][0];
    let pace: f64 = row["pace"].as_str().expect("pace").parse().expect("number");
    // the target: the day's 24 over the traffic left from activation (its hold), this hour's
    // part of it
    let activated: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "select posted_at from ledger_transfers where campaign_id = $1 and kind = 'hold'",
    )
    .bind(campaign)
    .fetch_one(&pool)
    .await
    .expect("hold");
    let local = activated
        .with_timezone(&"Europe/Paris".parse::<chrono_tz::Tz>().expect("tz"))
        .naive_local();
    let offset = activated
        .with_timezone(&"Europe/Paris".parse::<chrono_tz::Tz>().expect("tz"))
        .offset()
        .fix()
        .local_minus_utc()
        / 3600;
    let profile = HourProfile::diurnal().shifted(offset);
    let started = (f64::from(local.num_seconds_from_midnight())
        + f64::from(local.nanosecond()) / 1e9)
        / 86_400.0;
    // (the spend's hour, a second after the activation: the same one but for a second in 3,600)
    let bucket = row["bucket"].as_str().expect("bucket");
    let hour: f64 = bucket[11..13].parse().expect("hour");
    let from = (hour / 24.0).max(started);
    let target =
        24.0 * profile.between(from, (hour + 1.0) / 24.0) / (1.0 - profile.before(started));
    // (the target is money: rounded to the micro)
    let expected = 0.5 / ((target * 1e6).round() / 1e6);
    assert!(
        (pace - expected).abs() <= expected * 1e-4,
        "pace {pace}, expected {expected} (target {target})"
    );
    // by day, the whole day's budget is the target
    let daily = app
        .get(
            &format!("/api/v1/campaigns/{campaign}/report?granularity=day&{range}"),
            &token,
        )
        .await;
    assert_eq!(daily.body["rows"][0]["pace"], "0.020833", "{}", daily.body);
}
