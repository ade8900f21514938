//! The console's router (feature `ssr`): the pages, the sign-in and sign-out forms, and the
//! layers every response goes through (security headers, the CSRF cookie).

use axum::Router;
use axum::routing::{get, post};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};

use crate::app::{App, shell};
use crate::posts::{campaigns as campaign_posts, team as team_posts};
use crate::server::forms::Forms;
use crate::server::{ApiBase, acting, funding, headers, session, sign_in, statement_csv};

/// The console over the admin API at `api`; pages from `options` (site root, package folder).
pub fn router(options: LeptosOptions, api: ApiBase, secure_cookies: bool) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let api = api.clone();
        move || crate::data::provide_request_context(api.clone())
    };
    let forms = Forms {
        api: api.clone(),
        secure_cookies,
        options: options.clone(),
    };
    Router::new()
        .route("/sign-in", post(sign_in::sign_in))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/campaigns/new", post(campaign_posts::create))
        .route("/campaigns/{id}/edit", post(campaign_posts::edit))
        .route(
            "/campaigns/{id}/status",
            post(campaign_posts::change_status),
        )
        .route("/advertisers/switch", post(acting::switch))
        .route("/funds/deposit", post(funding::deposit))
        .route("/funds/credit", post(funding::credit))
        .route("/funds/statement.csv", get(statement_csv::download))
        .route("/team/users", post(team_posts::add_user))
        .route("/team/keys", post(team_posts::create_key))
        .route("/team/keys/{key_id}/revoke", post(team_posts::revoke_key))
        .with_state(forms)
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        .with_state(options)
        .layer(axum::middleware::from_fn_with_state(
            secure_cookies,
            headers::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            secure_cookies,
            session::csrf_cookie,
        ))
        // pages and the wasm bundle travel compressed (brotli or gzip, as the browser takes)
        .layer(tower_http::compression::CompressionLayer::new())
}
