//! One module per noun: its clap arguments and `run(ctx, args)`.

pub mod advertisers;
pub mod api_keys;
pub mod campaigns;
pub mod funds;
pub mod login;
pub mod users;
