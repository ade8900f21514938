//! Server functions the pages load their data with: they run on the server, read the session
//! cookie there, and call the API as the signed-in person.

use domain::campaign::Campaign;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::campaign_form::CampaignForm;

/// What the campaign form's page shows: the campaign being edited (none for a new one) and the
/// form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormPage {
    pub editing: Option<Campaign>,
    pub form: CampaignForm,
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

/// The campaign form: as it was posted when the console shows it again, else the campaign
/// `id`'s settings, else a new campaign's. `None` when `id` is not one of the advertiser's.
#[server]
pub async fn campaign_form_page(id: Option<String>) -> Result<Option<FormPage>, ServerFnError> {
    use crate::server::campaign_input;
    let editing = match id {
        None => None,
        Some(id) => match my_campaign(id).await? {
            Some(campaign) => Some(campaign),
            None => return Ok(None),
        },
    };
    let posted = use_context::<crate::server::forms::PostedForm>();
    let form = match (posted, &editing) {
        (Some(posted), _) => posted.0,
        (None, Some(campaign)) => {
            let values = campaign_input::values_of(&campaign.spec);
            CampaignForm {
                creative_rows: campaign_input::creative_rows_in(&values) + 1,
                values,
                ..CampaignForm::default()
            }
        }
        (None, None) => {
            session_token().await?;
            CampaignForm {
                values: campaign_input::blank_values(chrono::Utc::now()),
                creative_rows: 1,
                idempotency_key: crate::server::session::new_token(),
                ..CampaignForm::default()
            }
        }
    };
    Ok(Some(FormPage { editing, form }))
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
