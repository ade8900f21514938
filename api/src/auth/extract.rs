//! The `Auth` extractor: reads the bearer token, verifies it, applies the principal's rate
//! limit, and hands the handler the [`Principal`]. Handlers then say which roles they admit.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::role::Principal;
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
        let principal = state.keys.load().verify(token).map_err(|reason| {
            tracing::info!(%reason, "access token refused");
            refused()
        })?;
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
