//! `audit_log`, `audit_head` and `audit_outbox`: what the chainer reads and writes, and the pages
//! the verifier walks.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use ledger::{Error, Result};

use crate::{AuditRecord, ChainHash, Head, Link, PostedTransfers, StoredRow};

/// The chain's head, locked until the transaction ends: the chainer holds it while it appends.
pub(crate) async fn lock_head(db: &mut PgConnection) -> Result<Option<Head>> {
    let row = sqlx::query("select size, head_hash from audit_head for update")
        .fetch_one(&mut *db)
        .await?;
    let size: i64 = row.try_get("size")?;
    if size == 0 {
        return Ok(None);
    }
    Ok(Some(Head {
        size: size as u64,
        hash: hash_of(&row.try_get::<Vec<u8>, _>("head_hash")?)?,
    }))
}

fn hash_of(bytes: &[u8]) -> Result<ChainHash> {
    ChainHash::from_slice(bytes)
        .ok_or_else(|| Error::Corrupt(format!("an audit hash of {} bytes", bytes.len())))
}

/// What the outbox holds, oldest first.
pub(crate) struct Outbox {
    pub ids: Vec<i64>,
    pub entries: Vec<OutboxEntry>,
}

pub(crate) enum OutboxEntry {
    Transfers(PostedTransfers),
    Budget(Vec<i64>),
    Record(Box<AuditRecord>),
}

/// Up to `limit` outbox rows, oldest first.
pub(crate) async fn outbox(db: &mut PgConnection, limit: i64) -> Result<Outbox> {
    let rows = sqlx::query(
        "select id, source, transfer_ids, digest, advertisers, posted_at, log_seqs, record
           from audit_outbox order by id limit $1",
    )
    .bind(limit)
    .fetch_all(&mut *db)
    .await?;
    let mut outbox = Outbox {
        ids: Vec::with_capacity(rows.len()),
        entries: Vec::with_capacity(rows.len()),
    };
    for row in rows {
        outbox.ids.push(row.try_get("id")?);
        let source: String = row.try_get("source")?;
        outbox.entries.push(match source.as_str() {
            "ledger_transfers" => {
                // the trigger lists an advertiser once per transfer: each once here
                let mut advertisers = row
                    .try_get::<Option<Vec<Uuid>>, _>("advertisers")?
                    .unwrap_or_default();
                advertisers.sort_unstable();
                advertisers.dedup();
                OutboxEntry::Transfers(PostedTransfers {
                    ids: row.try_get("transfer_ids")?,
                    digest: hash_of(&row.try_get::<Vec<u8>, _>("digest")?)?,
                    advertisers,
                    posted_at: row.try_get("posted_at")?,
                })
            }
            "budget_log" => OutboxEntry::Budget(row.try_get("log_seqs")?),
            _ => {
                let record: serde_json::Value = row.try_get("record")?;
                OutboxEntry::Record(Box::new(serde_json::from_value(record).map_err(|e| {
                    Error::Corrupt(format!("an audit record in the outbox: {e}"))
                })?))
            }
        });
    }
    Ok(outbox)
}

/// The ledger transfers a row covers (in digest order), and their advertisers.
pub(crate) struct Covers {
    pub ids: Vec<Uuid>,
    pub advertisers: Vec<Uuid>,
}

/// A row to append: its link, its record, and for a ledger statement's row what it covers.
pub(crate) struct NewRow {
    pub link: Link,
    pub record: AuditRecord,
    pub covers: Option<Covers>,
}

/// Ids as one comma-separated text (arrays of arrays of different lengths cannot be bound).
fn joined(ids: &[Uuid]) -> String {
    let mut out = String::with_capacity(ids.len() * 37);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&id.to_string());
    }
    out
}

/// Appends linked rows, moves the head to the last, and empties the outbox rows they came from.
pub(crate) async fn append(
    db: &mut PgConnection,
    rows: &[NewRow],
    outbox_ids: &[i64],
) -> Result<()> {
    if let Some(last) = rows.last().map(|r| r.link) {
        let positions: Vec<i64> = rows.iter().map(|r| r.link.position as i64).collect();
        let ats: Vec<DateTime<Utc>> = rows.iter().map(|r| r.record.at).collect();
        let actors: Vec<&str> = rows.iter().map(|r| r.record.actor.as_str()).collect();
        let roles: Vec<&str> = rows.iter().map(|r| r.record.role.as_str()).collect();
        let actions: Vec<&str> = rows.iter().map(|r| r.record.action.as_str()).collect();
        let objects: Vec<&str> = rows.iter().map(|r| r.record.object.as_str()).collect();
        let advertisers: Vec<Option<Uuid>> = rows.iter().map(|r| r.record.advertiser).collect();
        let requests: Vec<Option<&str>> = rows
            .iter()
            .map(|r| r.record.request_id.as_deref())
            .collect();
        let befores: Vec<Option<&serde_json::Value>> =
            rows.iter().map(|r| r.record.before.as_ref()).collect();
        let afters: Vec<Option<&serde_json::Value>> =
            rows.iter().map(|r| r.record.after.as_ref()).collect();
        let prevs: Vec<&[u8]> = rows.iter().map(|r| &r.link.prev.0[..]).collect();
        let hashes: Vec<&[u8]> = rows.iter().map(|r| &r.link.hash.0[..]).collect();
        let covered: Vec<Option<String>> = rows
            .iter()
            .map(|r| r.covers.as_ref().map(|c| joined(&c.ids)))
            .collect();
        let covered_advertisers: Vec<Option<String>> = rows
            .iter()
            .map(|r| r.covers.as_ref().map(|c| joined(&c.advertisers)))
            .collect();
        sqlx::query(
            r"insert into audit_log (position, at, actor, role, action, object, advertiser_id,
                                     request_id, before, after, prev_hash, hash, transfer_ids,
                                     advertisers)
              select p, t, ac, ro, an, ob, ad, rq, be, af, pr, ha,
                     string_to_array(ti, ',')::uuid[],
                     string_to_array(nullif(av, ''), ',')::uuid[]
                from unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[],
                            $5::text[], $6::text[], $7::uuid[], $8::text[], $9::jsonb[],
                            $10::jsonb[], $11::bytea[], $12::bytea[], $13::text[], $14::text[])
                     as u(p, t, ac, ro, an, ob, ad, rq, be, af, pr, ha, ti, av)",
        )
        .bind(&positions)
        .bind(&ats)
        .bind(&actors)
        .bind(&roles)
        .bind(&actions)
        .bind(&objects)
        .bind(&advertisers)
        .bind(&requests)
        .bind(&befores)
        .bind(&afters)
        .bind(&prevs)
        .bind(&hashes)
        .bind(&covered)
        .bind(&covered_advertisers)
        .execute(&mut *db)
        .await?;
        sqlx::query("update audit_head set size = $1, head_hash = $2")
            .bind(last.position as i64)
            .bind(&last.hash.0[..])
            .execute(&mut *db)
            .await?;
    }
    sqlx::query("delete from audit_outbox where id = any($1)")
        .bind(outbox_ids)
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// How many ledger transfers the audit trail covers: chained, or waiting in the outbox to be.
/// Rows chained before migration 0007 (`ledger.<kind>`, no `transfer_ids`) cover one each.
pub(crate) async fn covered_transfers(db: &mut PgConnection) -> Result<u64> {
    let covered: i64 = sqlx::query_scalar(
        r"select (select coalesce(sum(coalesce(cardinality(transfer_ids), 1)), 0)
                    from audit_log where action like 'ledger.%')::bigint
                 + (select coalesce(sum(cardinality(transfer_ids)), 0)
                      from audit_outbox where source = 'ledger_transfers')::bigint",
    )
    .fetch_one(&mut *db)
    .await?;
    Ok(covered as u64)
}

/// The hash of the row at `position`, if there is one.
pub(crate) async fn hash_at(db: &mut PgConnection, position: u64) -> Result<Option<ChainHash>> {
    let hash: Option<Vec<u8>> =
        sqlx::query_scalar("select hash from audit_log where position = $1")
            .bind(position as i64)
            .fetch_optional(&mut *db)
            .await?;
    hash.as_deref().map(hash_of).transpose()
}

/// A stored row, and the ledger transfers it covers (a ledger statement's row).
pub(crate) struct PageRow {
    pub row: StoredRow,
    pub transfer_ids: Option<Vec<Uuid>>,
}

/// Rows after `after` in position order, at most `limit`.
pub(crate) async fn page(db: &mut PgConnection, after: u64, limit: i64) -> Result<Vec<PageRow>> {
    let rows = sqlx::query(
        r"select position, at, actor, role, action, object, advertiser_id, request_id, before,
                 after, prev_hash, hash, transfer_ids
            from audit_log where position > $1 order by position limit $2",
    )
    .bind(after as i64)
    .bind(limit)
    .fetch_all(&mut *db)
    .await?;
    rows.iter()
        .map(|r| {
            let row = StoredRow {
                position: r.try_get::<i64, _>("position")? as u64,
                prev_hash: hash_of(&r.try_get::<Vec<u8>, _>("prev_hash")?)?,
                hash: hash_of(&r.try_get::<Vec<u8>, _>("hash")?)?,
                record: AuditRecord {
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    role: r.try_get("role")?,
                    action: r.try_get("action")?,
                    object: r.try_get("object")?,
                    advertiser: r.try_get("advertiser_id")?,
                    request_id: r.try_get("request_id")?,
                    before: r.try_get("before")?,
                    after: r.try_get("after")?,
                },
            };
            Ok(PageRow {
                row,
                transfer_ids: r.try_get("transfer_ids")?,
            })
        })
        .collect()
}

/// Puts admin actions' records in the outbox, in order, in the caller's transaction.
pub(crate) async fn enqueue_records(db: &mut PgConnection, records: &[AuditRecord]) -> Result<()> {
    let values = records
        .iter()
        .map(serde_json::to_value)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Corrupt(format!("an audit record does not serialize: {e}")))?;
    sqlx::query(
        "insert into audit_outbox (source, record)
         select 'record', r from unnest($1::jsonb[]) with ordinality as t(r, n) order by n",
    )
    .bind(values)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// The latest checkpoint asked for: its size and when.
pub(crate) async fn last_checkpoint(db: &mut PgConnection) -> Result<Option<(u64, DateTime<Utc>)>> {
    let row: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
        "select size, requested_at from audit_checkpoints order by size desc limit 1",
    )
    .fetch_optional(&mut *db)
    .await?;
    Ok(row.map(|(size, at)| (size as u64, at)))
}

/// Asks for a checkpoint of the chain at `size` rows ending in `head`.
pub(crate) async fn request_checkpoint(
    db: &mut PgConnection,
    size: u64,
    head: &ChainHash,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "insert into audit_checkpoints (size, head_hash, requested_at) values ($1, $2, $3)
         on conflict (size) do nothing",
    )
    .bind(size as i64)
    .bind(&head.0[..])
    .bind(at)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// A stored checkpoint.
pub(crate) struct StoredCheckpoint {
    pub size: u64,
    pub head: ChainHash,
    pub signature: Option<String>,
}

/// Checkpoints in size order: all of them, or only those not signed yet (at most `limit`).
pub(crate) async fn checkpoints(
    db: &mut PgConnection,
    unsigned_only: bool,
    limit: i64,
) -> Result<Vec<StoredCheckpoint>> {
    let rows: Vec<(i64, Vec<u8>, Option<String>)> = sqlx::query_as(
        "select size, head_hash, signature from audit_checkpoints
          where not $1 or signature is null order by size limit $2",
    )
    .bind(unsigned_only)
    .bind(limit)
    .fetch_all(&mut *db)
    .await?;
    rows.into_iter()
        .map(|(size, head, signature)| {
            Ok(StoredCheckpoint {
                size: size as u64,
                head: hash_of(&head)?,
                signature,
            })
        })
        .collect()
}

/// Records a checkpoint's signature (once: a signed checkpoint is left as it is).
pub(crate) async fn signed(
    db: &mut PgConnection,
    size: u64,
    signature: &str,
    key_version: u32,
) -> Result<()> {
    sqlx::query(
        "update audit_checkpoints set signature = $2, key_version = $3, signed_at = now()
          where size = $1 and signature is null",
    )
    .bind(size as i64)
    .bind(signature)
    .bind(key_version as i32)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// The chain's length and its latest signed checkpoint (size, when signed).
pub(crate) async fn chain_status(db: &PgPool) -> Result<(u64, Option<(u64, DateTime<Utc>)>)> {
    let (size, checkpoint_size, signed_at): (i64, Option<i64>, Option<DateTime<Utc>>) =
        sqlx::query_as(
            "select h.size, c.size, c.signed_at from audit_head h
               left join lateral (select size, signed_at from audit_checkpoints
                                   where signature is not null order by size desc limit 1) c on true",
        )
        .fetch_one(db)
        .await?;
    let checkpoint = checkpoint_size.zip(signed_at).map(|(s, at)| (s as u64, at));
    Ok((size as u64, checkpoint))
}
