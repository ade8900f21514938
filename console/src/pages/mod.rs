//! The console's pages.

pub mod campaign;
pub mod campaigns;
pub mod csrf_field;
pub mod not_found;
pub mod sign_in;
