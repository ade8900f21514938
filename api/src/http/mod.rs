//! What every request goes through: request ids, access logs, metrics, problem+json for every
//! error, body size limits, timeouts and CORS; and the bare endpoints (`/healthz`, `/readyz`,
//! `/metrics`).

pub mod json;
pub mod metrics;
pub mod problems;
pub mod rate_limit;
pub mod request_ids;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::settings::Settings;

use request_ids::REQUEST_ID;

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
                let ids = request.extensions().get::<request_ids::RequestIds>();
                let id = ids.map(request_ids::RequestIds::shown).unwrap_or_default();
                let server = ids.map(|ids| ids.server.to_string()).unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(),
                    request_id = %id, server_request_id = %server, principal = tracing::field::Empty)
            }),
        )
        .layer(middleware::from_fn(request_ids::assign));
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

/// `GET /healthz`: the process answers (no database, no auth); benchmarks compare against it.
pub async fn healthz() -> &'static str {
    "ok"
}

/// How long `/readyz` waits for each dependency.
const READY_WAIT: Duration = Duration::from_secs(2);

/// `GET /readyz`: whether this instance can serve requests: PostgreSQL and Redis both answer
/// within [`READY_WAIT`]. 200 when they do, 503 when one does not; the body says which.
pub async fn readyz(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let database = async { sqlx::query("select 1").execute(&state.db).await.is_ok() };
    let redis = async {
        let mut redis = state.redis.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut redis)
            .await
            .is_ok()
    };
    let (database, redis) = tokio::join!(
        tokio::time::timeout(READY_WAIT, database),
        tokio::time::timeout(READY_WAIT, redis),
    );
    let database = database.unwrap_or(false);
    let redis = redis.unwrap_or(false);
    let ready = database && redis;
    let mut body = serde_json::json!({"ready": ready, "database": database, "redis": redis});
    if ready {
        return axum::Json(body).into_response();
    }
    // an unready answer is a problem like every other error, naming what does not answer
    let silent: Vec<&str> = [(database, "PostgreSQL"), (redis, "Redis")]
        .into_iter()
        .filter(|(answers, _)| !answers)
        .map(|(_, name)| name)
        .collect();
    let unavailable =
        crate::ApiError::Unavailable(format!("{} does not answer", silent.join(" and ")));
    let problem = serde_json::to_value(unavailable.problem()).unwrap_or_default();
    if let (Some(body), Some(problem)) = (body.as_object_mut(), problem.as_object()) {
        body.extend(problem.clone());
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, crate::error::PROBLEM_JSON)],
        body.to_string(),
    )
        .into_response()
}
