//! Walking a stored chain: [`ChainVerifier`] takes the rows in position order, one at a time (a
//! chain of millions never sits in memory), checks each against the one before and against
//! the signed checkpoints, and names the first row where anything fails.

use std::collections::VecDeque;

use uuid::Uuid;

use crate::chain::{ChainHash, GENESIS, content_hash, link_hash};
use crate::digest::{TransferText, transfers_digest};
use crate::record::AuditRecord;

/// A row as the log stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    pub position: u64,
    pub prev_hash: ChainHash,
    pub hash: ChainHash,
    pub record: AuditRecord,
}

/// A stored checkpoint, with what the signer said of its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointSeen {
    pub size: u64,
    pub head_hash: ChainHash,
    /// Whether the signature verified (over [`crate::checkpoint_message`]).
    pub signature_valid: bool,
}

/// Why the chain does not verify, at the first row where it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChainFault {
    /// The row at `position` is missing: the next row found has another position (rows deleted,
    /// or positions rewritten).
    #[error("row {position} is missing (found row {found} in its place)")]
    Gap { position: u64, found: u64 },
    /// The row does not link to the row before it (rows reordered or replaced).
    #[error("row {position} does not link to row {}", position - 1)]
    BrokenLink { position: u64 },
    /// The row's content, position or link is not what its hash covers (the row was altered).
    #[error("row {position} was altered: its hash does not cover its content")]
    ContentAltered { position: u64 },
    /// The chain at a checkpoint's size does not end in the signed head: some row after the
    /// previous good checkpoint was rewritten, with every hash after it.
    #[error(
        "the chain at {size} rows does not match its signed checkpoint (rewritten after row {after})"
    )]
    CheckpointMismatch { size: u64, after: u64 },
    /// A checkpoint's signature does not verify (forged, or signed by no key the signer knows).
    #[error("the checkpoint at {size} rows has an invalid signature")]
    BadSignature { size: u64 },
    /// A signed checkpoint covers rows the chain no longer has (its tail was cut off).
    #[error("the chain ends at row {rows}, but a signed checkpoint covers {size} rows")]
    Truncated { rows: u64, size: u64 },
    /// The ledger transfers the row covers are no longer what was chained: one was altered, or
    /// the row's list of them was.
    #[error("the ledger transfers of row {position} were altered after they were chained")]
    TransfersAltered { position: u64 },
    /// A ledger transfer the row covers is gone from the ledger.
    #[error("ledger transfer {transfer} of row {position} is missing from the ledger")]
    TransferMissing { position: u64, transfer: Uuid },
    /// The ledger holds another number of transfers than the chain (and the outbox waiting to
    /// be chained) covers: transfers were written past the audit trail, or removed.
    #[error(
        "the ledger holds {ledger} transfers, but the audit trail covers {covered} (chain of {rows} rows)"
    )]
    LedgerNotCovered {
        rows: u64,
        ledger: u64,
        covered: u64,
    },
    /// The row a verification resumed from no longer has the hash verified before: the chain
    /// was rewritten at or before it.
    #[error("row {rows} no longer has the hash verified before: the chain was rewritten up to it")]
    VerifiedHeadChanged { rows: u64 },
}

impl ChainFault {
    /// The first row the fault concerns.
    pub fn position(&self) -> u64 {
        match *self {
            ChainFault::Gap { position, .. }
            | ChainFault::BrokenLink { position }
            | ChainFault::ContentAltered { position }
            | ChainFault::TransfersAltered { position }
            | ChainFault::TransferMissing { position, .. } => position,
            ChainFault::CheckpointMismatch { after, .. } => after + 1,
            ChainFault::BadSignature { size } => size,
            ChainFault::Truncated { rows, .. } | ChainFault::LedgerNotCovered { rows, .. } => {
                rows + 1
            }
            ChainFault::VerifiedHeadChanged { rows } => rows,
        }
    }
}

/// Checks that the ledger transfers a row covers are still what was chained: `ids` is the
/// row's list of them, `found` what the ledger has under each (in the same order). The row's
/// own content (count and digest) must already have verified through the chain.
pub fn check_covered(
    position: u64,
    record: &AuditRecord,
    ids: &[Uuid],
    found: &[Option<TransferText>],
) -> Result<(), ChainFault> {
    let altered = ChainFault::TransfersAltered { position };
    let after = record.after.as_ref().ok_or(altered)?;
    let digest = after
        .get("digest")
        .and_then(|d| d.as_str())
        .and_then(ChainHash::from_hex)
        .ok_or(altered)?;
    let count = after.get("count").and_then(|c| c.as_u64()).ok_or(altered)?;
    if count != ids.len() as u64 || found.len() != ids.len() {
        return Err(altered);
    }
    let mut transfers = Vec::with_capacity(found.len());
    for (id, transfer) in ids.iter().zip(found) {
        match transfer {
            Some(t) if t.id == *id => transfers.push(t),
            _ => {
                return Err(ChainFault::TransferMissing {
                    position,
                    transfer: *id,
                });
            }
        }
    }
    if transfers_digest(transfers) != digest {
        return Err(altered);
    }
    Ok(())
}

/// What a verified chain came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainSummary {
    pub rows: u64,
    pub head: ChainHash,
    pub checkpoints: usize,
}

/// Verifies a chain row by row.
#[derive(Debug)]
pub struct ChainVerifier {
    rows: u64,
    head: ChainHash,
    /// Checkpoints not reached yet, smallest size first.
    ahead: VecDeque<CheckpointSeen>,
    /// The size of the last checkpoint that matched (0: none yet).
    last_good: u64,
    checked: usize,
}

impl ChainVerifier {
    /// A verifier that will hold the chain to `checkpoints` (in any order).
    pub fn new(mut checkpoints: Vec<CheckpointSeen>) -> Self {
        checkpoints.sort_by_key(|c| c.size);
        ChainVerifier {
            rows: 0,
            head: GENESIS,
            ahead: checkpoints.into(),
            last_good: 0,
            checked: 0,
        }
    }

    /// A verifier that goes on from a chain of `rows` rows ending in `head`, verified before
    /// (its checkpoints up to `rows` were held to it then, and are left out now).
    pub fn resume(rows: u64, head: ChainHash, checkpoints: Vec<CheckpointSeen>) -> Self {
        let ahead: Vec<CheckpointSeen> =
            checkpoints.into_iter().filter(|c| c.size > rows).collect();
        ChainVerifier {
            rows,
            head,
            last_good: rows,
            ..ChainVerifier::new(ahead)
        }
    }

    /// How many rows are verified so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Checks the next row (rows come in position order).
    pub fn push(&mut self, row: &StoredRow) -> Result<(), ChainFault> {
        let position = self.rows + 1;
        if row.position != position {
            return Err(ChainFault::Gap {
                position,
                found: row.position,
            });
        }
        if row.prev_hash != self.head {
            return Err(ChainFault::BrokenLink { position });
        }
        if link_hash(position, &row.prev_hash, &content_hash(&row.record)) != row.hash {
            return Err(ChainFault::ContentAltered { position });
        }
        self.rows = position;
        self.head = row.hash;
        while let Some(checkpoint) = self.ahead.front().copied() {
            if checkpoint.size > self.rows {
                break;
            }
            self.ahead.pop_front();
            self.check(&checkpoint)?;
        }
        Ok(())
    }

    fn check(&mut self, checkpoint: &CheckpointSeen) -> Result<(), ChainFault> {
        if !checkpoint.signature_valid {
            return Err(ChainFault::BadSignature {
                size: checkpoint.size,
            });
        }
        // a checkpoint of an empty chain, or one the walk reached exactly
        if checkpoint.size != self.rows || checkpoint.head_hash != self.head {
            return Err(ChainFault::CheckpointMismatch {
                size: checkpoint.size,
                after: self.last_good,
            });
        }
        self.last_good = checkpoint.size;
        self.checked += 1;
        Ok(())
    }

    /// Ends the walk: every checkpoint must have been reached.
    pub fn finish(mut self) -> Result<ChainSummary, ChainFault> {
        if let Some(checkpoint) = self.ahead.pop_front() {
            if !checkpoint.signature_valid {
                return Err(ChainFault::BadSignature {
                    size: checkpoint.size,
                });
            }
            return Err(ChainFault::Truncated {
                rows: self.rows,
                size: checkpoint.size,
            });
        }
        Ok(ChainSummary {
            rows: self.rows,
            head: self.head,
            checkpoints: self.checked,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Link;
    use crate::record::tests::record;

    /// A valid chain of `n` rows, and a signed checkpoint every `every` rows.
    fn chain(n: u64, every: u64) -> (Vec<StoredRow>, Vec<CheckpointSeen>) {
        let mut rows: Vec<StoredRow> = Vec::new();
        let mut checkpoints = Vec::new();
        let mut last: Option<Link> = None;
        for i in 1..=n {
            let record = record(i as i64);
            let link = Link::after(last.as_ref(), &record);
            rows.push(StoredRow {
                position: link.position,
                prev_hash: link.prev,
                hash: link.hash,
                record,
            });
            if i % every == 0 {
                checkpoints.push(CheckpointSeen {
                    size: i,
                    head_hash: link.hash,
                    signature_valid: true,
                });
            }
            last = Some(link);
        }
        (rows, checkpoints)
    }

    fn verify(
        rows: &[StoredRow],
        checkpoints: &[CheckpointSeen],
    ) -> Result<ChainSummary, ChainFault> {
        let mut verifier = ChainVerifier::new(checkpoints.to_vec());
        for row in rows {
            verifier.push(row)?;
        }
        verifier.finish()
    }

    #[test]
    fn an_intact_chain_verifies_with_all_its_checkpoints() {
        let (rows, checkpoints) = chain(100, 10);
        let summary = verify(&rows, &checkpoints).expect("intact");
        assert_eq!((summary.rows, summary.checkpoints), (100, 10));
        assert_eq!(summary.head, rows[99].hash);
        assert_eq!(verify(&[], &[]).expect("empty").rows, 0);
    }

    #[test]
    fn an_altered_row_is_named() {
        let (mut rows, checkpoints) = chain(50, 10);
        rows[36].record.actor.push('x');
        let fault = verify(&rows, &checkpoints).expect_err("altered");
        assert_eq!(fault, ChainFault::ContentAltered { position: 37 });
        assert_eq!(fault.position(), 37);
    }

    #[test]
    fn a_deleted_row_is_named() {
        let (mut rows, checkpoints) = chain(50, 10);
        rows.remove(19);
        assert_eq!(
            verify(&rows, &checkpoints),
            Err(ChainFault::Gap {
                position: 20,
                found: 21
            })
        );
    }

    #[test]
    fn two_reordered_rows_are_named_at_the_first() {
        let (mut rows, checkpoints) = chain(50, 10);
        // swapped places, positions rewritten to look consecutive
        rows.swap(11, 12);
        rows[11].position = 12;
        rows[12].position = 13;
        assert_eq!(
            verify(&rows, &checkpoints),
            Err(ChainFault::BrokenLink { position: 12 })
        );
    }

    #[test]
    fn a_cut_tail_is_caught_by_the_checkpoint_past_it() {
        let (mut rows, checkpoints) = chain(50, 10);
        rows.truncate(43);
        // rows 41 to 43 are fine; the checkpoint at 50 shows 44 to 50 are gone
        assert_eq!(
            verify(&rows, &checkpoints),
            Err(ChainFault::Truncated { rows: 43, size: 50 })
        );
        assert_eq!(verify(&rows, &checkpoints).expect_err("cut").position(), 44);
    }

    #[test]
    fn a_rewritten_tail_is_caught_by_the_signed_head() {
        let (mut rows, checkpoints) = chain(50, 10);
        // row 25 altered and every hash from it on recomputed: links hold, the head does not
        rows[24].record.action = "campaign.delete".into();
        for i in 24..rows.len() {
            let previous = (i > 0).then(|| Link {
                position: rows[i - 1].position,
                prev: rows[i - 1].prev_hash,
                hash: rows[i - 1].hash,
            });
            let link = Link::after(previous.as_ref(), &rows[i].record);
            rows[i].prev_hash = link.prev;
            rows[i].hash = link.hash;
        }
        let fault = verify(&rows, &checkpoints).expect_err("rewritten");
        assert_eq!(
            fault,
            ChainFault::CheckpointMismatch {
                size: 30,
                after: 20
            }
        );
        assert_eq!(fault.position(), 21);
    }

    proptest::proptest! {
        /// Whatever field of whatever row is altered, the walk stops at that row.
        #[test]
        fn any_alteration_is_named_at_its_row(n in 1u64..40, at in 0usize..40, field in 0u8..4) {
            let (mut rows, checkpoints) = chain(n, 7);
            let at = at % rows.len();
            let record = &mut rows[at].record;
            match field {
                0 => record.at += chrono::Duration::microseconds(1),
                1 => record.object.push('0'),
                2 => record.request_id = None,
                _ => record.after = Some(serde_json::json!({"status": "deleted"})),
            }
            let fault = verify(&rows, &checkpoints).expect_err("altered");
            proptest::prop_assert_eq!(fault, ChainFault::ContentAltered { position: at as u64 + 1 });
        }
    }

    #[test]
    fn a_forged_signature_fails_where_it_is_reached() {
        let (rows, mut checkpoints) = chain(50, 10);
        checkpoints[2].signature_valid = false;
        assert_eq!(
            verify(&rows, &checkpoints),
            Err(ChainFault::BadSignature { size: 30 })
        );
    }

    #[test]
    fn a_checkpoint_whose_head_is_another_rows_does_not_match() {
        let (rows, mut checkpoints) = chain(20, 10);
        checkpoints.push(CheckpointSeen {
            size: 15,
            head_hash: rows[13].hash,
            signature_valid: true,
        });
        assert_eq!(
            verify(&rows, &checkpoints),
            Err(ChainFault::CheckpointMismatch {
                size: 15,
                after: 10
            })
        );
    }

    #[test]
    fn a_resumed_walk_checks_only_what_follows_and_the_checkpoints_ahead() {
        let (rows, checkpoints) = chain(30, 10);
        let mut resumed = ChainVerifier::resume(10, rows[9].hash, checkpoints.clone());
        for row in &rows[10..] {
            resumed.push(row).expect("row");
        }
        let summary = resumed.finish().expect("verified");
        assert_eq!((summary.rows, summary.checkpoints), (30, 2), "20 and 30");

        let mut wrong_head = ChainVerifier::resume(10, rows[8].hash, checkpoints.clone());
        assert_eq!(
            wrong_head.push(&rows[10]),
            Err(ChainFault::BrokenLink { position: 11 })
        );
        let mut short = ChainVerifier::resume(10, rows[9].hash, checkpoints);
        for row in &rows[10..25] {
            short.push(row).expect("row");
        }
        assert_eq!(
            short.finish(),
            Err(ChainFault::Truncated { rows: 25, size: 30 })
        );
    }
}
