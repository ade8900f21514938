//! The platform's domain types, free of I/O, for every part and for the browser (this crate
//! builds for `wasm32-unknown-unknown`): exact money and its one rounding rule, currencies,
//! typed ids, and the campaign status machine.
//!
//! - [`money`]: `Money` and `Amount` (scale ≤ 6, `NUMERIC(20,6)`), parsing, `round_billing` and
//!   the CPM-to-impression bound.
//! - [`currency`]: ISO 4217 codes.
//! - [`ids`]: typed ids (accounts, transfers, advertisers, campaigns, leases); new ones with the
//!   `new-ids` feature (UUIDv7 reads the clock and a random source).
//! - [`campaign_status`]: where a campaign is in its life, and what may move it.
//!
//! Features: `new-ids` (on by default), `openapi` (OpenAPI schemas through utoipa).

pub mod campaign_status;
pub mod currency;
pub mod ids;
pub mod money;

pub use campaign_status::Status;
pub use currency::Currency;
pub use ids::{AccountId, AdvertiserId, CampaignId, LeaseId, TransferId};
pub use money::{Amount, Money, MoneyError, impression_micros_at_most, round_billing};
