//! The session and CSRF cookies. The API's token lives in an `HttpOnly`, `SameSite=Strict`
//! cookie (`Secure` behind TLS): JavaScript never sees it. Every form carries the CSRF token of
//! its own cookie (double submit), which a page on another site can neither read nor set.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use rand::RngCore;

/// The cookie that holds the API's token.
pub const SESSION_COOKIE: &str = "adplat_session";
/// The cookie that holds the CSRF token.
pub const CSRF_COOKIE: &str = "adplat_csrf";

/// This request's CSRF token (in its extensions, for the pages' forms).
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// The value of the cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, the whole site; `Secure` when served
/// over TLS; gone after `max_age_s` (0: now).
pub fn set_cookie(name: &str, value: &str, max_age_s: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Whether the form's CSRF token is the one its cookie holds.
pub fn csrf_matches(headers: &HeaderMap, submitted: &str) -> bool {
    cookie(headers, CSRF_COOKIE).is_some_and(|expected| {
        expected.len() == submitted.len()
            && expected
                .bytes()
                .zip(submitted.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    })
}

/// The advertiser a staff member works as (chosen on the advertisers' page).
pub const ACTING_COOKIE: &str = "adplat_advertiser";

/// What a session's token says of its holder: the role and, for an advertiser's person, the
/// advertiser. Read without checking the signature: it only shapes the pages (which links,
/// which forms); the API checks the token on every call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct TokenClaims {
    pub role: String,
    #[serde(default)]
    pub adv: Option<String>,
}

/// The claims of a JWT `token` (`None` when it is not one).
pub fn claims(token: &str) -> Option<TokenClaims> {
    let payload = token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// The advertiser a request's pages are about: the signed-in person's own (from the session's
/// token), or for staff the one they chose (its cookie).
pub fn acting_advertiser(headers: &HeaderMap) -> Option<uuid::Uuid> {
    let claims = claims(&cookie(headers, SESSION_COOKIE)?)?;
    let chosen = if claims.role == "advertiser" {
        claims.adv
    } else {
        cookie(headers, ACTING_COOKIE)
    };
    chosen.and_then(|id| uuid::Uuid::parse_str(&id).ok())
}

/// A new random token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether a form post came from the console's own pages: a browser names the page's origin in
/// `Origin` on every form post, and it must be this host (a post without one, from a program,
/// is judged by its CSRF token alone).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| !host.is_empty() && authority == host)
}

/// Gives every visitor a CSRF token: the cookie's, or a new one set on the response (`Secure`
/// when `tls`).
pub async fn csrf_cookie(State(tls): State<bool>, mut request: Request, next: Next) -> Response {
    let existing = cookie(request.headers(), CSRF_COOKIE);
    let token = existing.clone().unwrap_or_else(new_token);
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(request).await;
    if existing.is_none()
        && let Ok(value) = HeaderValue::from_str(&set_cookie(CSRF_COOKIE, &token, 86_400, tls))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name_and_tokens_compared_whole() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; adplat_csrf=tok3n; adplat_session="),
        );
        assert_eq!(cookie(&headers, "a").as_deref(), Some("1"));
        assert_eq!(cookie(&headers, CSRF_COOKIE).as_deref(), Some("tok3n"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), None, "empty is absent");
        assert!(csrf_matches(&headers, "tok3n"));
        assert!(!csrf_matches(&headers, "tok3"));
        assert!(!csrf_matches(&headers, "tok3m"));
        assert!(!csrf_matches(&HeaderMap::new(), ""));
        let mut posted = HeaderMap::new();
        posted.insert(
            header::HOST,
            HeaderValue::from_static("console.example:3000"),
        );
        assert!(same_origin(&posted), "no Origin: a program");
        posted.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://console.example:3000"),
        );
        assert!(same_origin(&posted));
        posted.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&posted));
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"u1","role":"advertiser","adv":"a1","exp":1}"#);
        assert_eq!(
            claims(&format!("h.{payload}.sig")),
            Some(TokenClaims {
                role: "advertiser".into(),
                adv: Some("a1".into())
            })
        );
        assert_eq!(claims("not-a-token"), None);
        assert_eq!(
            set_cookie(SESSION_COOKIE, "t", 60, true),
            "adplat_session=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
    }
}
