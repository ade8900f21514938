//! `POST /api/v1/auth/token`: an API key, or a user name and password, for an access token.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::sign_in_guard::counted_address;
use crate::auth::sign_in_policy::Verdict;
use crate::auth::{Role, secrets, store};
use crate::error::{ApiError, Problem, Result};
use crate::extract::ClientAddress;
use crate::http::json::JsonBody;
use crate::state::AppState;

/// What is exchanged for a token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenRequest {
    /// A person: user name and password.
    Password { username: String, password: String },
    /// A program: the API key shown when it was created.
    ApiKey { api_key: String },
}

/// An access token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in: i64,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertiser_id: Option<uuid::Uuid>,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token))
}

/// Exchange credentials for an access token.
///
/// Open to anyone; wrong credentials are a 401 that does not say which part was wrong. Failed
/// attempts slow their address after five and the account (for addresses it was not signed in
/// from lately) after twenty: each further attempt waits twice as long, up to 15 minutes (429
/// with Retry-After).
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Credentials do not hold", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many sign-ins are being checked at once", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn token(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    JsonBody(request): JsonBody<TokenRequest>,
) -> Result<Json<TokenResponse>> {
    // (unknown only for a router served without connection info: then only the account counts)
    let address = client.map(counted_address);
    let address = address.as_deref();
    let account = match &request {
        TokenRequest::Password { username, .. } => format!("user:{username}"),
        TokenRequest::ApiKey { api_key } => match secrets::parse_api_key(api_key) {
            Some((id, _)) => format!("key:{}", id.simple()),
            None => "key:malformed".to_owned(),
        },
    };
    let now_ms = state.clock.now().timestamp_millis();
    // judged before anything is looked up or hashed
    if let Verdict::Wait(wait_s) = state.sign_in.check(address, &account, now_ms).await {
        metrics::counter!("api_sign_in_refused_total", "reason" => "back_off").increment(1);
        return Err(ApiError::RateLimited(wait_s));
    }
    let Some(_turn) = state.sign_in.hashing_turn().await else {
        metrics::counter!("api_sign_in_refused_total", "reason" => "busy").increment(1);
        return Err(ApiError::Unavailable(
            "too many sign-ins are being checked at once; try again in a second".into(),
        ));
    };
    let (stored, secret) = match request {
        TokenRequest::Password { username, password } => {
            (store::user_by_name(&state.db, &username).await?, password)
        }
        TokenRequest::ApiKey { api_key } => match secrets::parse_api_key(&api_key) {
            Some((id, secret)) => (store::api_key(&state.db, id).await?, secret.to_owned()),
            None => (None, api_key),
        },
    };
    let verified = tokio::task::spawn_blocking(move || match stored {
        Some(stored) if secrets::verify(&secret, &stored.hash) => {
            Some((stored.principal, stored.token_version))
        }
        Some(_) => None,
        None => {
            secrets::verify_nothing(&secret);
            None
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let now_ms = state.clock.now().timestamp_millis();
    let Some((principal, token_version)) = verified else {
        state.sign_in.failed(address, &account, now_ms).await;
        return Err(ApiError::Unauthenticated(
            "the credentials do not hold".into(),
        ));
    };
    state.sign_in.succeeded(address, &account, now_ms).await;
    let ttl_s = state.settings.jwt.token_ttl_s;
    let now_s = state.clock.now().timestamp();
    let access_token = state
        .keys
        .load()
        .issue_at(&principal, token_version, now_s, ttl_s)?;
    Ok(Json(TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: ttl_s,
        role: principal.role,
        advertiser_id: principal.advertiser.map(|a| a.0),
    }))
}
