//! `adctl`, the operators' command line: the platform through the admin API only (the API stays
//! the one place that checks roles, validates and audits).
//!
//! - [`cli`]: the command line and what each command runs; [`commands`]: one module per noun.
//! - [`context`]: the signed-in client, the output format, confirmations; [`session`]: signing
//!   in; [`profile`]: where the session is kept; [`client`]: the API over HTTP.
//! - [`output`]: tables, JSON and CSV; [`chart`]: sparklines in text; [`time`]: days and times given on the command line;
//!   [`failure`]: what went wrong and its exit code.
//! - [`top`]: `adctl top`, the live dashboard (ratatui).

pub mod chart;
pub mod cli;
pub mod client;
pub mod commands;
pub mod context;
pub mod failure;
pub mod output;
pub mod profile;
pub mod session;
pub mod time;
pub mod top;

pub use cli::{Cli, run};
pub use failure::Failure;
