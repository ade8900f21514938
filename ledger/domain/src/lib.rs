//! The platform's domain types, free of I/O, for every part and for the browser (this crate
//! builds for `wasm32-unknown-unknown`): exact money and its one rounding rule, currencies,
//! typed ids, the campaign status machine, campaigns and the feed.
//!
//! - [`money`]: `Money` and `Amount` (scale ≤ 6, `NUMERIC(20,6)`), parsing, `round_billing` and
//!   the CPM-to-impression bound.
//! - [`currency`]: ISO 4217 codes.
//! - [`ids`]: typed ids (accounts, transfers, advertisers, campaigns, leases); new ones with the
//!   `new-ids` feature (UUIDv7 reads the clock and a random source).
//! - [`campaign_status`]: where a campaign is in its life, and what may move it.
//! - [`campaign`]: a campaign's settings as written and as kept, and the campaign the API shows
//!   and the feed carries.
//! - [`feed`]: the campaign feed's pages, as the API sends them and servingd reads them.
//!
//! Features: `new-ids` (on by default), `openapi` (OpenAPI schemas through utoipa).

pub mod campaign;
pub mod campaign_status;
pub mod currency;
pub mod feed;
pub mod ids;
pub mod money;

pub use campaign_status::Status;
pub use currency::Currency;
pub use ids::{AccountId, AdvertiserId, CampaignId, LeaseId, TransferId};
pub use money::{Amount, Money, MoneyError, impression_micros_at_most, round_billing};
