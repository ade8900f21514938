//! Users after they are created: disabled and enabled, deleted, given a new role or password
//! (`/users/{id}` for admins, `/advertisers/{id}/users/{user_id}` for the people who manage an
//! advertiser's users, `/auth/password` for one's own). Every change moves the user's token
//! version on, so the tokens it held stop working: at once on this instance, within about a
//! second on the others.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ledger::AdvertiserId;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::advertisers::quotas::{self, Quota};
use crate::advertisers::store::{self, User};
use crate::audit_records::{self, Change};
use crate::auth::revocations::Standing;
use crate::auth::store::{self as auth_store, LockedUser, UserChange};
use crate::auth::user_rules::{self, Target};
use crate::auth::{Role, secrets};
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::extract::{Actor, ClientAddress};
use crate::http::json::{JsonBody, PathParams};
use crate::routes::advertisers::visible;
use crate::routes::credentials::{MANAGE_ROLES, staff_scope};
use crate::state::AppState;

/// A change of a user's role or standing (admin only); absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    /// A new role; `advertiser` needs `advertiser_id`, the others refuse it.
    pub role: Option<Role>,
    pub advertiser_id: Option<Uuid>,
    /// Disable (signs in no more, its tokens refused) or enable again.
    pub disabled: Option<bool>,
}

/// Disabling or enabling one of an advertiser's users.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvertiserUserUpdate {
    pub disabled: bool,
}

/// A new password set by an admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

/// One's own new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: String,
}

/// The path of one user.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    pub id: Uuid,
}

/// The path of one user of an advertiser.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AdvertiserUserPath {
    pub id: Uuid,
    pub user_id: Uuid,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(update_user, delete_user))
        .routes(routes!(set_password))
        .routes(routes!(change_own_password))
        .routes(routes!(update_advertiser_user, delete_advertiser_user))
}

fn target(user: &LockedUser) -> Target {
    Target {
        id: user.id,
        advertiser: user.advertiser_id.map(AdvertiserId),
        created_by: user.created_by,
    }
}

fn password_errors(field: &str, password: &str) -> Result<()> {
    if (12..=256).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(ApiError::Invalid(vec![FieldError::new(
            field,
            "12 to 256 characters",
        )]))
    }
}

async fn hashed(password: String) -> Result<String> {
    let hash = tokio::task::spawn_blocking(move || secrets::hash(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    Ok(hash)
}

/// Locks user `id`, lets `allowed` judge it, applies what `change` makes of it and records
/// `action`; then refuses the user's older tokens here at once. The user as it is now (`None`
/// once deleted).
async fn change_user<'a>(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    action: &'static str,
    allowed: impl FnOnce(&LockedUser) -> Result<()>,
    change: impl FnOnce(&LockedUser) -> Result<UserChange<'a>>,
) -> Result<Option<User>> {
    let mut tx = state.db.begin().await?;
    let locked = auth_store::lock_user(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    allowed(&locked)?;
    let before = store::user(&mut *tx, id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let change = change(&locked)?;
    if let UserChange::Standing {
        advertiser: Some(advertiser),
        ..
    } = change
        && locked.advertiser_id != Some(advertiser.0)
    {
        // a user moved to an advertiser counts against its quota like a new one
        quotas::make_room(&mut tx, &state.settings.quotas, advertiser, Quota::Users).await?;
    }
    let leaves_admins = match change {
        UserChange::Deleted => true,
        UserChange::Standing { role, disabled, .. } => role != Role::Admin || disabled,
        UserChange::Password(_) => false,
    };
    if locked.role == Role::Admin.as_str()
        && leaves_admins
        && auth_store::lock_other_active_admins(&mut tx, id).await? == 0
    {
        return Err(ApiError::Conflict(
            "the last active admin cannot be deleted, disabled or given another role".into(),
        ));
    }
    let (version, barred) = auth_store::change_user(&mut tx, id, change).await?;
    let after = store::user(&mut *tx, id).await?;
    let mut entry =
        Change::of(action, format!("user:{id}"), before.advertiser_id).before(&before)?;
    if let Some(after) = &after {
        entry = entry.after(after)?;
    }
    let entry = entry.by(actor, state.clock.now());
    audit_records::change::record(state, &mut tx, &entry).await?;
    tx.commit().await?;
    state.revocations.add(id, Standing { version, barred });
    Ok(after)
}

/// Change a user's role, or disable or enable it.
///
/// Its tokens stop working (a disabled user's at once and until enabled; otherwise those issued
/// before). Nobody changes their own. Roles: admin.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "admin",
    params(UserPath), request_body = UserUpdate,
    responses(
        (status = 200, description = "Changed", body = User),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your own user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn update_user(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<UserPath>,
    JsonBody(body): JsonBody<UserUpdate>,
) -> Result<Json<User>> {
    actor.principal.require(&[Role::Admin])?;
    if body.role.is_none() && body.advertiser_id.is_some() {
        return Err(ApiError::field("advertiser_id", "only with role"));
    }
    let scope = match body.role {
        Some(role) => Some((role, staff_scope(role, body.advertiser_id)?)),
        None => None,
    };
    let user = change_user(
        &state,
        &actor,
        path.id,
        "user.update",
        |user| user_rules::may_change_standing(&actor.principal, &target(user)),
        |user| {
            let (role, advertiser) = match scope {
                Some(scope) => scope,
                None => (
                    user.role.parse().map_err(|e: String| anyhow::anyhow!(e))?,
                    user.advertiser_id.map(AdvertiserId),
                ),
            };
            Ok(UserChange::Standing {
                role,
                advertiser,
                disabled: body.disabled.unwrap_or(user.disabled),
            })
        },
    )
    .await?
    .ok_or(ApiError::NotFound("user"))?;
    Ok(Json(user))
}

/// Delete a user.
///
/// It signs in no more and its tokens stop working; its name stays taken (the audit trail names
/// it). Nobody deletes their own. Roles: admin.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "admin",
    params(UserPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your own user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn delete_user(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<UserPath>,
) -> Result<StatusCode> {
    actor.principal.require(&[Role::Admin])?;
    change_user(
        &state,
        &actor,
        path.id,
        "user.delete",
        |user| user_rules::may_change_standing(&actor.principal, &target(user)),
        |_| Ok(UserChange::Deleted),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a user's password.
///
/// The tokens it held stop working. Roles: admin.
#[utoipa::path(put, path = "/api/v1/users/{id}/password", tag = "admin",
    params(UserPath), request_body = NewPassword,
    responses(
        (status = 204, description = "Set"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn set_password(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<UserPath>,
    JsonBody(body): JsonBody<NewPassword>,
) -> Result<StatusCode> {
    actor.principal.require(&[Role::Admin])?;
    password_errors("password", &body.password)?;
    let hash = hashed(body.password).await?;
    change_user(
        &state,
        &actor,
        path.id,
        "user.password",
        |_| Ok(()),
        |_| Ok(UserChange::Password(&hash)),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change your own password.
///
/// Needs the current one (wrong guesses count as failed sign-ins). Every token you hold stops
/// working, this one too: sign in again. Roles: any user (an API key has no password).
#[utoipa::path(put, path = "/api/v1/auth/password", tag = "auth",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, description = "Not signed in, or the current password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An API key has no password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords; wait", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn change_own_password(
    State(state): State<AppState>,
    actor: Actor,
    ClientAddress(client): ClientAddress,
    JsonBody(body): JsonBody<PasswordChange>,
) -> Result<StatusCode> {
    password_errors("new_password", &body.new_password)?;
    let id = actor.principal.id;
    let Some(user) = store::user(&state.db, id).await? else {
        return Err(ApiError::Forbidden);
    };
    let address = client.map(crate::auth::sign_in_guard::counted_address);
    let account = format!("user:{}", user.username);
    if let crate::auth::sign_in_policy::Verdict::Wait(wait_s) = state
        .sign_in
        .check(
            address.as_deref(),
            &account,
            state.clock.now().timestamp_millis(),
        )
        .await
    {
        return Err(ApiError::RateLimited(wait_s));
    }
    let stored = auth_store::user_by_name(&state.db, &user.username)
        .await?
        .ok_or(ApiError::Forbidden)?;
    let current = body.current_password;
    let holds = tokio::task::spawn_blocking(move || secrets::verify(&current, &stored.hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if !holds {
        let now_ms = state.clock.now().timestamp_millis();
        state
            .sign_in
            .failed(address.as_deref(), &account, now_ms)
            .await;
        return Err(ApiError::Unauthenticated(
            "the current password is wrong".into(),
        ));
    }
    let hash = hashed(body.new_password).await?;
    change_user(
        &state,
        &actor,
        id,
        "user.password",
        |_| Ok(()),
        |_| Ok(UserChange::Password(&hash)),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disable or enable one of the advertiser's users.
///
/// A disabled user signs in no more and its tokens stop working. An advertiser's own people
/// may do it to the users they created; nobody to themselves. Roles: advertiser (its own),
/// operator, admin.
#[utoipa::path(patch, path = "/api/v1/advertisers/{id}/users/{user_id}", tag = "advertisers",
    params(AdvertiserUserPath), request_body = AdvertiserUserUpdate,
    responses(
        (status = 200, description = "Changed", body = User),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this, or not a user you created", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your own user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn update_advertiser_user(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<AdvertiserUserPath>,
    JsonBody(body): JsonBody<AdvertiserUserUpdate>,
) -> Result<Json<User>> {
    actor.principal.require(MANAGE_ROLES)?;
    let advertiser = AdvertiserId(visible(&state, &actor.principal, path.id).await?.id);
    let user = change_user(
        &state,
        &actor,
        path.user_id,
        "user.update",
        |user| user_rules::may_manage_advertiser_user(&actor.principal, advertiser, &target(user)),
        |_| {
            Ok(UserChange::Standing {
                role: Role::Advertiser,
                advertiser: Some(advertiser),
                disabled: body.disabled,
            })
        },
    )
    .await?
    .ok_or(ApiError::NotFound("user"))?;
    Ok(Json(user))
}

/// Remove one of the advertiser's users.
///
/// It signs in no more and its tokens stop working. An advertiser's own people may remove the
/// users they created; nobody themselves. Roles: advertiser (its own), operator, admin.
#[utoipa::path(delete, path = "/api/v1/advertisers/{id}/users/{user_id}", tag = "advertisers",
    params(AdvertiserUserPath),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this, or not a user you created", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your own user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn delete_advertiser_user(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<AdvertiserUserPath>,
) -> Result<StatusCode> {
    actor.principal.require(MANAGE_ROLES)?;
    let advertiser = AdvertiserId(visible(&state, &actor.principal, path.id).await?.id);
    change_user(
        &state,
        &actor,
        path.user_id,
        "user.delete",
        |user| user_rules::may_manage_advertiser_user(&actor.principal, advertiser, &target(user)),
        |_| Ok(UserChange::Deleted),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
