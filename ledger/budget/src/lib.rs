//! The budget controller: campaigns' budgets leased out of Redis in pieces, with PostgreSQL as
//! the source of truth, and how a serving instance spends the leases it holds. Amounts here are
//! integer micros (millionths, the ledger's scale), which Redis counters and process atomics can
//! hold exactly.
//!
//! # Layout
//!
//! - [`campaign`]: one campaign's budget in the controller: allocate, settle, renew, reap, rebuild.
//! - [`day_curve`]: the share of a day's traffic each hour brings, which pacing follows.
//! - [`redis_store`]: the same operations as Lua scripts over a campaign's Redis keys.
//! - [`wallet`]: one campaign's leases in a serving instance: the hot path and its refiller.
//! - [`sizing`]: the size of a lease grant, shrinking as a campaign's budget runs low.
//! - [`controller`]: leases budgets out of Redis with PostgreSQL as the source of truth: audit
//!   trail, reaper, rebuild and reconciliation.
//! - `store`: the SQL of `budget_leases` and `budget_log`, and the reads other crates call on
//!   them ([`leased`], [`log_entries`]).
//! - [`local_lease`]: a lease held in process, spent with atomics: no lock, no I/O.

pub mod campaign;
pub mod controller;
pub mod day_curve;
pub mod local_lease;
pub mod redis_store;
pub mod sizing;
pub(crate) mod store;
pub mod wallet;

pub use campaign::{
    Adjusted, Allocation, CampaignBudget, ClosedLease, Closure, LeaseError, LeaseRules, OpenLease,
    ServerId, Settlement, Want,
};
pub use controller::{BudgetController, CampaignDrift, ControllerError, Grant};
pub use local_lease::LocalLease;
pub use redis_store::{InstallClaim, Installed, Reaped, RedisBudgetStore, StoreError};
pub use sizing::{SizingInput, lease_size, share_may_bind};
pub use store::{LogEntry, leased, log_entries};
pub use wallet::{LeaseSource, Wallet, WalletRules};
