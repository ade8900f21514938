//! The console's router (feature `ssr`): the pages, the sign-in and sign-out forms, and the
//! layers every response goes through (security headers, the CSRF cookie).

use axum::Router;
use axum::routing::post;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};

use crate::app::{App, shell};
use crate::server::{ApiBase, headers, session, sign_in};

/// The console over the admin API at `api`; pages from `options` (site root, package folder).
pub fn router(options: LeptosOptions, api: ApiBase, secure_cookies: bool) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let api = api.clone();
        move || provide_context(api.clone())
    };
    let forms = sign_in::Forms {
        api: api.clone(),
        secure_cookies,
    };
    Router::new()
        .route("/sign-in", post(sign_in::sign_in).with_state(forms.clone()))
        .route("/sign-out", post(sign_in::sign_out).with_state(forms))
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
}
