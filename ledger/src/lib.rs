//! The platform's ledger: exact money, double-entry accounts and transfers in PostgreSQL.
//!
//! PostgreSQL is the source of truth for money. Every movement is a transfer between two accounts
//! of the same currency; the sum over all accounts is always zero; no account goes below its
//! floor; a campaign never spends more than was held for it. The schema enforces each of these on
//! its own (constraints and triggers in `migrations/`), and the Rust core checks them first so a
//! caller gets a precise [`Rejection`] instead of a database error.
//!
//! # Layout
//!
//! The budget controller (`budget`), served events and their writer (`events`) and the audit trail
//! (`audit`) are crates of their own beside this one, in `ledger/`; each calls this crate's
//! operations and its named reads rather than reading the ledger's tables itself.
//!
//! - [`reads`]: the named queries other crates call on the tables this crate owns (a campaign's
//!   spend and budget, spend by lease, an advertiser's balance, transfers as text for the audit
//!   trail's verifier).
//! - [`money`], [`currency`], [`ids`]: the domain crate's exact money, ISO 4217 codes and typed
//!   ids, re-exported.
//! - [`clock`]: where the time comes from (a manual clock in tests).
//! - [`account`]: account kinds, owners and floor rules.
//! - [`transfer`]: transfer kinds, allowed shapes, requests and recorded transfers.
//! - [`pending`], [`pending_state`]: two-phase transfers, how a resolution is decided, and
//!   where one stands.
//! - [`plan`]: the pure core that decides a batch against locked balances.
//! - [`rejection`]: the closed set of refusals.
//! - [`statement`]: statement lines, pages and cursors.
//! - `service`: [`Ledger`], the operations over a pool (load and lock, decide, write).
//! - `store`: the SQL of the ledger's own tables, one module per table family.
//! - `fixtures` (feature `fixtures`): funded advertisers and whole-ledger invariant checks for
//!   the tests and benchmarks of this crate and the crates beside it.
//! - `retry`: bounded retries of transactions on serialization failures and deadlocks.
//! - [`schema`]: whether a database has every migration this build knows (services check at
//!   start; `api migrate` applies them).

pub mod account;
pub mod clock;
pub mod error;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod pending;
pub mod pending_state;
pub mod plan;
pub mod reads;
pub mod rejection;
mod retry;
pub mod schema;
mod service;
pub mod statement;
mod store;
pub mod transfer;

/// The domain types, re-exported where the ledger's own code and its callers name them.
pub use domain::{currency, ids, money};

pub use account::{Account, AccountKind, AccountOwner};
pub use clock::{Clock, ManualClock, MonotonicClock, ShiftedClock, SystemClock};
pub use currency::Currency;
pub use error::{Error, Result};
pub use ids::{AccountId, AdvertiserId, CampaignId, LeaseId, TransferId};
pub use money::{Amount, Money, MoneyError, impression_micros_at_most, round_billing};
pub use pending::{NewPending, PendingState, PendingTransfer, Resolve};
pub use plan::BatchMode;
pub use rejection::Rejection;
pub use service::{Ledger, MAX_STATEMENT_PAGE, PostStatus, Posted, Reservation, Resolution};
pub use statement::{StatementCursor, StatementLine, StatementPage};
pub use transfer::{NewTransfer, References, Transfer, TransferKind};

/// The one schema history of the platform, applied by `api migrate` and by the tests (services
/// only check it: [`schema::require_current`]).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
