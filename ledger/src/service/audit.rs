//! The audit trail's operations: chaining what waits in the outbox, recording an admin action,
//! and walking the chain to verify it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{
    AuditRecord, ChainFault, ChainSummary, ChainVerifier, CheckpointSeen, Link, budget_record,
    transfer_record,
};
use crate::error::{Error, Result};
use crate::service::Ledger;
use crate::store;
use crate::store::audit::OutboxEntry;

/// Rows the verifier reads at a time.
const VERIFY_PAGE: i64 = 5_000;

/// PostgreSQL keeps time to the microsecond: so does the hash.
fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

impl Ledger {
    /// Moves up to `max_entries` outbox entries (each a transaction's transfers or budget log
    /// entries, or one admin record) into the chain, in order, under the head's lock; returns
    /// how many rows it appended. Several may run at once: they take turns.
    pub async fn chain_audit(&self, max_entries: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let head = store::audit::lock_head(&mut tx).await?;
        let outbox = store::audit::outbox(&mut tx, max_entries).await?;
        if outbox.ids.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let mut transfer_ids: Vec<Uuid> = Vec::new();
        let mut seqs: Vec<i64> = Vec::new();
        for entry in &outbox.entries {
            match entry {
                OutboxEntry::Transfers(ids) => transfer_ids.extend(ids),
                OutboxEntry::Budget(s) => seqs.extend(s),
                OutboxEntry::Record(_) => {}
            }
        }
        let transfers = store::audit::transfers(&mut tx, &transfer_ids).await?;
        let budget = store::audit::budget_entries(&mut tx, &seqs).await?;
        let mut records = Vec::with_capacity(transfer_ids.len() + seqs.len());
        for entry in outbox.entries {
            match entry {
                OutboxEntry::Transfers(ids) => {
                    for id in ids {
                        let t = transfers.get(&id).ok_or_else(|| {
                            Error::Corrupt(format!("audit outbox names transfer {id}, not found"))
                        })?;
                        records.push(transfer_record(t));
                    }
                }
                OutboxEntry::Budget(seqs) => {
                    for seq in seqs {
                        let b = budget.get(&seq).ok_or_else(|| {
                            Error::Corrupt(format!("audit outbox names budget entry {seq}"))
                        })?;
                        records.push(budget_record(b));
                    }
                }
                OutboxEntry::Record(record) => records.push(*record),
            }
        }
        let mut last = head;
        let mut rows = Vec::with_capacity(records.len());
        for mut record in records {
            record.at = to_micros(record.at);
            let link = Link::after(last.as_ref(), &record);
            last = Some(link);
            rows.push((link, record));
        }
        store::audit::append(&mut tx, &rows, &outbox.ids).await?;
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Records an admin action in the caller's transaction: it is chained with the change it
    /// describes, or not at all.
    pub async fn record_audit(
        &self,
        conn: &mut sqlx::PgConnection,
        record: &AuditRecord,
    ) -> Result<()> {
        store::audit::enqueue_record(conn, record).await
    }

    /// Walks the whole chain in order, holding it to `checkpoints` (each with what the signer
    /// said of its signature): the summary, or the first row where anything fails.
    pub async fn verify_audit(
        &self,
        checkpoints: Vec<CheckpointSeen>,
    ) -> Result<std::result::Result<ChainSummary, ChainFault>> {
        let mut verifier = ChainVerifier::new(checkpoints);
        let mut conn = self.pool.acquire().await?;
        let mut after = 0;
        loop {
            let page = store::audit::page(&mut conn, after, VERIFY_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            for row in &page {
                if let Err(fault) = verifier.push(row) {
                    return Ok(Err(fault));
                }
            }
        }
        Ok(verifier.finish())
    }
}
