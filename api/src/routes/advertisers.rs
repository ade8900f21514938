//! `/api/v1/advertisers`: create, read, list.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ledger::{AccountOwner, AdvertiserId, Currency};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::advertisers::store::{self, Advertiser};
use crate::audit_records::{self, Change};
use crate::auth::{Principal, Role};
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::extract::{Actor, Auth};
use crate::http::json::{JsonBody, PathParams, QueryParams};
use crate::state::AppState;

/// Who may create advertisers.
pub const CREATE_ROLES: &[Role] = &[Role::Operator, Role::Admin];
/// Who may read advertisers (an advertiser only itself).
pub const READ_ROLES: &[Role] = &[Role::Advertiser, Role::Operator, Role::Billing, Role::Admin];

/// A new advertiser.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdvertiser {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// ISO 4217 code, e.g. EUR.
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    pub currency: String,
}

/// The path of one advertiser.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AdvertiserPath {
    pub id: Uuid,
}

/// Position of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub cursor: Option<Uuid>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A page of advertisers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdvertiserPage {
    pub items: Vec<Advertiser>,
    pub next_cursor: Option<Uuid>,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_advertiser, list_advertisers))
        .routes(routes!(get_advertiser))
}

/// Loads an advertiser the principal may see, else 404.
pub async fn visible(state: &AppState, principal: &Principal, id: Uuid) -> Result<Advertiser> {
    match store::get(&state.db, id).await? {
        Some(a) if principal.sees(AdvertiserId(a.id)) => Ok(a),
        _ => Err(ApiError::NotFound("advertiser")),
    }
}

/// Create an advertiser and its cash account.
///
/// Roles: operator, admin.
#[utoipa::path(post, path = "/api/v1/advertisers", tag = "advertisers",
    request_body = NewAdvertiser,
    responses(
        (status = 201, description = "Created", body = Advertiser),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not create advertisers", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn create_advertiser(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(body): JsonBody<NewAdvertiser>,
) -> Result<(StatusCode, Json<Advertiser>)> {
    actor.principal.require(CREATE_ROLES)?;
    let mut errors = Vec::new();
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "1 to 200 characters"));
    }
    let currency = Currency::parse(&body.currency);
    if let Err(e) = &currency {
        errors.push(FieldError::new("currency", e.to_string()));
    }
    let (true, Ok(currency)) = (errors.is_empty(), currency) else {
        return Err(ApiError::Invalid(errors));
    };
    let id = Uuid::now_v7();
    let mut tx = state.db.begin().await?;
    let advertiser = store::insert(&mut tx, id, name, currency.code()).await?;
    state
        .ledger
        .open_account_in(
            &mut tx,
            AccountOwner::AdvertiserCash {
                advertiser: AdvertiserId(id),
            },
            currency,
        )
        .await?;
    let entry = Change::of("advertiser.create", format!("advertiser:{id}"), Some(id))
        .after(&advertiser)?
        .by(&actor, advertiser.created_at);
    audit_records::change::record(&state, &mut tx, &entry).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(advertiser)))
}

/// List advertisers by id.
///
/// Roles: advertiser (sees only itself), operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/advertisers", tag = "advertisers",
    params(PageQuery),
    responses(
        (status = 200, description = "A page", body = AdvertiserPage),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read advertisers", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn list_advertisers(
    State(state): State<AppState>,
    Auth(principal): Auth,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<AdvertiserPage>> {
    principal.require(READ_ROLES)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest("limit: 1 to 500".into()));
    }
    let only = principal.scope(None).map(|a| a.0);
    let items = store::list(&state.db, only, query.cursor, limit).await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|a| a.id))
        .flatten();
    Ok(Json(AdvertiserPage { items, next_cursor }))
}

/// One advertiser.
///
/// Roles: advertiser (itself), operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/advertisers/{id}", tag = "advertisers",
    params(AdvertiserPath),
    responses(
        (status = 200, description = "The advertiser", body = Advertiser),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read advertisers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such advertiser (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn get_advertiser(
    State(state): State<AppState>,
    auth: Auth,
    PathParams(path): PathParams<AdvertiserPath>,
) -> Result<Json<Advertiser>> {
    auth.0.require(READ_ROLES)?;
    Ok(Json(visible(&state, &auth.0, path.id).await?))
}
