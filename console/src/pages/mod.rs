//! The console's pages.

pub mod activity;
pub mod advertisers;
pub mod campaign;
pub mod campaign_actions;
pub mod campaign_form;
pub mod campaign_performance;
pub mod campaigns;
pub mod csrf_field;
pub mod form_fields;
pub mod funds;
pub mod layout;
pub mod not_found;
pub mod overview;
pub mod sign_in;
pub mod team;
