//! `users` and `api_keys`: who may sign in, with what role, for which advertiser.

use ledger::AdvertiserId;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::role::{Principal, Role};

/// A credential as stored: who it stands for and the hash to check.
pub struct StoredCredential {
    pub principal: Principal,
    pub hash: String,
}

fn credential(row: &sqlx::postgres::PgRow) -> anyhow::Result<StoredCredential> {
    let role: String = row.try_get("role")?;
    Ok(StoredCredential {
        principal: Principal {
            id: row.try_get("id")?,
            role: role.parse().map_err(anyhow::Error::msg)?,
            advertiser: row
                .try_get::<Option<Uuid>, _>("advertiser_id")?
                .map(AdvertiserId),
        },
        hash: row.try_get("hash")?,
    })
}

/// The user signing in as `username`.
pub async fn user_by_name(
    pool: &PgPool,
    username: &str,
) -> anyhow::Result<Option<StoredCredential>> {
    let row = sqlx::query(
        "select id, role, advertiser_id, password_hash as hash from users where username = $1",
    )
    .bind(username)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(credential).transpose()
}

/// The API key `id`, unless revoked.
pub async fn api_key(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<StoredCredential>> {
    let row = sqlx::query(
        "select id, role, advertiser_id, secret_hash as hash from api_keys
          where id = $1 and revoked_at is null",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(credential).transpose()
}

/// The API keys revoked at or after `since`.
pub async fn keys_revoked_since(
    pool: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("select id from api_keys where revoked_at >= $1")
        .bind(since)
        .fetch_all(pool)
        .await
}

/// Creates a user; the password is hashed here.
pub async fn insert_user(
    db: impl sqlx::PgExecutor<'_>,
    username: &str,
    password_hash: &str,
    role: Role,
    advertiser: Option<AdvertiserId>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into users (id, username, password_hash, role, advertiser_id) values ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(advertiser.map(|a| a.0))
    .execute(db)
    .await?;
    Ok(id)
}

/// Creates an API key under `id` with its hashed secret.
pub async fn insert_api_key(
    db: impl sqlx::PgExecutor<'_>,
    id: Uuid,
    name: &str,
    secret_hash: &str,
    role: Role,
    advertiser: Option<AdvertiserId>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into api_keys (id, name, secret_hash, role, advertiser_id) values ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(secret_hash)
    .bind(role.as_str())
    .bind(advertiser.map(|a| a.0))
    .execute(db)
    .await?;
    Ok(())
}

/// Whether any admin user exists (the first one is created explicitly, never by default).
pub async fn admin_exists(pool: &PgPool) -> anyhow::Result<bool> {
    Ok(
        sqlx::query_scalar("select exists (select 1 from users where role = 'admin')")
            .fetch_one(pool)
            .await?,
    )
}
