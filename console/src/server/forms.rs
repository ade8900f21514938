//! What every form post shares: the handlers' state, the CSRF and origin check, the session's
//! token, and the answers (a redirect, a refusal).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::LeptosOptions;

use super::ApiBase;
use super::session::{self, SESSION_COOKIE};
use crate::campaign_form::CampaignForm;

/// What the form handlers need.
#[derive(Debug, Clone)]
pub struct Forms {
    pub api: ApiBase,
    /// Mark cookies `Secure` (the console is served over TLS).
    pub secure_cookies: bool,
    /// The site, for showing a form's page again.
    pub options: LeptosOptions,
}

/// A posted campaign form shown again: its page reads it instead of the campaign.
#[derive(Debug, Clone)]
pub struct PostedForm(pub CampaignForm);

/// An API key just created, shown on the team's page this once (never stored by the console).
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub secret: String,
}

/// A posted form's fields in order, once its CSRF token and origin hold; else the refusal to
/// answer with.
pub async fn read_pairs(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Vec<(String, String)>, Response> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "This form is larger than the console takes.",
        )
            .into_response()
    })?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| (StatusCode::BAD_REQUEST, "This form cannot be read.").into_response())?;
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    if !session::same_origin(headers) || !session::csrf_matches(headers, csrf) {
        return Err(expired());
    }
    Ok(pairs)
}

/// A signed-in person's form post, read and checked.
#[derive(Debug)]
pub struct Posted {
    pub parts: http::request::Parts,
    pub pairs: Vec<(String, String)>,
    /// The session's API token.
    pub token: String,
}

/// Whose a form was, against whom the console works as now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormOwner {
    /// The form's advertiser is the acting one.
    Acting(uuid::Uuid),
    /// A staff member switched advertisers (in another tab) since the form was shown.
    Switched,
    /// Nobody is chosen yet (staff).
    NoneChosen,
}

impl Posted {
    /// The first value of the field `name`, trimmed (empty when absent).
    pub fn field(&self, name: &str) -> &str {
        self.raw(name).trim()
    }

    /// The first value of the field `name` exactly as typed (a password).
    pub fn raw(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether the form's `advertiser_id` (the advertiser it was shown for) is still the one the
    /// console works as: a form shown for one advertiser never acts on another.
    pub fn owner(&self) -> FormOwner {
        match super::session::acting_advertiser(&self.parts.headers) {
            None => FormOwner::NoneChosen,
            Some(acting) if self.field("advertiser_id") == acting.to_string() => {
                FormOwner::Acting(acting)
            }
            Some(_) => FormOwner::Switched,
        }
    }
}

/// Reads a signed-in person's form post of at most `limit` bytes: refused (403) without its
/// CSRF token or from another site, to the sign-in page without a session.
pub async fn signed_in_post(
    forms: &Forms,
    request: axum::extract::Request,
    limit: usize,
) -> Result<Posted, Response> {
    let (parts, body) = request.into_parts();
    let pairs = read_pairs(&parts.headers, body, limit).await?;
    let token = session_token(&parts.headers).ok_or_else(|| signed_out(forms))?;
    Ok(Posted {
        parts,
        pairs,
        token,
    })
}

/// The session's API token (none: answer [`signed_out`]).
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    session::cookie(headers, SESSION_COOKIE)
}

/// To the sign-in page, the session cookie cleared (the API refused it, or there is none).
pub fn signed_out(forms: &Forms) -> Response {
    let cleared = session::set_cookie(SESSION_COOKIE, "", 0, forms.secure_cookies);
    see_other("/sign-in", vec![cleared])
}

/// `303 See Other` to `location`, setting `cookies`.
pub fn see_other(location: &str, cookies: Vec<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    for value in cookies.iter().filter_map(|c| HeaderValue::from_str(c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A form without the right CSRF token (old, or sent from another site).
pub fn expired() -> Response {
    (
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from the console. Go back, reload the page and try again.",
    )
        .into_response()
}
