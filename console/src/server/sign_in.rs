//! Signing in and out: plain form posts (they work without JavaScript). Signing in exchanges the
//! username and password at the API for a token, kept in the session cookie.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::api::{self, ApiFailure};
use super::forms::{Forms, expired, see_other};
use super::session::{self, SESSION_COOKIE};

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    pub username: String,
    pub password: String,
    pub csrf: String,
}

/// A form that only carries its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

#[derive(Debug, Deserialize)]
struct TokenReply {
    access_token: String,
    expires_in: i64,
    role: String,
}

/// `POST /sign-in`: on success the session cookie, then an advertiser's campaigns (staff first
/// choose the advertiser they work as); else back to the form, saying why.
pub async fn sign_in(
    State(forms): State<Forms>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !session::same_origin(&headers) || !session::csrf_matches(&headers, &form.csrf) {
        return expired();
    }
    let body =
        json!({"grant_type": "password", "username": form.username, "password": form.password});
    match api::post::<TokenReply>(&forms.api.0, None, "/api/v1/auth/token", &body).await {
        // API keys' roles (servingd) have no pages
        Ok(reply) if reply.role == "service" => see_other("/sign-in?failed=1", Vec::new()),
        Ok(reply) => {
            let secure = forms.secure_cookies;
            let session = session::set_cookie(
                SESSION_COOKIE,
                &reply.access_token,
                reply.expires_in.max(1),
                secure,
            );
            // a new CSRF token with the new session: one planted before sign-in is worth nothing
            let csrf =
                session::set_cookie(session::CSRF_COOKIE, &session::new_token(), 86_400, secure);
            // a staff member's earlier choice of advertiser does not outlive the session
            let acting = session::set_cookie(session::ACTING_COOKIE, "", 0, secure);
            let first = if reply.role == "advertiser" {
                "/"
            } else {
                "/advertisers"
            };
            see_other(first, vec![session, csrf, acting])
        }
        Err(ApiFailure::Refused(429, _)) => see_other("/sign-in?limited=1", Vec::new()),
        Err(
            ApiFailure::SignedOut
            | ApiFailure::Refused(..)
            | ApiFailure::Invalid(_)
            | ApiFailure::ShortOfFunds(_),
        ) => see_other("/sign-in?failed=1", Vec::new()),
        Err(ApiFailure::Unavailable(_)) => see_other("/sign-in?unavailable=1", Vec::new()),
    }
}

/// `POST /sign-out`: the session cookie cleared.
pub async fn sign_out(
    State(forms): State<Forms>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session::same_origin(&headers) || !session::csrf_matches(&headers, &form.csrf) {
        return expired();
    }
    let cleared = session::set_cookie(SESSION_COOKIE, "", 0, forms.secure_cookies);
    let acting = session::set_cookie(session::ACTING_COOKIE, "", 0, forms.secure_cookies);
    see_other("/sign-in?signed_out=1", vec![cleared, acting])
}
