//! What servingd's `/metrics` says of itself, read as Prometheus reads it: every `servingd_*`
//! family has HELP text and a TYPE, the counters an alert watches exist before anything
//! happened (registered at zero: the recorder is the test process's, shared with the other tests
//! running beside this one, so only their presence is asserted), money carries its currency,
//! and the whole request has a histogram of its own.

use sqlx::PgPool;
use test_support::metrics::Scraped;

use crate::helpers::Platform;

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn every_family_says_what_it_is_and_alerts_find_their_counters(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let campaign = platform.active_campaign(serde_json::json!({})).await;
    platform.wait_indexed(campaign).await;
    let scraped = Scraped::parse(&platform.metrics().await);
    scraped.assert_described("servingd_");
    for counter in [
        "servingd_capped_total",
        "servingd_cap_unavailable_total",
        "servingd_feed_errors_total",
        "servingd_no_budget_total",
    ] {
        assert!(
            scraped.value(counter, &[]).is_some(),
            "{counter} registered"
        );
    }
    assert!(
        scraped
            .value("servingd_blocked_total", &[("at", "bid")])
            .is_some()
    );
    for zone in ["amber", "red"] {
        assert!(
            scraped
                .value("servingd_load_zone_total", &[("zone", zone)])
                .is_some(),
            "{zone}"
        );
    }
    for kind in ["imp", "click"] {
        for outcome in ["recorded", "forged", "expired", "unavailable"] {
            assert!(
                scraped
                    .value(
                        "servingd_events_total",
                        &[("kind", kind), ("outcome", outcome)]
                    )
                    .is_some(),
                "{kind} {outcome}"
            );
        }
    }
    assert_eq!(
        scraped.help("servingd_request_duration_seconds"),
        Some("Time to answer a bid request, whole.")
    );
    assert!(
        scraped.buckets("servingd_request_duration_seconds").len() > 5,
        "a histogram with buckets"
    );
    platform.stop().await;
}

/// The budget held is money: it is labelled with its currency, never summed across them.
#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn held_budget_is_reported_per_currency(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let campaign = platform.active_campaign(serde_json::json!({})).await;
    platform.wait_indexed(campaign).await;
    let mut held = None;
    for _ in 0..100 {
        let scraped = Scraped::parse(&platform.metrics().await);
        held = scraped.value("servingd_held_unspent_micros", &[("currency", "USD")]);
        if held.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        held.is_some(),
        "servingd_held_unspent_micros{{currency=\"USD\"}}"
    );
    platform.stop().await;
}
