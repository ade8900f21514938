//! `adctl` as operators run it: the real binary against the real admin API (served from this
//! test process over a fresh database and the scripts' Redis), its output parsed.

mod campaigns;
mod credentials;
mod funds;
mod help;
mod helpers;
mod login;
mod operations;
mod oversight;
mod top;

pub use ledger::MIGRATOR;
