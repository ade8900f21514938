//! Prometheus metrics: the recorder (installed once per process), the per-request middleware
//! and the `/metrics` endpoint.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{Unit, describe_counter, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The request duration histogram's bucket bounds, seconds: from a cached read to a long poll
/// of the feed.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder, its families described; `None` when another recorder was
/// installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    DURATION_BUCKETS,
                )
                .ok()?
                .install_recorder()
                .ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// Every family the API exports, with its HELP text and unit.
fn describe() {
    describe_counter!(
        "http_requests_total",
        Unit::Count,
        "Requests answered, by method, route template and status."
    );
    describe_counter!(
        "api_sign_in_refused_total",
        Unit::Count,
        "Sign-ins refused before their credentials were checked: back_off (429, too many failures from the address or on the account) or busy (503, no turn to hash in time)."
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer a request, by method, route template and status."
    );
}

/// How often the histograms' raw samples are folded into their summaries.
pub const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds the histograms' raw samples into their summaries every [`UPKEEP_EVERY`]. Installed as
/// a bare recorder, the exporter does no upkeep of its own: only a scrape would drain the
/// samples, and with nothing scraping they would pile up for as long as the process runs.
pub async fn upkeep_forever() {
    let mut tick = tokio::time::interval(UPKEEP_EVERY);
    loop {
        tick.tick().await;
        if let Some(handle) = handle() {
            handle.run_upkeep();
        }
    }
}

/// Counts each request and times it, by method, route template and status.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: the Prometheus text exposition. Open to anyone (scrapers do not sign in);
/// it shows request counts and timings, no data.
pub async fn render() -> Response {
    let body = handle().map(PrometheusHandle::render).unwrap_or_default();
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
