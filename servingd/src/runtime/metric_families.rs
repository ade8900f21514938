//! Every metric family servingd exports, described once (its HELP text and unit), and the
//! counters registered at zero (with each of their label sets where those are known), so that an alert on one sees a series from the
//! start rather than after its first increment. (The stage histograms are servingd's own:
//! [`crate::runtime::request_metrics`].)

use events::EventKind;
use metrics::{Unit, counter, describe_counter, describe_gauge};

use crate::decision::shedding::Zone;

/// Counters: name, unit, help.
const COUNTERS: &[(&str, Unit, &str)] = &[
    (
        "servingd_requests_total",
        Unit::Count,
        "Bid requests answered, by outcome (bid, no_bid, shed, invalid).",
    ),
    (
        "servingd_declines_total",
        Unit::Count,
        "Campaigns declined for a slot, by reason.",
    ),
    (
        "servingd_no_budget_total",
        Unit::Count,
        "Auction winners that had no leased budget left to pay with.",
    ),
    (
        "servingd_capped_total",
        Unit::Count,
        "Winners refused by their frequency cap.",
    ),
    (
        "servingd_cap_unavailable_total",
        Unit::Count,
        "Frequency-cap checks that could not reach Redis (the campaign did not bid).",
    ),
    (
        "servingd_blocked_total",
        Unit::Count,
        "Requests from sources on the blocklist, by where they were stopped.",
    ),
    (
        "servingd_unauthorized_total",
        Unit::Count,
        "Bid requests refused (401) for want of an active supply partner's credential.",
    ),
    (
        "servingd_load_zone_total",
        Unit::Count,
        "Requests handled in each load zone (shedding).",
    ),
    (
        "servingd_events_total",
        Unit::Count,
        "Tracking events (impressions, clicks) by kind and outcome.",
    ),
    (
        "servingd_feed_errors_total",
        Unit::Count,
        "Failed polls of the API's campaign feed.",
    ),
    (
        "servingd_heartbeat_errors_total",
        Unit::Count,
        "Heartbeats that did not reach the API.",
    ),
    (
        "servingd_wallets_released_total",
        Unit::Count,
        "Wallets of campaigns no longer served whose leases were settled and released.",
    ),
    (
        "servingd_click_counts_moved_total",
        Unit::Count,
        "Per-click leases whose counted spend the true-up moved.",
    ),
];

/// Gauges: name, unit, help.
const GAUGES: &[(&str, Unit, &str)] = &[
    (
        "servingd_index_revision",
        Unit::Count,
        "Feed revision of the campaign index being served.",
    ),
    (
        "servingd_index_campaigns",
        Unit::Count,
        "Campaigns in the index being served.",
    ),
    (
        "servingd_feed_staleness_seconds",
        Unit::Seconds,
        "Seconds since the campaign feed last answered.",
    ),
    (
        "servingd_blocklist_entries",
        Unit::Count,
        "Sources on the blocklist in use.",
    ),
    (
        "servingd_blocklist_revision",
        Unit::Count,
        "Revision of the blocklist in use.",
    ),
    (
        "servingd_partners",
        Unit::Count,
        "Supply partners known (active or disabled).",
    ),
    (
        "servingd_budget_reachable",
        Unit::Count,
        "1 while the budget controller's Redis answers, 0 while it does not.",
    ),
    (
        "servingd_held_unspent_micros",
        Unit::Count,
        "Leased budget held by this instance and not spent yet, by currency, micros.",
    ),
];

/// Counters with no labels, or one known label set, shown at zero from the start.
const AT_ZERO: &[&str] = &[
    "servingd_no_budget_total",
    "servingd_capped_total",
    "servingd_cap_unavailable_total",
    "servingd_feed_errors_total",
    "servingd_heartbeat_errors_total",
    "servingd_wallets_released_total",
    "servingd_click_counts_moved_total",
    "servingd_unauthorized_total",
];

/// Describes every family to the installed recorder and registers the counters at zero. Call
/// once, right after the recorder is installed.
pub fn describe() {
    for (name, unit, help) in COUNTERS {
        describe_counter!(*name, *unit, *help);
    }
    for (name, unit, help) in GAUGES {
        describe_gauge!(*name, *unit, *help);
    }
    for name in AT_ZERO {
        counter!(*name).increment(0);
    }
    counter!("servingd_blocked_total", "at" => "bid").increment(0);
    for zone in [Zone::Amber, Zone::Red] {
        counter!("servingd_load_zone_total", "zone" => zone.as_str()).increment(0);
    }
    for kind in [EventKind::Impression, EventKind::Click] {
        for outcome in EVENT_OUTCOMES {
            counter!("servingd_events_total", "kind" => kind.as_str(), "outcome" => *outcome)
                .increment(0);
        }
    }
}

/// The outcomes `servingd_events_total` counts tracking events by (`http::tracking`).
pub const EVENT_OUTCOMES: &[&str] = &[
    "recorded",
    "repeated",
    "invalid",
    "blocked",
    "missing",
    "malformed",
    "expired",
    "forged",
    "unavailable",
    "partner",
];

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    /// On a recorder of its own (the process's is shared by every test), so the counts are known.
    #[test]
    fn the_counters_alerts_watch_exist_at_zero_before_anything_happens() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, describe);
        let text = handle.render();
        for series in [
            "servingd_capped_total 0",
            "servingd_no_budget_total 0",
            "servingd_feed_errors_total 0",
            "servingd_blocked_total{at=\"bid\"} 0",
            "servingd_load_zone_total{zone=\"red\"} 0",
            "servingd_events_total{kind=\"imp\",outcome=\"forged\"} 0",
            "servingd_events_total{kind=\"click\",outcome=\"unavailable\"} 0",
        ] {
            assert!(text.lines().any(|l| l == series), "{series}:\n{text}");
        }
        assert!(
            text.contains("# HELP servingd_capped_total Winners refused by their frequency cap."),
            "{text}"
        );
    }
}
