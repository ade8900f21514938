//! Reading a small table again only when it changed: a one-row revision table, bumped by a
//! trigger on every change of the table, is compared with the revision held; when it moved, the
//! rows and the revision they make are read in one read-only snapshot.

use sqlx::postgres::{PgPool, PgRow};

/// The revision from `revision_sql` and the rows from `rows_sql`, read in one snapshot, when the
/// revision is not `held`; `None` when it is.
pub async fn read_if_revised<T>(
    db: &PgPool,
    revision_sql: &str,
    held: i64,
    rows_sql: &str,
) -> sqlx::Result<Option<(i64, Vec<T>)>>
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    let revision: i64 = sqlx::query_scalar(revision_sql).fetch_one(db).await?;
    if revision == held {
        return Ok(None);
    }
    let mut tx = db.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let revision: i64 = sqlx::query_scalar(revision_sql).fetch_one(&mut *tx).await?;
    let rows: Vec<T> = sqlx::query_as(rows_sql).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(Some((revision, rows)))
}
