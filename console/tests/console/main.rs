//! The console served on a loopback port against the real admin API (served from this test
//! process over a fresh database and the scripts' Redis): pages rendered on the server, every
//! form (sign-in, campaigns, status actions, funds, team), the session and CSRF cookies, the
//! security headers; and the advertiser's journey in a real chromium, with and without
//! JavaScript.

mod binary;
mod browser;
mod campaign_forms;
mod campaign_list;
mod helpers;
mod journeys;
mod performance;
mod sign_in;
mod staff;
mod team;

pub use ledger::MIGRATOR;
