//! `advertisers`, and the listings of users and keys per advertiser.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

/// An advertiser.
#[derive(Debug, Clone, Serialize, Deserialize, FromRow, ToSchema)]
pub struct Advertiser {
    pub id: Uuid,
    pub name: String,
    /// Every account and campaign of the advertiser is in this ISO 4217 currency.
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

/// A user, without its password.
#[derive(Debug, Clone, Serialize, Deserialize, FromRow, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub role: String,
    pub advertiser_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// Disabled: signs in no more, and its tokens are refused, until enabled again.
    pub disabled: bool,
}

/// A user's columns, as [`User`] reads them.
const USER_COLUMNS: &str =
    "id, username, role, advertiser_id, created_at, disabled_at is not null as disabled";

/// An API key, without its secret.
#[derive(Debug, Clone, Serialize, Deserialize, FromRow, ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub advertiser_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Creates an advertiser.
pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    currency: &str,
) -> Result<Advertiser, sqlx::Error> {
    sqlx::query_as(
        "insert into advertisers (id, name, currency) values ($1, $2, $3)
         returning id, name, trim(currency) as currency, created_at",
    )
    .bind(id)
    .bind(name)
    .bind(currency)
    .fetch_one(conn)
    .await
}

/// One advertiser.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Advertiser>, sqlx::Error> {
    sqlx::query_as(
        "select id, name, trim(currency) as currency, created_at from advertisers where id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A page of advertisers by id (only `only` when given).
pub async fn list(
    pool: &PgPool,
    only: Option<Uuid>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Advertiser>, sqlx::Error> {
    sqlx::query_as(
        "select id, name, trim(currency) as currency, created_at from advertisers
          where ($1::uuid is null or id = $1) and ($2::uuid is null or id > $2)
          order by id limit $3",
    )
    .bind(only)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The advertiser's users.
pub async fn users(pool: &PgPool, advertiser: Uuid) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "select {USER_COLUMNS} from users
          where advertiser_id = $1 and deleted_at is null order by id"
    ))
    .bind(advertiser)
    .fetch_all(pool)
    .await
}

/// One user, unless deleted.
pub async fn user(db: impl sqlx::PgExecutor<'_>, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "select {USER_COLUMNS} from users where id = $1 and deleted_at is null"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The advertiser's API keys.
pub async fn api_keys(pool: &PgPool, advertiser: Uuid) -> Result<Vec<ApiKey>, sqlx::Error> {
    sqlx::query_as(
        "select id, name, role, advertiser_id, created_at, revoked_at from api_keys
          where advertiser_id = $1 order by id",
    )
    .bind(advertiser)
    .fetch_all(pool)
    .await
}

/// One API key.
pub async fn api_key(
    db: impl sqlx::PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<ApiKey>, sqlx::Error> {
    sqlx::query_as(
        "select id, name, role, advertiser_id, created_at, revoked_at from api_keys where id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Revokes an API key that is not revoked yet (tokens it already obtained run out at their
/// expiry): the key as revoked, or `None` when it was revoked before (or does not exist).
pub async fn revoke_api_key(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ApiKey>, sqlx::Error> {
    sqlx::query_as(
        "update api_keys set revoked_at = now() where id = $1 and revoked_at is null
         returning id, name, role, advertiser_id, created_at, revoked_at",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}
