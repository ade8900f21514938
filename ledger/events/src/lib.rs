//! Served events on their way to the bill: what a tracking endpoint appends to the event stream,
//! and the ledger writer that posts their spend exactly once.
//!
//! - [`event`]: [`ServedEvent`], its stream fields, and what it costs (the pure part).
//! - [`stream`]: the stream's shards and keys (one hash tag per shard, so Redis Cluster works).
//! - [`entry_seal`]: the HMAC each entry carries, so the writer bills only what servingd appended.
//! - [`writer`]: [`LedgerWriter`], the consumer group that posts spend and acknowledges after commit.
//! - [`writer_status`]: what a running writer says of itself (backlog, progress), as metrics
//!   and health.
//! - `billing`: the spend transfers a batch of events comes to (pure).
//! - `reply`: reading Redis's stream replies.
//! - `store`: the SQL of `ad_events`, `unbilled_events` and `event_dead_letters` for the writer.
//! - [`reads`]: the named queries other crates call on those tables (reports, the budget
//!   controller, the fraud scorer).

mod billing;
pub mod entry_seal;
pub mod event;
pub mod reads;
mod reply;
mod store;
pub mod stream;
pub mod writer;
pub mod writer_status;

pub use entry_seal::{EntryKeys, SealError, SharedEntryKeys};
pub use event::{Billing, DecodeError, EventKind, ServedEvent};
pub use stream::{Appended, EventStream, StreamShard};
pub use writer::{
    Duty, LedgerWriter, Progress, REDIS_RESPONSE_TIMEOUT, WriterError, WriterSettings,
};
pub use writer_status::WriterStatus;
