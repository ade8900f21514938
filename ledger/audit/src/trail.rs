//! [`AuditTrail`]: the audit trail's operations: chaining what waits in the outbox, recording an admin action,
//! and walking the chain to verify it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ledger::{Clock, Error, Result, SystemClock};
use sqlx::PgPool;
use uuid::Uuid;
use vault::transit::{PublicKeys, TransitError, TransitSigner};

use crate::store::{self, Covers, NewRow, OutboxEntry};
use crate::witness::{CheckpointLog, WitnessedCheckpoint};
use crate::{
    AuditRecord, ChainFault, ChainHash, ChainSummary, ChainVerifier, CheckpointSeen, Link,
    budget_record, check_covered, checkpoint_message, posted_record,
};

/// When the chain's head is checkpointed: after `rows` more rows or `every`, whichever comes
/// first (and only when the chain grew).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointRules {
    pub rows: u64,
    pub every: Duration,
}

/// Why signing or verifying checkpoints failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Vault(#[from] TransitError),
    #[error(transparent)]
    Ledger(#[from] Error),
    /// The witness file could not be written or read.
    #[error("the checkpoint witness file: {0}")]
    Witness(#[from] std::io::Error),
}

/// Where a verification resumes: a chain of `rows` rows ending in `head`, verified before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedHead {
    pub rows: u64,
    pub head: ChainHash,
}

/// Checkpoints signed at a time.
const SIGN_BATCH: i64 = 100;

/// Rows the verifier reads at a time.
const VERIFY_PAGE: i64 = 1_000;

/// Ledger transfers the verifier reads back at a time.
const TRANSFERS_READ: usize = 10_000;

/// PostgreSQL keeps time to the microsecond: so does the hash.
fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// How far the chain has come: what an operator watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStatus {
    /// Rows in the chain.
    pub length: u64,
    /// The latest checkpoint Vault signed, if any.
    pub signed_checkpoint: Option<SignedCheckpoint>,
}

/// A signed checkpoint: the chain's first `size` rows, signed at `signed_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub signed_at: DateTime<Utc>,
}

/// The audit trail over a pool: what chains the outbox, records admin actions, checkpoints the
/// head and verifies the chain.
#[derive(Clone)]
pub struct AuditTrail {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    witness: Option<CheckpointLog>,
}

impl AuditTrail {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            clock: Arc::new(SystemClock),
            witness: None,
        }
    }

    /// The same trail appending every checkpoint it signs to `witness`, and holding the chain to
    /// the checkpoints there when it verifies.
    pub fn with_witness(mut self, witness: CheckpointLog) -> Self {
        self.witness = Some(witness);
        self
    }

    /// The same trail reading time from `clock` (when a checkpoint is due).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long the chain is and its latest signed checkpoint.
    pub async fn status(&self) -> Result<ChainStatus> {
        let (length, checkpoint) = store::chain_status(&self.pool).await?;
        Ok(ChainStatus {
            length,
            signed_checkpoint: checkpoint
                .map(|(size, signed_at)| SignedCheckpoint { size, signed_at }),
        })
    }

    /// Moves up to `max_entries` outbox entries (each a transaction's transfers or budget log
    /// entries, or one admin record) into the chain, in order, under the head's lock; returns
    /// how many rows it appended. Several may run at once: they take turns.
    pub async fn chain(&self, max_entries: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let head = store::lock_head(&mut tx).await?;
        let outbox = store::outbox(&mut tx, max_entries).await?;
        if outbox.ids.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let seqs: Vec<i64> = outbox
            .entries
            .iter()
            .filter_map(|entry| match entry {
                OutboxEntry::Budget(s) => Some(s),
                _ => None,
            })
            .flatten()
            .copied()
            .collect();
        let budget = budget::log_entries(&mut tx, &seqs).await?;
        let mut pending: Vec<(AuditRecord, Option<Covers>)> =
            Vec::with_capacity(outbox.entries.len());
        for entry in outbox.entries {
            match entry {
                OutboxEntry::Transfers(posted) => {
                    let record = posted_record(&posted);
                    let covers = Covers {
                        ids: posted.ids,
                        advertisers: posted.advertisers,
                    };
                    pending.push((record, Some(covers)));
                }
                OutboxEntry::Budget(seqs) => {
                    for seq in seqs {
                        let b = budget.get(&seq).ok_or_else(|| {
                            Error::Corrupt(format!("audit outbox names budget entry {seq}"))
                        })?;
                        pending.push((budget_record(b), None));
                    }
                }
                OutboxEntry::Record(record) => pending.push((*record, None)),
            }
        }
        let mut last = head;
        let mut rows = Vec::with_capacity(pending.len());
        for (mut record, covers) in pending {
            record.at = to_micros(record.at);
            let link = Link::next(last, &record);
            last = Some(link.head());
            rows.push(NewRow {
                link,
                record,
                covers,
            });
        }
        store::append(&mut tx, &rows, &outbox.ids).await?;
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Records an admin action in the caller's transaction: it is chained with the change it
    /// describes, or not at all.
    pub async fn record(&self, conn: &mut sqlx::PgConnection, record: &AuditRecord) -> Result<()> {
        self.record_all(conn, std::slice::from_ref(record)).await
    }

    /// Records several admin actions, in order, in the caller's transaction.
    pub async fn record_all(
        &self,
        conn: &mut sqlx::PgConnection,
        records: &[AuditRecord],
    ) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        store::enqueue_records(conn, records).await
    }

    /// Walks the whole chain in order, holding it to `checkpoints` (each with what the signer
    /// said of its signature): the summary, or the first row where anything fails.
    pub async fn verify(
        &self,
        checkpoints: Vec<CheckpointSeen>,
    ) -> Result<std::result::Result<ChainSummary, ChainFault>> {
        self.verify_from(None, checkpoints, &AtomicU64::new(0))
            .await
    }

    /// Walks the chain after `start` (from its first row when `None`), holding it to
    /// `checkpoints`, and every ledger transfer to the trail; `progress` says how many rows
    /// are verified as it goes. A resumed walk first checks that the row it resumes from still
    /// has the hash verified before.
    pub async fn verify_from(
        &self,
        start: Option<VerifiedHead>,
        checkpoints: Vec<CheckpointSeen>,
        progress: &AtomicU64,
    ) -> Result<std::result::Result<ChainSummary, ChainFault>> {
        // one snapshot for the walk and the count of what it covers
        let mut conn = self.pool.begin().await?;
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *conn)
            .await?;
        let mut verifier = match start {
            None => ChainVerifier::new(checkpoints),
            Some(start) => {
                if store::hash_at(&mut conn, start.rows).await? != Some(start.head) {
                    return Ok(Err(ChainFault::VerifiedHeadChanged { rows: start.rows }));
                }
                // the checkpoints before the start, walked before: their signatures, and the
                // chain's stored hashes at them (not the rows' content: only a full walk
                // hashes every row again)
                for c in checkpoints.iter().filter(|c| c.size <= start.rows) {
                    if !c.signature_valid {
                        return Ok(Err(ChainFault::BadSignature { size: c.size }));
                    }
                    if store::hash_at(&mut conn, c.size).await? != Some(c.head_hash) {
                        return Ok(Err(ChainFault::CheckpointMismatch {
                            size: c.size,
                            after: 0,
                        }));
                    }
                }
                ChainVerifier::resume(start.rows, start.head, checkpoints)
            }
        };
        let mut after = verifier.rows();
        progress.store(after, Ordering::Relaxed);
        loop {
            let page = store::page(&mut conn, after, VERIFY_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.row.position;
            let covered: Vec<Uuid> = page
                .iter()
                .filter_map(|r| r.transfer_ids.as_ref())
                .flatten()
                .copied()
                .collect();
            let mut ledger = std::collections::HashMap::with_capacity(covered.len());
            for chunk in covered.chunks(TRANSFERS_READ) {
                ledger.extend(ledger::reads::transfer_texts(&mut conn, chunk).await?);
            }
            for r in &page {
                if let Err(fault) = verifier.push(&r.row) {
                    return Ok(Err(fault));
                }
                if let Some(ids) = &r.transfer_ids {
                    let found: Vec<_> = ids.iter().map(|id| ledger.get(id).cloned()).collect();
                    if let Err(fault) = check_covered(r.row.position, &r.row.record, ids, &found) {
                        return Ok(Err(fault));
                    }
                }
            }
            progress.store(after, Ordering::Relaxed);
        }
        let summary = match verifier.finish() {
            Ok(summary) => summary,
            Err(fault) => return Ok(Err(fault)),
        };
        let ledger = ledger::reads::transfer_count(&mut conn).await?;
        let covered = store::covered_transfers(&mut conn).await?;
        conn.commit().await?;
        if ledger != covered {
            return Ok(Err(ChainFault::LedgerNotCovered {
                rows: summary.rows,
                ledger,
                covered,
            }));
        }
        Ok(Ok(summary))
    }

    /// Asks for a checkpoint of the chain's head when `rules` say one is due; returns its size.
    pub async fn request_checkpoint(&self, rules: CheckpointRules) -> Result<Option<u64>> {
        let mut tx = self.pool.begin().await?;
        let Some(head) = store::lock_head(&mut tx).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        let now = self.clock.now();
        let due = match store::last_checkpoint(&mut tx).await? {
            None => true,
            Some((size, at)) => {
                head.size > size
                    && (head.size - size >= rules.rows
                        || (now - at).to_std().unwrap_or_default() >= rules.every)
            }
        };
        if due {
            store::request_checkpoint(&mut tx, head.size, &head.hash, now).await?;
        }
        tx.commit().await?;
        Ok(due.then_some(head.size))
    }

    /// Signs the checkpoints waiting for a signature, in order, through Vault, and appends each
    /// to the witness file (synced) before the database says it is signed; returns how many.
    /// When Vault or the file fails, those signed so far stay signed and the rest wait for the
    /// next call.
    pub async fn sign_checkpoints(
        &self,
        signer: &TransitSigner,
    ) -> std::result::Result<usize, CheckpointError> {
        let mut conn = self.pool.acquire().await.map_err(Error::from)?;
        let waiting = store::checkpoints(&mut conn, true, SIGN_BATCH).await?;
        let mut signed = 0;
        for checkpoint in waiting {
            let signature = signer
                .sign(&checkpoint_message(checkpoint.size, &checkpoint.head))
                .await?;
            if let Some(witness) = &self.witness {
                witness.append(&WitnessedCheckpoint {
                    size: checkpoint.size,
                    head: checkpoint.head,
                    signature: signature.text.clone(),
                })?;
            }
            store::signed(
                &mut conn,
                checkpoint.size,
                &signature.text,
                signature.key_version,
            )
            .await?;
            signed += 1;
        }
        Ok(signed)
    }

    /// Walks the whole chain, holding it to every signed checkpoint, in the database and in the
    /// witness file, each signature checked here with the key's public halves (read once from
    /// Vault): the summary, or the first row where the chain or a signature fails.
    /// (Checkpoints not signed yet prove nothing and are left out.)
    pub async fn verify_signed(
        &self,
        signer: &TransitSigner,
    ) -> std::result::Result<std::result::Result<ChainSummary, ChainFault>, CheckpointError> {
        let public = signer.public_keys().await?;
        self.verify_signed_from(&public, None, &AtomicU64::new(0))
            .await
    }

    /// [`AuditTrail::verify_signed`] after `start` (a resumed walk; `None` walks it all), with
    /// the public keys at hand.
    pub async fn verify_signed_from(
        &self,
        public: &PublicKeys,
        start: Option<VerifiedHead>,
        progress: &AtomicU64,
    ) -> std::result::Result<std::result::Result<ChainSummary, ChainFault>, CheckpointError> {
        let seen = self.checkpoints_seen(public).await?;
        Ok(self.verify_from(start, seen, progress).await?)
    }

    /// Where a walk may resume at most `up_to` rows in: the latest checkpoint up to there whose
    /// signature verifies (from the database or the witness file). The walk then checks that
    /// the chain still ends in its signed head there, so it trusts nothing the database alone
    /// says.
    pub async fn resume_point(
        &self,
        public: &PublicKeys,
        up_to: u64,
    ) -> std::result::Result<Option<VerifiedHead>, CheckpointError> {
        Ok(self
            .checkpoints_seen(public)
            .await?
            .into_iter()
            .filter(|c| c.signature_valid && c.size <= up_to)
            .max_by_key(|c| c.size)
            .map(|c| VerifiedHead {
                rows: c.size,
                head: c.head_hash,
            }))
    }

    /// Every signed checkpoint, from the database and the witness file (a checkpoint in both
    /// once), with whether its signature verifies.
    async fn checkpoints_seen(
        &self,
        public: &PublicKeys,
    ) -> std::result::Result<Vec<CheckpointSeen>, CheckpointError> {
        let stored = {
            let mut conn = self.pool.acquire().await.map_err(Error::from)?;
            store::checkpoints(&mut conn, false, i64::MAX).await?
        };
        let mut signed: Vec<(u64, ChainHash, String)> = stored
            .into_iter()
            .filter_map(|c| Some((c.size, c.head, c.signature?)))
            .collect();
        if let Some(witness) = &self.witness {
            let witnessed = witness.read()?;
            if witnessed.is_empty() && !signed.is_empty() {
                // a lost file, or not the one the signer writes: the database alone would be
                // trusted without a word
                return Err(CheckpointError::Witness(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "{} holds no checkpoint, but the database has {} signed ones",
                        witness.path().display(),
                        signed.len()
                    ),
                )));
            }
            signed.extend(witnessed.into_iter().map(|c| (c.size, c.head, c.signature)));
        }
        signed.sort();
        signed.dedup();
        Ok(signed
            .into_iter()
            .map(|(size, head, signature)| CheckpointSeen {
                size,
                head_hash: head,
                signature_valid: public.verify(&checkpoint_message(size, &head), &signature),
            })
            .collect())
    }
}
