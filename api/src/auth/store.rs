//! `users` and `api_keys`: who may sign in, with what role, for which advertiser.

use ledger::AdvertiserId;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::role::{Principal, Role};

/// A credential as stored: who it stands for, the hash to check, and the version its tokens
/// are issued at (a user's; 0 for a key).
pub struct StoredCredential {
    pub principal: Principal,
    pub hash: String,
    pub token_version: u32,
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
        token_version: u32::try_from(row.try_get::<i32, _>("token_version")?)?,
    })
}

/// The user signing in as `username`, unless disabled or deleted.
pub async fn user_by_name(
    pool: &PgPool,
    username: &str,
) -> anyhow::Result<Option<StoredCredential>> {
    let row = sqlx::query(
        "select id, role, advertiser_id, password_hash as hash, token_version from users
          where username = $1 and disabled_at is null and deleted_at is null",
    )
    .bind(username)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(credential).transpose()
}

/// The API key `id`, unless revoked.
pub async fn api_key(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<StoredCredential>> {
    let row = sqlx::query(
        "select id, role, advertiser_id, secret_hash as hash, 0 as token_version from api_keys
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

/// Creates a user with a hashed password, made by `created_by` (`None`: at setup).
pub async fn insert_user(
    db: impl sqlx::PgExecutor<'_>,
    username: &str,
    password_hash: &str,
    role: Role,
    advertiser: Option<AdvertiserId>,
    created_by: Option<Uuid>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into users (id, username, password_hash, role, advertiser_id, created_by)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(advertiser.map(|a| a.0))
    .bind(created_by)
    .execute(db)
    .await?;
    Ok(id)
}

/// A user whose tokens changed: the version they are issued at now, and whether the user may
/// hold none (disabled or deleted).
#[derive(Debug, sqlx::FromRow)]
pub struct TokenChange {
    pub user: Uuid,
    #[sqlx(try_from = "i32")]
    pub token_version: u32,
    pub barred: bool,
}

/// The users whose tokens changed at or after `since`.
pub async fn user_tokens_changed_since(
    pool: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<TokenChange>, sqlx::Error> {
    sqlx::query_as(
        "select id as user, token_version,
                (disabled_at is not null or deleted_at is not null) as barred
           from users where tokens_changed_at >= $1",
    )
    .bind(since)
    .fetch_all(pool)
    .await
}

/// A user about to be changed, locked until the transaction ends.
#[derive(Debug, sqlx::FromRow)]
pub struct LockedUser {
    pub id: Uuid,
    pub username: String,
    pub role: String,
    pub advertiser_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub disabled: bool,
}

/// Locks the user `id` unless deleted.
pub async fn lock_user(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<LockedUser>, sqlx::Error> {
    sqlx::query_as(
        "select id, username, role, advertiser_id, created_by, disabled_at is not null as disabled
           from users where id = $1 and deleted_at is null for update",
    )
    .bind(id)
    .fetch_optional(tx)
    .await
}

/// Locks every active admin but `except` (so two admins cannot remove each other at once and
/// leave none): how many there are.
pub async fn lock_other_active_admins(
    tx: &mut sqlx::PgConnection,
    except: Uuid,
) -> Result<usize, sqlx::Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from users
          where role = 'admin' and disabled_at is null and deleted_at is null and id <> $1
          order by id for update",
    )
    .bind(except)
    .fetch_all(tx)
    .await?;
    Ok(ids.len())
}

/// How a user changes; every change moves the user's token version on.
#[derive(Debug, Clone, Copy)]
pub enum UserChange<'a> {
    /// A new role (and the advertiser it binds to, for `advertiser`), and whether disabled.
    Standing {
        role: Role,
        advertiser: Option<AdvertiserId>,
        disabled: bool,
    },
    /// A new password hash.
    Password(&'a str),
    /// Deleted: kept for the audit trail, never signs in or shows again.
    Deleted,
}

/// Applies `change` to the locked user `id`: the user's new token version, and whether the
/// user is barred from every token now.
pub async fn change_user(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    change: UserChange<'_>,
) -> anyhow::Result<(u32, bool)> {
    const BUMP: &str = "token_version = token_version + 1, tokens_changed_at = now()";
    const RETURNING: &str =
        "returning token_version, (disabled_at is not null or deleted_at is not null)";
    let sql = match change {
        UserChange::Standing { .. } => format!(
            "update users set role = $2, advertiser_id = $3,
                    disabled_at = case when $4 then coalesce(disabled_at, now()) end, {BUMP}
              where id = $1 {RETURNING}"
        ),
        UserChange::Password(_) => {
            format!("update users set password_hash = $2, {BUMP} where id = $1 {RETURNING}")
        }
        UserChange::Deleted => {
            format!("update users set deleted_at = now(), {BUMP} where id = $1 {RETURNING}")
        }
    };
    let query = sqlx::query_as::<_, (i32, bool)>(&sql).bind(id);
    let query = match change {
        UserChange::Standing {
            role,
            advertiser,
            disabled,
        } => query
            .bind(role.as_str())
            .bind(advertiser.map(|a| a.0))
            .bind(disabled),
        UserChange::Password(hash) => query.bind(hash),
        UserChange::Deleted => query,
    };
    let (version, barred) = query.fetch_one(tx).await?;
    Ok((u32::try_from(version)?, barred))
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
