//! Signing in and out: plain form posts (they work without JavaScript). Signing in exchanges the
//! username and password at the API for a token, kept in the session cookie.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::Response;
use reqwest::Method;
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
    peer: Peer,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !session::same_origin(&headers) || !session::csrf_matches(&headers, &form.csrf) {
        return expired();
    }
    let body =
        json!({"grant_type": "password", "username": form.username, "password": form.password});
    // as a proxy does: the API's sign-in limits count by the browser's address (the API trusts
    // the console's, ADPLAT_API_TRUSTED_PROXIES)
    let mut request = api::Request::new(Method::POST, "/api/v1/auth/token").json(&body);
    if let Some(forwarded) = forwarded_for(&headers, peer.0) {
        request = request.header("x-forwarded-for", forwarded);
    }
    match api::send::<TokenReply>(&forms.api.0, None, request).await {
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

/// The address the console's own client connected from (none when the console is served
/// without connection info).
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_canonical()),
        ))
    }
}

/// The `X-Forwarded-For` the console sends on: what it received, and its own peer appended;
/// nothing without a peer (the chain would end in an entry the console did not see).
fn forwarded_for(headers: &HeaderMap, peer: Option<IpAddr>) -> Option<String> {
    let peer = peer?;
    let received: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let mut chain = received.join(", ");
    if !chain.is_empty() {
        chain.push_str(", ");
    }
    chain.push_str(&peer.to_string());
    Some(chain)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browsers_address_is_appended_to_what_came_in() {
        let mut headers = HeaderMap::new();
        let peer: IpAddr = "198.51.100.7".parse().expect("ip");
        assert_eq!(
            forwarded_for(&headers, Some(peer)).as_deref(),
            Some("198.51.100.7")
        );
        headers.insert("x-forwarded-for", "203.0.113.1".parse().expect("value"));
        assert_eq!(
            forwarded_for(&headers, Some(peer)).as_deref(),
            Some("203.0.113.1, 198.51.100.7")
        );
        // without a peer nothing is passed on, not even what came in
        assert_eq!(forwarded_for(&headers, None), None);
    }
}
