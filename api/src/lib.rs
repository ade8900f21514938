//! The admin API: how advertisers, operators, billing and servingd reach the platform.
//!
//! # Layout
//!
//! In layers, each using only those before it:
//!
//! - [`error`], [`settings`], [`flags`], [`http`]: the one error type and its problem+json
//!   form; configuration and `api serve`'s flags; what every request goes through (request ids, problem+json, metrics,
//!   limits, CORS, rate limits, JSON extractors).
//! - The parts, each with the SQL of its own tables and no handlers: [`auth`] (roles, token
//!   keys, argon2 secrets, users and API keys), [`advertisers`], [`campaigns`] (settings and
//!   validation, the status machine, budget holds (`hold_sync`), storage, the feed's log, the
//!   write paths), [`reports`] (the arithmetic of reports and pacing), [`system`] (servingd's
//!   heartbeats), [`audit_records`] (what an admin action
//!   records), [`feed`] (the signal long-polls wait on), [`key_source`] (where the token keys
//!   come from).
//! - [`state`]: what every handler shares; [`extract`]: who is asking (`Auth`, `Actor`).
//! - [`routes`]: the handlers, one module per resource (the blocklist's SQL is the `fraud`
//!   crate's); [`openapi`]: the OpenAPI 3.1 document
//!   and the docs page; [`server`]: serving, background work and shutdown.

pub mod advertisers;
pub mod audit_records;
pub mod auth;
pub mod campaigns;
pub mod error;
pub mod extract;
pub mod feed;
pub mod flags;
pub mod http;
pub mod key_source;
pub mod openapi;
pub mod reports;
pub mod routes;
pub mod server;
pub mod settings;
pub mod state;
pub mod system;

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
        .merge(routes::auth::router())
        .merge(routes::advertisers::router())
        .merge(routes::credentials::router())
        .merge(routes::users::router())
        .merge(routes::campaigns::router())
        .merge(routes::funding::router())
        .merge(routes::reports::router())
        .merge(routes::feed::router())
        .merge(routes::fraud::router())
        .merge(routes::partners::router())
        .merge(routes::audit::router())
        .merge(routes::budget::router())
        .merge(routes::pacing::router())
        .merge(routes::refunds::router())
        .merge(routes::system::router())
        .merge(routes::today::router())
}

/// The OpenAPI document (3.1), as published.
pub fn openapi_document() -> serde_json::Value {
    openapi::published(resources().split_for_parts().1)
}

/// The whole API as a router, ready to serve or to drive in tests.
pub fn router(state: AppState) -> Router {
    // installed before the first request is counted, or its count would go nowhere
    http::metrics::handle();
    let (routes, document) = resources().split_for_parts();
    let document = std::sync::Arc::new(openapi::published(document));
    // /metrics beside the API unless it has an address of its own (`metrics_router`)
    let routes = match state.settings.metrics_addr {
        None => routes.route("/metrics", get(http::metrics::render)),
        Some(_) => routes,
    };
    let routes = routes
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .route("/api/v1/docs", get(openapi::docs_page))
        .route(openapi::DOCS_SCRIPT_PATH, get(openapi::docs_script))
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(http::readyz))
        .fallback(http::problems::not_found)
        .method_not_allowed_fallback(http::problems::method_not_allowed)
        .with_state(state.clone());
    http::layers(routes, &state.settings)
}

/// `/metrics` alone, for `Settings::metrics_addr`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(http::metrics::render))
        .with_state(state)
}
