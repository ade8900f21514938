//! Who is asking. [`Auth`] reads the bearer token, verifies it, applies the principal's rate
//! limit, and hands the handler the [`Principal`] (handlers then say which roles they admit);
//! [`Actor`] adds the request's id, which an admin action's audit entry names.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// A verified caller.
#[derive(Debug, Clone, Copy)]
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let refused =
            || ApiError::Unauthenticated("the access token is missing or not valid".into());
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(refused)?;
        let verified = state
            .keys
            .load()
            .verify_versioned(token)
            .map_err(|reason| {
                tracing::info!(%reason, "access token refused");
                refused()
            })?;
        let principal = verified.principal;
        if state.revocations.refuses(principal.id, verified.version) {
            tracing::info!(
                principal = %principal.id,
                version = verified.version,
                "access token of a revoked key, or of a user changed since, refused"
            );
            return Err(refused());
        }
        if let Some(wait_s) = state
            .limiter
            .check(&principal.id.simple().to_string())
            .await
        {
            return Err(ApiError::RateLimited(wait_s));
        }
        tracing::Span::current().record("principal", tracing::field::display(principal.id));
        Ok(Auth(principal))
    }
}

/// A verified caller making a change, and its request's ids as the audit trail records them:
/// the server's own, and the caller's well-formed `x-request-id` beside it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    pub request_id: Option<String>,
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        let request_id = parts
            .extensions
            .get::<crate::http::request_ids::RequestIds>()
            .map(crate::http::request_ids::RequestIds::audited);
        Ok(Actor {
            principal,
            request_id,
        })
    }
}

/// The client's address: the peer's, or behind a trusted proxy the right-most untrusted
/// `X-Forwarded-For` entry; `None` when the server was not told the peer (a router served
/// without connection info, in tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddress(peer.map(|peer| {
            state
                .settings
                .trusted_proxies
                .client_of(peer, &parts.headers)
                .to_canonical()
        })))
    }
}
