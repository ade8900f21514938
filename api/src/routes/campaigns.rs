//! `/api/v1/campaigns`: create, read, list, update and the status actions.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use domain::campaign_status::{Action, Status};
use ledger::{AdvertiserId, CampaignId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Principal, Role};
use crate::campaigns::service::{self, Creation};
use crate::campaigns::store;
use crate::error::{ApiError, Problem, Result};
use crate::extract::{Actor, Auth};
use crate::http::json::{JsonBody, PathParams, QueryParams, strictly};
use crate::state::AppState;
use domain::campaign::Campaign;
use domain::campaign::CampaignInput;

/// Who may create, edit, pause and resume campaigns.
pub const WRITE_ROLES: &[Role] = &[Role::Advertiser, Role::Operator, Role::Admin];
/// Who may read campaigns.
pub const READ_ROLES: &[Role] = &[Role::Advertiser, Role::Operator, Role::Billing, Role::Admin];

/// Most campaigns on one page.
const MAX_PAGE: i64 = 500;

/// A new campaign: the settings, and whose it is (advertisers may leave it out).
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCampaign {
    pub advertiser_id: Option<Uuid>,
    #[serde(flatten)]
    pub campaign: CampaignInput,
}

/// Filters and position of a campaign listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub advertiser_id: Option<Uuid>,
    pub status: Option<Status>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<Uuid>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A page of campaigns.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CampaignPage {
    pub items: Vec<Campaign>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[schema(value_type = Option<Uuid>)]
    pub next_cursor: Option<CampaignId>,
}

/// The path of one campaign.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CampaignPath {
    pub id: Uuid,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_campaign, list_campaigns))
        .routes(routes!(get_campaign, update_campaign))
        .routes(routes!(activate_campaign))
        .routes(routes!(pause_campaign))
        .routes(routes!(resume_campaign))
        .routes(routes!(archive_campaign))
}

/// Create a draft campaign.
///
/// With an `Idempotency-Key`, a retry returns the campaign the first request created (200) and
/// creates nothing; the same key with other settings is a conflict (409). Roles: advertiser (its
/// own), operator, admin.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns",
    request_body = NewCampaign,
    params(("Idempotency-Key" = Option<String>, Header, description = "Optional; the same on every retry of one creation", min_length = 1, max_length = 200)),
    responses(
        (status = 201, description = "Created", body = Campaign),
        (status = 200, description = "A retry: the campaign the first request with this Idempotency-Key created", body = Campaign),
        (status = 409, description = "The Idempotency-Key was used for other settings, or the advertiser has its most campaigns", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not create campaigns", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn create_campaign(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody<serde_json::Value>,
) -> Result<(StatusCode, Json<Campaign>)> {
    let principal = actor.principal;
    principal.require(WRITE_ROLES)?;
    let requested = match body.as_object_mut().and_then(|o| o.remove("advertiser_id")) {
        None | Some(serde_json::Value::Null) => None,
        Some(value) => Some(
            serde_json::from_value::<Uuid>(value)
                .map_err(|_| ApiError::field("advertiser_id", "an advertiser id"))?,
        ),
    };
    let advertiser = principal
        .scope(requested.map(AdvertiserId))
        .ok_or_else(|| ApiError::field("advertiser_id", "required"))?;
    if requested.is_some_and(|r| !principal.sees(AdvertiserId(r))) {
        return Err(ApiError::field("advertiser_id", "no such advertiser"));
    }
    let key = optional_idempotency_key(&headers)?;
    let input: CampaignInput = strictly(body)?;
    let (campaign, creation) =
        service::create(&state, &actor, advertiser, &input, key.as_deref()).await?;
    let status = match creation {
        Creation::Created => StatusCode::CREATED,
        Creation::Replayed => StatusCode::OK,
    };
    Ok((status, Json(campaign)))
}

/// The `Idempotency-Key` header, when there is one: 1 to 200 characters.
fn optional_idempotency_key(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str().map(str::trim) {
        Ok(key) if !key.is_empty() && key.len() <= 200 => Ok(Some(key.to_owned())),
        _ => Err(ApiError::field(
            "Idempotency-Key",
            "1 to 200 visible characters, the same on every retry",
        )),
    }
}

/// List campaigns by id, filtered by advertiser and status.
///
/// Roles: advertiser (its own only), operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = CampaignPage),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read campaigns", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    Auth(principal): Auth,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<CampaignPage>> {
    principal.require(READ_ROLES)?;
    Ok(Json(campaign_page(&state, &principal, &query).await?))
}

/// The page of campaigns `query` asks for, of those `principal` may see (an advertiser its own
/// only, whatever the filter says).
pub async fn campaign_page(
    state: &AppState,
    principal: &Principal,
    query: &ListQuery,
) -> Result<CampaignPage> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit: 1 to {MAX_PAGE}")));
    }
    let advertiser = principal.scope(query.advertiser_id.map(AdvertiserId));
    let items = store::list(
        &state.db,
        advertiser.map(|a| a.0),
        query.status,
        query.cursor,
        limit,
    )
    .await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|c| c.id))
        .flatten();
    Ok(CampaignPage { items, next_cursor })
}

/// One campaign.
///
/// Roles: advertiser (its own), operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(CampaignPath),
    responses(
        (status = 200, description = "The campaign", body = Campaign),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read campaigns", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn get_campaign(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathParams(path): PathParams<CampaignPath>,
) -> Result<Json<Campaign>> {
    principal.require(READ_ROLES)?;
    match store::get(&state.db, CampaignId(path.id)).await? {
        Some(c) if principal.sees(c.advertiser_id) => Ok(Json(c)),
        _ => Err(ApiError::NotFound("campaign")),
    }
}

/// Change a campaign's settings.
///
/// A JSON merge patch (RFC 7386) over its settings (name, schedule, budget, bid, pacing,
/// targeting, frequency_cap, creatives). A change of budget of an active campaign moves its
/// hold. Roles: advertiser (its own), operator, admin.
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(CampaignPath),
    request_body(content = serde_json::Value, description = "A merge patch of the settings", content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Campaign),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not edit campaigns", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not editable now, or not enough cash for the new budget", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn update_campaign(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<CampaignPath>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> Result<Json<Campaign>> {
    actor.principal.require(WRITE_ROLES)?;
    if !patch.is_object() {
        return Err(ApiError::field("body", "a JSON object (merge patch)"));
    }
    Ok(Json(
        service::update(&state, &actor, CampaignId(path.id), &patch).await?,
    ))
}

async fn act(
    state: AppState,
    actor: Actor,
    path: CampaignPath,
    action: Action,
) -> Result<Json<Campaign>> {
    actor.principal.require(WRITE_ROLES)?;
    Ok(Json(
        service::act(&state, &actor, CampaignId(path.id), action).await?,
    ))
}

/// Start a draft campaign.
///
/// Its budget is held from the advertiser's cash (a daily budget at the start of each local day,
/// a lifetime budget once). Roles: advertiser (its own), operator, admin.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/activate", tag = "campaigns",
    params(CampaignPath),
    responses(
        (status = 200, description = "Active", body = Campaign),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed from this status, or not enough cash (the shortfall is stated)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn activate_campaign(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<CampaignPath>,
) -> Result<Json<Campaign>> {
    act(state, actor, path, Action::Activate).await
}

/// Pause an active campaign.
///
/// What it holds and no server has leased goes back to cash. Roles: advertiser (its own),
/// operator, admin.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/pause", tag = "campaigns",
    params(CampaignPath),
    responses(
        (status = 200, description = "Paused", body = Campaign),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed from this status", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn pause_campaign(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<CampaignPath>,
) -> Result<Json<Campaign>> {
    act(state, actor, path, Action::Pause).await
}

/// Resume a paused or exhausted campaign.
///
/// Its budget is held again (an exhausted one after its budget was raised). Roles: advertiser
/// (its own), operator, admin.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/resume", tag = "campaigns",
    params(CampaignPath),
    responses(
        (status = 200, description = "Active", body = Campaign),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed from this status, or not enough cash", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn resume_campaign(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<CampaignPath>,
) -> Result<Json<Campaign>> {
    act(state, actor, path, Action::Resume).await
}

/// Archive a campaign for good (from draft, paused, exhausted or ended).
///
/// Roles: advertiser (its own), operator, admin.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/archive", tag = "campaigns",
    params(CampaignPath),
    responses(
        (status = 200, description = "Archived", body = Campaign),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed from this status", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn archive_campaign(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<CampaignPath>,
) -> Result<Json<Campaign>> {
    act(state, actor, path, Action::Archive).await
}
