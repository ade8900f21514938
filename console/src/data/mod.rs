//! Server functions the pages load their data with: they run on the server, read the session
//! cookie there, and call the API as the signed-in person. One module per area; here, what
//! every page shares (the CSRF token, who is signed in, the API call).

pub mod activity;
pub mod advertisers;
pub mod campaigns;
pub mod funds;
pub mod overview;
pub mod team;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// An advertiser, as the pages name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvertiserSummary {
    pub id: String,
    pub name: String,
    pub currency: String,
}

/// Who is signed in, and the advertiser whose pages these are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    /// `advertiser`, `operator`, `billing` or `admin`.
    pub role: String,
    /// The person's own advertiser, or the one a staff member chose to work as.
    pub advertiser: Option<AdvertiserSummary>,
}

impl Viewer {
    /// Staff run the platform and may work as any advertiser.
    pub fn is_staff(&self) -> bool {
        self.role != "advertiser"
    }

    /// Whether the role records deposits and credits.
    pub fn moves_money(&self) -> bool {
        matches!(self.role.as_str(), "billing" | "admin")
    }

    /// Whether the role creates and changes campaigns.
    pub fn writes_campaigns(&self) -> bool {
        matches!(self.role.as_str(), "advertiser" | "operator" | "admin")
    }
}

/// Who is signed in; to the sign-in page without a session. Asked by a page and its header
/// alike, it calls the API once a request (see [`provide_request_context`]).
#[server]
pub async fn load_viewer() -> Result<Viewer, ServerFnError> {
    match use_context::<ViewerOnce>() {
        Some(once) => once.0.get_or_try_init(fetch_viewer).await.cloned(),
        None => fetch_viewer().await,
    }
}

/// One request's viewer, read from the API at most once.
#[cfg(feature = "ssr")]
#[derive(Clone, Default)]
struct ViewerOnce(std::sync::Arc<tokio::sync::OnceCell<Viewer>>);

/// What every request's pages need from the server: the API's address, and a place for the
/// request's viewer.
#[cfg(feature = "ssr")]
pub fn provide_request_context(api: crate::server::ApiBase) {
    provide_context(api);
    provide_context(ViewerOnce::default());
}

#[cfg(feature = "ssr")]
async fn fetch_viewer() -> Result<Viewer, ServerFnError> {
    let token = session_token().await?;
    let Some(claims) = crate::server::session::claims(&token) else {
        return Err(signed_out());
    };
    let advertiser = match acting_advertiser_id().await {
        Some(id) => {
            signed_in_get::<AdvertiserSummary>(&format!("/api/v1/advertisers/{id}")).await?
        }
        None => None,
    };
    Ok(Viewer {
        role: claims.role,
        advertiser,
    })
}

/// The advertiser the signed-in person's pages are about: its own, or the one a staff member
/// chose (a staff member who chose none is sent to the advertisers' page).
#[cfg(feature = "ssr")]
pub(crate) async fn advertiser_scope() -> Result<uuid::Uuid, ServerFnError> {
    session_token().await?;
    match acting_advertiser_id().await {
        Some(id) => Ok(id),
        None => {
            leptos_axum::redirect("/advertisers");
            Err(ServerFnError::new("choose an advertiser first"))
        }
    }
}

#[cfg(feature = "ssr")]
async fn acting_advertiser_id() -> Option<uuid::Uuid> {
    let parts: http::request::Parts = leptos_axum::extract().await.ok()?;
    crate::server::session::acting_advertiser(&parts.headers)
}

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

/// `GET path` at the API as the signed-in person: `None` for a 404. A session the API refuses
/// is forgotten, with a redirect to the sign-in page.
#[cfg(feature = "ssr")]
pub(crate) async fn signed_in_get<T: serde::de::DeserializeOwned>(
    path: &str,
) -> Result<Option<T>, ServerFnError> {
    use crate::server::api::{self, ApiFailure};
    let token = session_token().await?;
    let base = expect_context::<crate::server::ApiBase>();
    match api::get::<T>(&base.0, &token, path).await {
        Ok(value) => Ok(Some(value)),
        Err(ApiFailure::Refused(404, _)) => Ok(None),
        Err(ApiFailure::SignedOut) => Err(signed_out()),
        Err(e) => Err(ServerFnError::new(e.to_string())),
    }
}

/// The API refused the session (expired, or its key revoked): the cookie is forgotten and the
/// page redirects to the sign-in page.
#[cfg(feature = "ssr")]
fn signed_out() -> ServerFnError {
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
    ServerFnError::new("your session has ended; sign in again")
}

/// The session's API token; without one, a redirect to the sign-in page.
#[cfg(feature = "ssr")]
pub(crate) async fn session_token() -> Result<String, ServerFnError> {
    let parts: http::request::Parts = leptos_axum::extract().await?;
    match crate::server::session::cookie(&parts.headers, crate::server::session::SESSION_COOKIE) {
        Some(token) => Ok(token),
        None => {
            leptos_axum::redirect("/sign-in");
            Err(ServerFnError::new("sign in first"))
        }
    }
}
