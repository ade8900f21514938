//! Users and API keys: per advertiser (`/advertisers/{id}/users`, `/advertisers/{id}/api-keys`)
//! and for staff (`/users`, `/api-keys`, admin only).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ledger::AdvertiserId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::advertisers::quotas::{self, Quota};
use crate::advertisers::store::{self, ApiKey, User};
use crate::audit_records::{self, Change};
use crate::auth::{Role, secrets, store as auth_store};
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::extract::{Actor, Auth};
use crate::http::json::{JsonBody, PathParams};
use crate::routes::advertisers::{AdvertiserPath, visible};
use crate::state::AppState;

/// Who may manage an advertiser's users and keys (an advertiser its own).
pub const MANAGE_ROLES: &[Role] = &[Role::Advertiser, Role::Operator, Role::Admin];
/// Who may create staff users and keys.
pub const STAFF_ROLES: &[Role] = &[Role::Admin];

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(pattern = "^[a-z0-9][a-z0-9._@-]{2,63}$")]
    pub username: String,
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

/// A new staff user (admin only): any role; `advertiser` needs `advertiser_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffUser {
    #[schema(pattern = "^[a-z0-9][a-z0-9._@-]{2,63}$")]
    pub username: String,
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
    pub role: Role,
    pub advertiser_id: Option<Uuid>,
}

/// A new API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// A new staff API key (admin only), e.g. for servingd (`service`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffApiKey {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub role: Role,
    pub advertiser_id: Option<Uuid>,
}

/// A key just created: the only time its secret is shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// Exchange it at `/api/v1/auth/token`; it is not stored and cannot be shown again.
    pub api_key: String,
}

/// The path of one key of an advertiser.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct KeyPath {
    pub id: Uuid,
    pub key_id: Uuid,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user, list_users))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(create_staff_user))
        .routes(routes!(create_staff_api_key))
}

async fn add_user(
    state: &AppState,
    actor: &Actor,
    username: &str,
    password: String,
    role: Role,
    advertiser: Option<AdvertiserId>,
) -> Result<User> {
    let mut errors = Vec::new();
    if !(12..=256).contains(&password.chars().count()) {
        errors.push(FieldError::new("password", "12 to 256 characters"));
    }
    if username.is_empty() {
        errors.push(FieldError::new("username", "required"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let hash = tokio::task::spawn_blocking(move || secrets::hash(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let mut tx = state.db.begin().await?;
    if let Some(advertiser) = advertiser {
        quotas::make_room(&mut tx, &state.settings.quotas, advertiser, Quota::Users).await?;
    }
    let id = auth_store::insert_user(
        &mut *tx,
        username,
        &hash,
        role,
        advertiser,
        Some(actor.principal.id),
    )
    .await?;
    let user = store::user(&mut *tx, id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("user {id} vanished")))?;
    let entry = Change::of("user.create", format!("user:{id}"), user.advertiser_id)
        .after(&user)?
        .by(actor, user.created_at);
    audit_records::change::record(state, &mut tx, &entry).await?;
    tx.commit().await?;
    Ok(user)
}

async fn add_api_key(
    state: &AppState,
    actor: &Actor,
    name: &str,
    role: Role,
    advertiser: Option<AdvertiserId>,
) -> Result<CreatedApiKey> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::field("name", "1 to 200 characters"));
    }
    let id = Uuid::now_v7();
    let (api_key, secret) = secrets::new_api_key(id);
    let hash = tokio::task::spawn_blocking(move || secrets::hash(&secret))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let mut tx = state.db.begin().await?;
    if let Some(advertiser) = advertiser {
        quotas::make_room(&mut tx, &state.settings.quotas, advertiser, Quota::ApiKeys).await?;
    }
    auth_store::insert_api_key(&mut *tx, id, name, &hash, role, advertiser).await?;
    let key = store::api_key(&mut *tx, id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("key {id} vanished")))?;
    let entry = Change::of("api_key.create", format!("api_key:{id}"), key.advertiser_id)
        .after(&key)?
        .by(actor, key.created_at);
    audit_records::change::record(state, &mut tx, &entry).await?;
    tx.commit().await?;
    Ok(CreatedApiKey { key, api_key })
}

/// Add a user to an advertiser (role `advertiser`).
///
/// Roles: advertiser (its own), operator, admin.
#[utoipa::path(post, path = "/api/v1/advertisers/{id}/users", tag = "advertisers",
    params(AdvertiserPath), request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such advertiser (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user name is taken, or the advertiser has its most users", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn create_user(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<AdvertiserPath>,
    JsonBody(body): JsonBody<NewUser>,
) -> Result<(StatusCode, Json<User>)> {
    actor.principal.require(MANAGE_ROLES)?;
    let advertiser = visible(&state, &actor.principal, path.id).await?;
    let user = add_user(
        &state,
        &actor,
        &body.username,
        body.password,
        Role::Advertiser,
        Some(AdvertiserId(advertiser.id)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// The advertiser's users.
///
/// Roles: advertiser (its own), operator, admin.
#[utoipa::path(get, path = "/api/v1/advertisers/{id}/users", tag = "advertisers",
    params(AdvertiserPath),
    responses(
        (status = 200, description = "Users", body = Vec<User>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such advertiser (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn list_users(
    State(state): State<AppState>,
    auth: Auth,
    PathParams(path): PathParams<AdvertiserPath>,
) -> Result<Json<Vec<User>>> {
    auth.0.require(MANAGE_ROLES)?;
    let advertiser = visible(&state, &auth.0, path.id).await?;
    Ok(Json(store::users(&state.db, advertiser.id).await?))
}

/// Create an API key for an advertiser; the key is shown once.
///
/// Roles: advertiser (its own), operator, admin.
#[utoipa::path(post, path = "/api/v1/advertisers/{id}/api-keys", tag = "advertisers",
    params(AdvertiserPath), request_body = NewApiKey,
    responses(
        (status = 201, description = "Created; the key is in `api_key`", body = CreatedApiKey),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such advertiser (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The advertiser has its most API keys", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn create_api_key(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<AdvertiserPath>,
    JsonBody(body): JsonBody<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>)> {
    actor.principal.require(MANAGE_ROLES)?;
    let advertiser = visible(&state, &actor.principal, path.id).await?;
    let key = add_api_key(
        &state,
        &actor,
        &body.name,
        Role::Advertiser,
        Some(AdvertiserId(advertiser.id)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(key)))
}

/// The advertiser's API keys (without secrets).
///
/// Roles: advertiser (its own), operator, admin.
#[utoipa::path(get, path = "/api/v1/advertisers/{id}/api-keys", tag = "advertisers",
    params(AdvertiserPath),
    responses(
        (status = 200, description = "Keys", body = Vec<ApiKey>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such advertiser (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    auth: Auth,
    PathParams(path): PathParams<AdvertiserPath>,
) -> Result<Json<Vec<ApiKey>>> {
    auth.0.require(MANAGE_ROLES)?;
    let advertiser = visible(&state, &auth.0, path.id).await?;
    Ok(Json(store::api_keys(&state.db, advertiser.id).await?))
}

/// Revoke one of the advertiser's API keys.
///
/// Roles: advertiser (its own), operator, admin.
#[utoipa::path(delete, path = "/api/v1/advertisers/{id}/api-keys/{key_id}", tag = "advertisers",
    params(KeyPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<KeyPath>,
) -> Result<StatusCode> {
    actor.principal.require(MANAGE_ROLES)?;
    let advertiser = visible(&state, &actor.principal, path.id).await?;
    let mut tx = state.db.begin().await?;
    let key = match store::api_key(&mut *tx, path.key_id).await? {
        Some(key) if key.advertiser_id == Some(advertiser.id) => key,
        _ => return Err(ApiError::NotFound("api key")),
    };
    // Revoking a revoked key changes nothing, and records nothing.
    if let Some(revoked) = store::revoke_api_key(&mut tx, key.id).await? {
        let at = revoked.revoked_at.unwrap_or_else(|| state.clock.now());
        let entry = Change::of(
            "api_key.revoke",
            format!("api_key:{}", key.id),
            key.advertiser_id,
        )
        .before(&key)?
        .after(&revoked)?
        .by(&actor, at);
        audit_records::change::record(&state, &mut tx, &entry).await?;
    }
    tx.commit().await?;
    // tokens the key obtained stop here at once, on the other instances within a second
    state
        .revocations
        .add(key.id, crate::auth::revocations::Standing::REVOKED);
    Ok(StatusCode::NO_CONTENT)
}

/// The advertiser a user or key of `role` is bound to: `advertiser`, which the `advertiser`
/// role needs and every other role refuses.
pub fn staff_scope(role: Role, advertiser: Option<Uuid>) -> Result<Option<AdvertiserId>> {
    match (role, advertiser) {
        (Role::Advertiser, Some(a)) => Ok(Some(AdvertiserId(a))),
        (Role::Advertiser, None) => Err(ApiError::field(
            "advertiser_id",
            "required for the advertiser role",
        )),
        (_, Some(_)) => Err(ApiError::field(
            "advertiser_id",
            "only for the advertiser role",
        )),
        (_, None) => Ok(None),
    }
}

/// Create a user of any role.
///
/// Roles: admin.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin",
    request_body = NewStaffUser,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user name is taken, or the advertiser has its most users", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn create_staff_user(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(body): JsonBody<NewStaffUser>,
) -> Result<(StatusCode, Json<User>)> {
    actor.principal.require(STAFF_ROLES)?;
    let advertiser = staff_scope(body.role, body.advertiser_id)?;
    let user = add_user(
        &state,
        &actor,
        &body.username,
        body.password,
        body.role,
        advertiser,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Create an API key of any role (servingd's is `service`).
///
/// Roles: admin.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "admin",
    request_body = NewStaffApiKey,
    responses(
        (status = 201, description = "Created; the key is in `api_key`", body = CreatedApiKey),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The advertiser has its most API keys", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn create_staff_api_key(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(body): JsonBody<NewStaffApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>)> {
    actor.principal.require(STAFF_ROLES)?;
    let advertiser = staff_scope(body.role, body.advertiser_id)?;
    let key = add_api_key(&state, &actor, &body.name, body.role, advertiser).await?;
    Ok((StatusCode::CREATED, Json(key)))
}
