//! The request path's metrics: the stage latency histograms (our own, see [`crate::runtime::latency`])
//! and counters registered once when the state is built (looking a labelled metric up in the
//! recorder's registry on every use costs more than some of the stages it times). Register after
//! the recorder is installed (`http::metrics_handle`), or the counters record nowhere.

use metrics::{Counter, counter};

use crate::decision::scan::{DECLINE_REASONS, decline_label};
use crate::runtime::latency::LatencyHistogram;

/// The stage histograms (`servingd_stage_seconds`), the whole request's
/// (`servingd_request_duration_seconds`) and the request counters.
pub struct RequestMetrics {
    pub parse: LatencyHistogram,
    pub candidates: LatencyHistogram,
    pub auction: LatencyHistogram,
    pub caps: LatencyHistogram,
    pub spend: LatencyHistogram,
    pub decide: LatencyHistogram,
    /// The whole request, from its first byte read to its answer.
    pub total: LatencyHistogram,
    pub bids: Counter,
    pub no_bids: Counter,
    pub shed: Counter,
    pub invalid: Counter,
    pub no_budget: Counter,
    /// `servingd_declines_total` by reason, in the order of `scan::Declines`.
    pub declines: [Counter; DECLINE_REASONS],
}

impl RequestMetrics {
    /// Registers every counter with the installed recorder.
    pub fn register() -> RequestMetrics {
        let outcome = |name: &'static str| counter!("servingd_requests_total", "outcome" => name);
        RequestMetrics {
            parse: LatencyHistogram::default(),
            candidates: LatencyHistogram::default(),
            auction: LatencyHistogram::default(),
            caps: LatencyHistogram::default(),
            spend: LatencyHistogram::default(),
            decide: LatencyHistogram::default(),
            total: LatencyHistogram::default(),
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

    /// Appends the histograms in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP servingd_request_duration_seconds Time to answer a bid request, whole.\n",
        );
        out.push_str("# TYPE servingd_request_duration_seconds histogram\n");
        self.total
            .render("servingd_request_duration_seconds", "", out);
        out.push_str("# HELP servingd_stage_seconds Time spent in each stage of a bid request.\n");
        out.push_str("# TYPE servingd_stage_seconds histogram\n");
        for (stage, histogram) in [
            ("parse", &self.parse),
            ("candidates", &self.candidates),
            ("auction", &self.auction),
            ("caps", &self.caps),
            ("spend", &self.spend),
            ("decide", &self.decide),
        ] {
            histogram.render("servingd_stage_seconds", &format!("stage=\"{stage}\""), out);
        }
    }
}
