//! One module per noun: its clap arguments and `run(ctx, args)`.

pub mod advertisers;
pub mod api_keys;
pub mod audit;
pub mod budget;
pub mod campaign_import;
pub mod campaigns;
pub mod completions;
pub mod fraud;
pub mod funds;
pub mod login;
pub mod pacing;
pub mod partners;
pub mod reports;
pub mod users;
