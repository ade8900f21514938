//! Server functions the pages load their data with: they run on the server, read the session
//! cookie there, and call the API as the signed-in person.

use domain::campaign::Campaign;
use leptos::prelude::*;

/// This visitor's CSRF token, for the forms.
#[server]
pub async fn csrf_token() -> Result<String, ServerFnError> {
    let parts: http::request::Parts = leptos_axum::extract().await?;
    Ok(parts
        .extensions
        .get::<crate::server::session::CsrfToken>()
        .map(|t| t.0.clone())
        .unwrap_or_default())
}

/// The signed-in advertiser's campaigns (the first 500); to the sign-in page without a session.
#[server]
pub async fn my_campaigns() -> Result<Vec<Campaign>, ServerFnError> {
    #[derive(serde::Deserialize)]
    struct Page {
        items: Vec<Campaign>,
    }
    let page: Option<Page> = signed_in_get("/api/v1/campaigns?limit=500").await?;
    Ok(page.map(|p| p.items).unwrap_or_default())
}

/// One of the signed-in advertiser's campaigns; `None` when there is no such campaign (or it is
/// another advertiser's: the API answers 404 either way).
#[server]
pub async fn my_campaign(id: String) -> Result<Option<Campaign>, ServerFnError> {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Ok(None);
    };
    signed_in_get(&format!("/api/v1/campaigns/{id}")).await
}

/// `GET path` at the API as the signed-in person: `None` for a 404. A session the API refuses
/// is forgotten, with a redirect to the sign-in page.
#[cfg(feature = "ssr")]
async fn signed_in_get<T: serde::de::DeserializeOwned>(
    path: &str,
) -> Result<Option<T>, ServerFnError> {
    use crate::server::api::{self, ApiFailure};
    let token = session_token().await?;
    let base = expect_context::<crate::server::ApiBase>();
    match api::get::<T>(&base.0, &token, path).await {
        Ok(value) => Ok(Some(value)),
        Err(ApiFailure::Refused(404, _)) => Ok(None),
        Err(ApiFailure::SignedOut) => {
            // the API refused the token (expired, or its key revoked): forget it
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                let cleared = crate::server::session::set_cookie(
                    crate::server::session::SESSION_COOKIE,
                    "",
                    0,
                    false,
                );
                if let Ok(value) = http::HeaderValue::from_str(&cleared) {
                    response.append_header(http::header::SET_COOKIE, value);
                }
            }
            leptos_axum::redirect("/sign-in");
            Err(ServerFnError::new("your session has ended; sign in again"))
        }
        Err(e) => Err(ServerFnError::new(e.to_string())),
    }
}

/// The session's API token; without one, a redirect to the sign-in page.
#[cfg(feature = "ssr")]
async fn session_token() -> Result<String, ServerFnError> {
    let parts: http::request::Parts = leptos_axum::extract().await?;
    match crate::server::session::cookie(&parts.headers, crate::server::session::SESSION_COOKIE) {
        Some(token) => Ok(token),
        None => {
            leptos_axum::redirect("/sign-in");
            Err(ServerFnError::new("sign in first"))
        }
    }
}
