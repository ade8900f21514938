//! The console's pages.

pub mod campaigns;
pub mod not_found;
pub mod sign_in;
