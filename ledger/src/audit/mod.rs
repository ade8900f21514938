//! The audit chain's pure core: what an audit record says, its canonical bytes, the hash chain
//! over them, the checkpoint message a signer signs, and the verifier that walks a chain and
//! names the first row where anything fails. No I/O here: the PostgreSQL log and the Vault
//! signer sit at the edges and call these.
//!
//! A row's hash covers its position, the previous row's hash and the hash of its content:
//! altering a row changes its hash, deleting or reordering rows breaks a link or the positions,
//! and a checkpoint (size and head hash, signed) shows when rows past the end were cut off.

mod canonical;
mod chain;
mod checkpoint;
mod digest;
mod record;
mod sources;
mod verify;

pub use canonical::canonical_json;
pub use chain::{ChainHash, GENESIS, Head, Link, content_hash, link_hash};
pub use checkpoint::checkpoint_message;
pub use digest::{TransferText, transfers_digest};
pub use record::AuditRecord;
pub use sources::{BudgetFacts, PostedTransfers, budget_record, posted_record};
pub use verify::{
    ChainFault, ChainSummary, ChainVerifier, CheckpointSeen, StoredRow, check_covered,
};
