//! The posts of forms that answer with a page of their own when they cannot simply redirect
//! (feature `ssr`): a campaign form the API refused is shown again as it was posted; a new API
//! key's secret is shown once. The plain redirecting forms live in `server`.

pub mod campaigns;
pub mod team;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;

use crate::server::forms::Forms;

/// The page at the request's path rendered as for a `GET`, with `context` given to it, answered
/// with `status`.
pub async fn render_again(
    forms: &Forms,
    parts: http::request::Parts,
    status: StatusCode,
    context: impl Fn() + Clone + Send + Sync + 'static,
) -> Response {
    let api = forms.api.clone();
    let options = forms.options.clone();
    let render = leptos_axum::render_app_async_with_context(
        move || {
            crate::data::provide_request_context(api.clone());
            context();
        },
        move || crate::app::shell(options.clone()),
    );
    let mut response = render(Request::from_parts(parts, Body::empty())).await;
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}
