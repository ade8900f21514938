//! Funding: deposits and credits (with `Idempotency-Key`), balances and statements.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use ledger::{
    AccountOwner, AdvertiserId, Amount, BatchMode, NewTransfer, PostStatus, References,
    StatementCursor, StatementPage, Transfer, TransferId, TransferKind,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit_records::{self, Change};
use crate::auth::Role;
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::extract::{Actor, Auth};
use crate::http::json::{JsonBody, PathParams, QueryParams, money_text};
use crate::routes::advertisers::{AdvertiserPath, visible};
use crate::state::AppState;

/// Who may move money in.
pub const MONEY_ROLES: &[Role] = &[Role::Billing, Role::Admin];
/// Who may read balances and statements (an advertiser its own).
pub const READ_ROLES: &[Role] = &[Role::Advertiser, Role::Operator, Role::Billing, Role::Admin];

/// Money arriving: a deposit, or a credit from the platform.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Funding {
    /// A decimal string in the advertiser's currency, more than zero, at most 6 decimals.
    #[schema(pattern = "^[0-9]{1,14}(\\.[0-9]{1,6})?$", example = "250.00")]
    pub amount: String,
    /// Why (shown on the statement).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// A posted transfer as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Posting {
    pub transfer_id: uuid::Uuid,
    pub kind: String,
    #[schema(value_type = String)]
    pub amount: Amount,
    pub currency: String,
    pub posted_at: chrono::DateTime<chrono::Utc>,
    /// Whether this request moved the money (false: a retry of an earlier one).
    pub created: bool,
}

/// An advertiser's money.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    pub advertiser_id: uuid::Uuid,
    pub currency: String,
    /// Cash on the account.
    pub cash: String,
    /// Cash not reserved by pending transfers.
    pub available: String,
    /// Held for the advertiser's campaigns and not yet spent.
    pub held: String,
}

/// A statement page request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatementQuery {
    /// From the previous page's `next`.
    #[param(pattern = "^s[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deposit))
        .routes(routes!(credit))
        .routes(routes!(balance))
        .routes(routes!(statement))
}

fn idempotency_key(headers: &HeaderMap) -> Result<String> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::field(
            "Idempotency-Key",
            "the header is required: 1 to 200 characters, the same on every retry",
        ));
    }
    Ok(key.to_owned())
}

async fn fund(
    state: &AppState,
    actor: &Actor,
    advertiser: uuid::Uuid,
    headers: &HeaderMap,
    body: Funding,
    kind: TransferKind,
) -> Result<(StatusCode, Json<Posting>)> {
    actor.principal.require(MONEY_ROLES)?;
    let key = idempotency_key(headers)?;
    let advertiser = visible(state, &actor.principal, advertiser).await?;
    let amount = Amount::parse(&body.amount)
        .map_err(|e| ApiError::Invalid(vec![FieldError::new("amount", e.to_string())]))?;
    if body.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ApiError::field("note", "at most 500 characters"));
    }
    let currency = crate::error::stored_currency(&advertiser.currency)?;
    let id = AdvertiserId(advertiser.id);
    let cash = state
        .ledger
        .open_account(AccountOwner::AdvertiserCash { advertiser: id }, currency)
        .await?;
    let source = match kind {
        TransferKind::Credit => AccountOwner::InvalidTrafficCredits,
        _ => AccountOwner::External,
    };
    let source = state.ledger.open_account(source, currency).await?;
    let scope = format!("{}:{}", kind.as_str(), advertiser.id);
    let mut transfer = NewTransfer::new(
        TransferId::from_key(&scope, &key),
        source.id,
        cash.id,
        amount,
        currency,
        kind,
    );
    transfer.references = References {
        advertiser: Some(id),
        ..References::default()
    };
    transfer.metadata = serde_json::json!({ "note": body.note, "by": actor.principal.id });
    let posted = post_audited(state, actor, &transfer).await?;
    let created = posted.status == PostStatus::Created;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(posting(&posted.transfer, created))))
}

/// Tries of a funding transaction that lost a race to another writer.
const FUNDING_TRIES: u32 = 5;

/// Posts `transfer` and, when this request is the one that moved the money, its audit entry
/// (`funding.deposit`, `funding.credit`), in one transaction. A retry under the same key
/// records nothing more.
async fn post_audited(
    state: &AppState,
    actor: &Actor,
    transfer: &NewTransfer,
) -> Result<ledger::Posted> {
    let mut tries = 0;
    loop {
        tries += 1;
        let mut tx = state.db.begin().await?;
        let attempt = state
            .ledger
            .transfer_in(&mut tx, std::slice::from_ref(transfer), BatchMode::Linked)
            .await;
        let posted = match attempt {
            Ok(mut results) => match results.pop() {
                Some(Ok(posted)) => posted,
                Some(Err(ledger::Rejection::IdConflict { .. })) => {
                    return Err(ApiError::Conflict(
                        "this Idempotency-Key was used for a different request".into(),
                    ));
                }
                Some(Err(rejection)) => return Err(ledger::Error::from(rejection).into()),
                None => return Err(ApiError::Internal(anyhow::anyhow!("no posting result"))),
            },
            Err(e) if e.is_retryable() && tries < FUNDING_TRIES => continue,
            Err(e) => return Err(e.into()),
        };
        if posted.status == PostStatus::Created {
            let t = &posted.transfer;
            let entry = Change::of(
                match t.kind {
                    TransferKind::Credit => "funding.credit",
                    _ => "funding.deposit",
                },
                format!("transfer:{}", t.id.0),
                t.references.advertiser.map(|a| a.0),
            )
            .after(&serde_json::json!({
                "amount": t.amount.to_string(),
                "currency": t.currency.code(),
                "note": t.metadata.get("note"),
            }))?
            .by(actor, t.posted_at);
            audit_records::change::record(state, &mut tx, &entry).await?;
        }
        match tx.commit().await {
            Ok(()) => return Ok(posted),
            Err(e) => {
                let e = ledger::Error::from(e);
                if e.is_retryable() && tries < FUNDING_TRIES {
                    continue;
                }
                return Err(e.into());
            }
        }
    }
}

fn posting(t: &Transfer, created: bool) -> Posting {
    Posting {
        transfer_id: t.id.0,
        kind: t.kind.as_str().to_owned(),
        amount: t.amount,
        currency: t.currency.code().to_owned(),
        posted_at: t.posted_at,
        created,
    }
}

/// Record money received from an advertiser.
///
/// Retrying with the same `Idempotency-Key` returns the first posting (200) and moves nothing.
/// Roles: billing, admin.
#[utoipa::path(post, path = "/api/v1/advertisers/{id}/deposits", tag = "funding",
    params(AdvertiserPath, ("Idempotency-Key" = String, Header, description = "Same on every retry", min_length = 1, max_length = 200)),
    request_body = Funding,
    responses(
        (status = 201, description = "Posted", body = Posting),
        (status = 200, description = "Posted earlier under this key", body = Posting),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not move money", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such advertiser", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Key used for a different request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid amount or missing key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn deposit(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<AdvertiserPath>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Funding>,
) -> Result<(StatusCode, Json<Posting>)> {
    fund(
        &state,
        &actor,
        path.id,
        &headers,
        body,
        TransferKind::Deposit,
    )
    .await
}

/// Grant an advertiser a credit from the platform.
///
/// Idempotent like deposits. Roles: billing, admin.
#[utoipa::path(post, path = "/api/v1/advertisers/{id}/credits", tag = "funding",
    params(AdvertiserPath, ("Idempotency-Key" = String, Header, description = "Same on every retry", min_length = 1, max_length = 200)),
    request_body = Funding,
    responses(
        (status = 201, description = "Posted", body = Posting),
        (status = 200, description = "Posted earlier under this key", body = Posting),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not move money", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such advertiser", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Key used for a different request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid amount or missing key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn credit(
    State(state): State<AppState>,
    actor: Actor,
    PathParams(path): PathParams<AdvertiserPath>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Funding>,
) -> Result<(StatusCode, Json<Posting>)> {
    fund(
        &state,
        &actor,
        path.id,
        &headers,
        body,
        TransferKind::Credit,
    )
    .await
}

/// The advertiser's cash and what its campaigns hold.
///
/// Roles: advertiser (its own), operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/advertisers/{id}/balance", tag = "funding",
    params(AdvertiserPath),
    responses(
        (status = 200, description = "Balance", body = Balance),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such advertiser (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn balance(
    State(state): State<AppState>,
    auth: Auth,
    PathParams(path): PathParams<AdvertiserPath>,
) -> Result<Json<Balance>> {
    auth.0.require(READ_ROLES)?;
    let advertiser = visible(&state, &auth.0, path.id).await?;
    let balance = ledger::reads::advertiser_balance(&state.db, AdvertiserId(advertiser.id)).await?;
    Ok(Json(Balance {
        advertiser_id: advertiser.id,
        currency: advertiser.currency,
        cash: money_text(balance.cash),
        available: money_text(balance.available),
        held: money_text(balance.held),
    }))
}

/// The advertiser's cash statement, oldest first, with running balances.
///
/// Roles: advertiser (its own), operator, billing, admin.
#[utoipa::path(get, path = "/api/v1/advertisers/{id}/statement", tag = "funding",
    params(AdvertiserPath, StatementQuery),
    responses(
        (status = 200, description = "A page of the statement", body = serde_json::Value),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such advertiser (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn statement(
    State(state): State<AppState>,
    auth: Auth,
    PathParams(path): PathParams<AdvertiserPath>,
    QueryParams(query): QueryParams<StatementQuery>,
) -> Result<Json<StatementPage>> {
    auth.0.require(READ_ROLES)?;
    let advertiser = visible(&state, &auth.0, path.id).await?;
    let cursor = match query.cursor.as_deref() {
        Some(c) => c
            .parse::<StatementCursor>()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        None => StatementCursor::start(),
    };
    let currency = crate::error::stored_currency(&advertiser.currency)?;
    let cash = state
        .ledger
        .open_account(
            AccountOwner::AdvertiserCash {
                advertiser: AdvertiserId(advertiser.id),
            },
            currency,
        )
        .await?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit: 1 to 1000".into()));
    }
    Ok(Json(state.ledger.statement(cash.id, cursor, limit).await?))
}
