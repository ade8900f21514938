//! What every request goes through: request ids, access logs, metrics, problem+json for every
//! error, body size limits, timeouts and CORS; and the bare endpoints (`/healthz`, `/metrics`).

pub mod json;
pub mod metrics;
pub mod problems;
pub mod rate_limit;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::settings::Settings;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps `router` in the cross-cutting layers (the last added runs first).
pub fn layers(router: Router, settings: &Settings) -> Router {
    let mut router = router
        .layer(middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(settings.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(settings.request_timeout_ms),
        ))
        .layer(middleware::from_fn(problems::problems))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
                let id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(),
                    request_id = %id, principal = tracing::field::Empty)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    if let Some(origin) = settings
        .console_origin
        .as_deref()
        .and_then(|o| HeaderValue::from_str(o).ok())
    {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list([origin]))
                .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    HeaderName::from_static("idempotency-key"),
                ])
                .expose_headers([REQUEST_ID, header::RETRY_AFTER])
                .max_age(Duration::from_secs(600)),
        );
    }
    router
}

/// `GET /healthz`: the bare endpoint (no database, no auth); benchmarks compare against it.
pub async fn healthz() -> &'static str {
    "ok"
}
