//! Security headers on every response, and the nonce the page's one inline script (hydration)
//! carries: the Content-Security-Policy admits scripts from the console itself and that nonce,
//! nothing else inline.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use rand::RngCore;

/// This response's script nonce (in the request's extensions, for the page's shell).
#[derive(Debug, Clone)]
pub struct ScriptNonce(pub String);

/// Adds the nonce to the request and the security headers to the response; `tls` adds
/// Strict-Transport-Security.
pub async fn security_headers(
    State(tls): State<bool>,
    mut request: Request,
    next: Next,
) -> Response {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    request.extensions_mut().insert(ScriptNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; frame-src 'self'; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // every page is someone's own: never kept by a cache, nor shown again from one
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}
