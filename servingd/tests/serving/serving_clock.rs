//! servingd reads the time from the clock it is given: a flight's end is judged by it, so a
//! test moves a manual clock past the end instead of waiting for it.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use ledger::ManualClock;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{Platform, fixture};

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn a_flight_stops_serving_when_the_clock_passes_its_end(pool: PgPool) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut platform = Platform::start_clocked(pool, |_| {}, clock.clone()).await;
    let end = Utc::now() + Duration::hours(1);
    let campaign = platform
        .active_campaign(json!({
            "schedule": {"start": "2026-01-01T00:00:00Z", "end": end.to_rfc3339(),
                         "time_zone": "Europe/Paris"},
        }))
        .await;
    platform.wait_indexed(campaign).await;
    platform.bid_until_won(&fixture("simple-banner.json")).await;
    // 59 minutes on, by servingd's clock: still in flight
    clock.advance(Duration::minutes(59));
    let (status, _, reply) = platform.bid(&fixture("simple-banner.json")).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    // two minutes more: the flight is over, for every request
    clock.advance(Duration::minutes(2));
    for _ in 0..5 {
        let (status, _, reply) = platform.bid(&fixture("simple-banner.json")).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
    }
    platform.stop().await;
}
