//! Verifications of the chain as jobs (`audit_verifications`): one runs at a time; each records
//! where it started, how far it got and what it found, so a caller follows it with a poll
//! instead of holding a request open for a walk of millions of rows, and the next one resumes
//! from the head an intact one reached.

use chrono::{DateTime, Utc};
use ledger::{Error, Result};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::chain::ChainHash;
use crate::trail::VerifiedHead;
use crate::verify::{ChainFault, ChainSummary};

/// A job whose heartbeat is older than this is taken for dead.
const ABANDONED_AFTER_S: i64 = 60;

/// A verification as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    pub id: Uuid,
    /// A walk from the first row (else resumed after `from_rows`).
    pub full_walk: bool,
    pub requested_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `intact`, `broken`, `failed` (could not finish: Vault or the database away)
    /// or `abandoned` (its process ended).
    pub status: String,
    /// Rows verified before this walk began (0 for a full walk).
    pub from_rows: u64,
    /// Rows verified so far (all of them once intact).
    pub rows_checked: u64,
    /// The chain's last hash, hex (once intact).
    pub head_hash: Option<String>,
    /// Signed checkpoints held to the chain by this walk.
    pub checkpoints: Option<u32>,
    /// Whether signatures were checked (false without Vault: the chain alone was).
    pub signatures_checked: bool,
    /// The first row where it fails (once broken), and why.
    pub fault_position: Option<u64>,
    pub fault: Option<String>,
}

/// What starting a verification came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    /// Started: the last intact head (the walk may resume from a checkpoint up to it), unless a
    /// full walk was asked for or none was intact yet.
    Started { last_intact: Option<VerifiedHead> },
    /// Another verification is running.
    Busy(Uuid),
}

/// Starts verification `id` unless one runs (one that stopped beating is set abandoned first).
pub async fn start(
    pool: &PgPool,
    id: Uuid,
    full_walk: bool,
    requested_by: &str,
    signatures_checked: bool,
    now: DateTime<Utc>,
) -> Result<Started> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "update audit_verifications set status = 'abandoned', finished_at = $1
          where status = 'running' and heartbeat_at < $1 - make_interval(secs => $2)",
    )
    .bind(now)
    .bind(ABANDONED_AFTER_S as f64)
    .execute(&mut *tx)
    .await?;
    let running: Option<Uuid> =
        sqlx::query_scalar("select id from audit_verifications where status = 'running'")
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(running) = running {
        return Ok(Started::Busy(running));
    }
    let last: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "select head_rows, head_hash from audit_verifications
          where status = 'intact' order by head_rows desc limit 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let last_intact = match last {
        Some((rows, hash)) if !full_walk => Some(VerifiedHead {
            rows: rows as u64,
            head: ChainHash::from_slice(&hash)
                .ok_or_else(|| Error::Corrupt("a verified head hash".into()))?,
        }),
        _ => None,
    };
    let inserted = sqlx::query(
        "insert into audit_verifications
             (id, full_walk, requested_by, started_at, heartbeat_at, status, from_rows,
              signatures_checked)
         values ($1, $2, $3, $4, $4, 'running', 0, $5)",
    )
    .bind(id)
    .bind(full_walk)
    .bind(requested_by)
    .bind(now)
    .bind(signatures_checked)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        // another instance started one between our look and our insert
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Ok(Started::Busy(Uuid::nil()));
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(Started::Started { last_intact })
}

/// Where the running verification `id` began (the rows verified before it).
pub async fn resumed_from(pool: &PgPool, id: Uuid, rows: u64) -> Result<()> {
    sqlx::query("update audit_verifications set from_rows = $2, rows_checked = $2 where id = $1")
        .bind(id)
        .bind(rows as i64)
        .execute(pool)
        .await?;
    Ok(())
}

/// How far the running verification `id` got, at `now`.
pub async fn heartbeat(
    pool: &PgPool,
    id: Uuid,
    rows_checked: u64,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "update audit_verifications set rows_checked = greatest(rows_checked, $2), heartbeat_at = $3
          where id = $1 and status = 'running'",
    )
    .bind(id)
    .bind(rows_checked as i64)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// What verification `id` found: the summary or the first fault; `Err` with a reason when it
/// could not finish.
pub async fn finish(
    pool: &PgPool,
    id: Uuid,
    outcome: std::result::Result<std::result::Result<ChainSummary, ChainFault>, String>,
    now: DateTime<Utc>,
) -> Result<()> {
    let query = sqlx::query(
        "update audit_verifications
            set status = $2, finished_at = $3, heartbeat_at = $3,
                rows_checked = coalesce($4, rows_checked), head_rows = $4, head_hash = $5,
                checkpoints = $6, fault_position = $7, fault = $8
          where id = $1 and status = 'running'",
    )
    .bind(id);
    let query = match outcome {
        Ok(Ok(summary)) => query
            .bind("intact")
            .bind(now)
            .bind(Some(summary.rows as i64))
            .bind(Some(summary.head.0.to_vec()))
            .bind(Some(summary.checkpoints as i32))
            .bind(None::<i64>)
            .bind(None::<String>),
        Ok(Err(fault)) => query
            .bind("broken")
            .bind(now)
            .bind(None::<i64>)
            .bind(None::<Vec<u8>>)
            .bind(None::<i32>)
            .bind(Some(fault.position() as i64))
            .bind(Some(fault.to_string())),
        Err(reason) => query
            .bind("failed")
            .bind(now)
            .bind(None::<i64>)
            .bind(None::<Vec<u8>>)
            .bind(None::<i32>)
            .bind(None::<i64>)
            .bind(Some(reason)),
    };
    query.execute(pool).await?;
    Ok(())
}

/// Verification `id`.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Verification>> {
    let row = sqlx::query(
        "select id, full_walk, requested_by, started_at, finished_at, status, from_rows,
                rows_checked, head_hash, checkpoints, signatures_checked, fault_position, fault
           from audit_verifications where id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Verification {
        id: r.try_get("id")?,
        full_walk: r.try_get("full_walk")?,
        requested_by: r.try_get("requested_by")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        status: r.try_get("status")?,
        from_rows: r.try_get::<i64, _>("from_rows")? as u64,
        rows_checked: r.try_get::<i64, _>("rows_checked")? as u64,
        head_hash: r
            .try_get::<Option<Vec<u8>>, _>("head_hash")?
            .and_then(|h| ChainHash::from_slice(&h))
            .map(|h| h.to_hex()),
        checkpoints: r
            .try_get::<Option<i32>, _>("checkpoints")?
            .map(|c| c as u32),
        signatures_checked: r.try_get("signatures_checked")?,
        fault_position: r
            .try_get::<Option<i64>, _>("fault_position")?
            .map(|p| p as u64),
        fault: r.try_get("fault")?,
    }))
}
