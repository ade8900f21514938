//! The `Actor` extractor: a verified caller and the id of the request it made, which is what an
//! admin action's audit entry names as who did it and through which request.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::{Auth, Principal};
use crate::error::ApiError;
use crate::state::AppState;

/// A verified caller making a change, and its request's id (`x-request-id`, set by the request
/// id layer when the client sent none).
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
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|id| id.chars().take(200).collect());
        Ok(Actor {
            principal,
            request_id,
        })
    }
}
