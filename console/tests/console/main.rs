//! The console served on a loopback port against the real admin API (served from this test
//! process over a fresh database and the scripts' Redis): pages rendered on the server, the
//! sign-in and sign-out forms, the campaign forms and status actions, the session and CSRF cookies, the security headers.

mod binary;
mod campaign_forms;
mod helpers;
mod sign_in;

pub use ledger::MIGRATOR;
