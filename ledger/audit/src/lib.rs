//! The signed audit trail: a hash chain over the ledger's transfers, the budget controller's log
//! and admin actions, checkpoints of its head signed with Vault transit, and a verifier.
//!
//! The pure core (`canonical`, `chain`, `checkpoint`, `digest`, `record`, `sources`, `verify`)
//! says what an audit record says, its canonical bytes, the hash chain over them, the checkpoint
//! message a signer signs, and the verifier that walks a chain and names the first row where
//! anything fails. No I/O there: [`AuditTrail`] (`trail`) runs it over PostgreSQL (the SQL of the
//! audit tables is in `store`) and Vault, [`witness`] keeps the signed checkpoints in a file
//! outside the database, and [`entries`] lists the trail for the API.
//!
//! A row's hash covers its position, the previous row's hash and the hash of its content:
//! altering a row changes its hash, deleting or reordering rows breaks a link or the positions,
//! and a checkpoint (size and head hash, signed) shows when rows past the end were cut off.

mod canonical;
mod chain;
mod checkpoint;
mod digest;
pub mod entries;
mod record;
mod sources;
mod store;
mod trail;
pub mod verifications;
mod verify;
pub mod witness;

pub use canonical::canonical_json;
pub use chain::{ChainHash, GENESIS, Head, Link, content_hash, link_hash};
pub use checkpoint::checkpoint_message;
pub use digest::{TransferText, transfers_digest};
pub use entries::{AuditEntry, AuditFilter, audit_entries};
pub use record::AuditRecord;
pub use sources::{PostedTransfers, budget_record, posted_record};
pub use trail::{
    AuditTrail, ChainStatus, CheckpointError, CheckpointRules, SignedCheckpoint, VerifiedHead,
};
pub use verify::{
    ChainFault, ChainSummary, ChainVerifier, CheckpointSeen, StoredRow, check_covered,
};
