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
//! - [`audit`]: the audit chain's pure core: canonical records, the hash chain, its verifier.
//! - [`budget`]: the budget controller: campaigns' budgets leased out of Redis with PostgreSQL as
//!   the source of truth (sizing, allocate, settle, reap, rebuild, reconcile, its SQL), and the
//!   serving-side wallet.
//! - [`events`]: served events: the event stream, the ledger writer that bills them, their SQL.
//! - [`secrets`], [`transit`]: Vault's KV secrets and transit signatures.
//! - [`reads`]: the named queries other crates call on the tables this crate owns.
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
//! - `store`: the SQL of the ledger's own tables, one module per table family, and the audit
//!   trail's.
//! - `retry`: bounded retries of transactions on serialization failures and deadlocks.

pub mod account;
pub mod audit;
pub mod budget;
pub mod clock;
pub mod error;
pub mod events;
pub mod pending;
pub mod pending_state;
pub mod plan;
pub mod reads;
pub mod rejection;
mod retry;
pub mod secrets;
mod service;
pub mod statement;
mod store;
pub mod transfer;
pub mod transit;

/// The domain types, re-exported where the ledger's own code and its callers name them.
pub use domain::{currency, ids, money};

/// How long a call to Vault (secrets or transit) may take before the caller gives up: Vault away
/// must not hold anything up for long.
pub const VAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub use account::{Account, AccountKind, AccountOwner};
pub use clock::{Clock, ManualClock, SystemClock};
pub use currency::Currency;
pub use error::{Error, Result};
pub use ids::{AccountId, AdvertiserId, CampaignId, LeaseId, TransferId};
pub use money::{Amount, Money, MoneyError, impression_micros_at_most, round_billing};
pub use pending::{NewPending, PendingState, PendingTransfer, Resolve};
pub use plan::BatchMode;
pub use rejection::Rejection;
pub use service::{
    CheckpointError, CheckpointRules, Ledger, MAX_STATEMENT_PAGE, PostStatus, Posted, Reservation,
    Resolution,
};
pub use statement::{StatementCursor, StatementLine, StatementPage};
pub use transfer::{NewTransfer, References, Transfer, TransferKind};

/// The one schema history of the platform, applied by every binary and test.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
