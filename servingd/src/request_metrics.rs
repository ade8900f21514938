//! The request path's metrics, registered once when the engine is built: looking a labelled
//! metric up in the recorder's registry on every use costs more than some of the stages it
//! times. Register after the recorder is installed (`http::metrics_handle`), or the handles
//! record nowhere.

use metrics::{Counter, Histogram, counter, histogram};

use crate::scan::{DECLINE_REASONS, decline_label};

/// Handles for the stage histograms (`servingd_stage_seconds`) and request counters.
pub struct RequestMetrics {
    pub parse: Histogram,
    pub candidates: Histogram,
    pub auction: Histogram,
    pub caps: Histogram,
    pub spend: Histogram,
    pub decide: Histogram,
    pub total: Histogram,
    pub bids: Counter,
    pub no_bids: Counter,
    pub shed: Counter,
    pub invalid: Counter,
    pub no_budget: Counter,
    /// `servingd_declines_total` by reason, in the order of `scan::Declines`.
    pub declines: [Counter; DECLINE_REASONS],
}

impl RequestMetrics {
    /// Registers every handle with the installed recorder.
    pub fn register() -> RequestMetrics {
        let stage = |name: &'static str| histogram!("servingd_stage_seconds", "stage" => name);
        let outcome = |name: &'static str| counter!("servingd_requests_total", "outcome" => name);
        RequestMetrics {
            parse: stage("parse"),
            candidates: stage("candidates"),
            auction: stage("auction"),
            caps: stage("caps"),
            spend: stage("spend"),
            decide: stage("decide"),
            total: stage("total"),
            bids: outcome("bid"),
            no_bids: outcome("no_bid"),
            shed: outcome("shed"),
            invalid: outcome("invalid"),
            no_budget: counter!("servingd_no_budget_total"),
            declines: std::array::from_fn(
                |i| counter!("servingd_declines_total", "reason" => decline_label(i)),
            ),
        }
    }
}
