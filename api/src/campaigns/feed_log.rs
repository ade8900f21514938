//! `feed_revision` and `campaign_changes`: the feed's clock and its log.

use sqlx::types::Json;
use sqlx::{PgConnection, Row};

use crate::feed::CHANNEL;
use domain::campaign::Campaign;

/// Takes the next revision. The row stays locked until the caller's transaction ends, so
/// revisions commit in order.
pub async fn next_revision(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "update feed_revision set revision = revision + 1 where singleton returning revision",
    )
    .fetch_one(conn)
    .await
}

/// Records the campaign as changed at its revision, and announces it on commit.
pub async fn record(conn: &mut PgConnection, campaign: &Campaign) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into campaign_changes (revision, campaign_id, campaign) values ($1, $2, $3)",
    )
    .bind(campaign.revision)
    .bind(campaign.id.0)
    .bind(Json(campaign))
    .execute(&mut *conn)
    .await?;
    sqlx::query("select pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(campaign.revision.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The latest committed revision.
pub async fn current(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select revision from feed_revision where singleton")
        .fetch_one(conn)
        .await
}

/// Up to `limit` changes after `since`, in revision order.
pub async fn changes_since(
    conn: &mut PgConnection,
    since: i64,
    limit: i64,
) -> anyhow::Result<Vec<(i64, Campaign)>> {
    let rows = sqlx::query(
        "select revision, campaign from campaign_changes where revision > $1 order by revision limit $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("revision")?,
                r.try_get::<Json<Campaign>, _>("campaign")?.0,
            ))
        })
        .collect()
}

/// The first page of a snapshot: the current revision and up to `limit` campaigns not
/// archived, in id order, read from one consistent snapshot.
pub async fn snapshot_start(db: &sqlx::PgPool, limit: i64) -> anyhow::Result<(i64, Vec<Campaign>)> {
    let mut tx = ledger::reads::snapshot(db).await?;
    let revision = current(&mut tx).await?;
    let campaigns = crate::campaigns::store::live_page(&mut tx, None, limit).await?;
    tx.commit().await?;
    Ok((revision, campaigns))
}
