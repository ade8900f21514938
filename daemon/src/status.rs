//! The endpoint a worker daemon (one without an API of its own: the ledger writer, the fraud
//! scorer) is watched through: `/metrics` in the Prometheus text format and `/healthz`, which
//! answers 503 with the reasons when the work has stalled.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// What a worker says of itself when asked.
pub trait Status: Send + Sync + 'static {
    /// The metrics, in the Prometheus text format.
    fn metrics(&self) -> impl Future<Output = String> + Send;
    /// `Ok` while the work goes on; else the reasons it does not.
    fn health(&self) -> impl Future<Output = Result<(), Vec<String>>> + Send;
}

/// Binds `addr` (the setting `setting`, named if it cannot be bound) and serves `/metrics` and
/// `/healthz` from `status` there, in the background, for as long as the process runs.
pub async fn serve<S: Status>(setting: &str, addr: &str, status: Arc<S>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr} ({setting})"))?;
    let local = listener.local_addr()?;
    let router = Router::new()
        .route(
            "/metrics",
            get({
                let status = status.clone();
                move || async move { metrics_response(status.metrics().await) }
            }),
        )
        .route(
            "/healthz",
            get(move || async move { health_response(status.health().await) }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the status endpoint stopped");
        }
    });
    tracing::info!(addr = %local, "metrics at /metrics, health at /healthz");
    Ok(())
}

fn metrics_response(text: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

fn health_response(health: Result<(), Vec<String>>) -> Response {
    match health {
        Ok(()) => axum::Json(serde_json::json!({"healthy": true})).into_response(),
        Err(faults) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"healthy": false, "faults": faults})),
        )
            .into_response(),
    }
}
