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
