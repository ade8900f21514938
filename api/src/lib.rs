//! The admin API: how advertisers, operators, billing and servingd reach the platform.
//!
//! # Layout
//!
//! - [`auth`]: roles, token keys (ed25519 with key ids and rotation), argon2 secrets, the
//!   `Auth` extractor, sign-in.
//! - [`advertisers`]: advertisers, their users and API keys; staff users and keys.
//! - [`campaigns`]: settings and validation, the status machine, budget holds, storage, routes.
//! - [`funding`]: deposits and credits with `Idempotency-Key`, balances, statements.
//! - [`reports`]: delivery and spend per campaign by day or hour.
//! - [`feed`]: the campaign feed (snapshot, then changes by revision, long-poll).
//! - [`fraud`]: the blocklist of known-bad IPs and device ids (fraud level 1).
//! - [`audit`]: the audit trail's entries and its verification.
//! - [`http`]: request ids, problem+json, metrics, limits, CORS, rate limits, JSON extractors.
//! - [`openapi`]: the generated OpenAPI 3.1 document and the docs page.
//! - [`error`]: the one error type and its problem+json form.
//! - [`settings`], [`state`], [`server`]: configuration, shared state, serving and shutdown.

pub mod advertisers;
pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod error;
pub mod feed;
pub mod fraud;
pub mod funding;
pub mod http;
pub mod openapi;
pub mod reports;
pub mod server;
pub mod settings;
pub mod state;

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use error::{ApiError, Problem};
pub use settings::Settings;
pub use state::AppState;

/// Every resource route, with the OpenAPI document they make.
fn resources() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(auth::routes::router())
        .merge(advertisers::routes::router())
        .merge(advertisers::credentials::router())
        .merge(campaigns::routes::router())
        .merge(funding::routes::router())
        .merge(reports::routes::router())
        .merge(feed::routes::router())
        .merge(fraud::routes::router())
        .merge(audit::routes::router())
}

/// The OpenAPI document (3.1).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::with_common_responses(resources().split_for_parts().1)
}

/// The whole API as a router, ready to serve or to drive in tests.
pub fn router(state: AppState) -> Router {
    let (routes, document) = resources().split_for_parts();
    let document = std::sync::Arc::new(openapi::with_common_responses(document));
    let routes = routes
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .route("/api/v1/docs", get(openapi::docs_page))
        .route("/healthz", get(http::healthz))
        .route("/metrics", get(http::metrics::render))
        .fallback(http::problems::not_found)
        .method_not_allowed_fallback(http::problems::method_not_allowed)
        .with_state(state.clone());
    http::layers(routes, &state.settings)
}
