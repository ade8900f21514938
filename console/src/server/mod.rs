//! The console's server parts (feature `ssr`): the sign-in and sign-out forms, the session
//! cookie, CSRF tokens, the security headers and the API client. [`crate::serve`] puts them
//! around the pages.

pub mod acting;
pub mod api;
pub mod campaign_input;
pub mod campaign_list;
pub mod forms;
pub mod funding;
pub mod headers;
pub mod overview;
pub mod performance;
pub mod session;
pub mod sign_in;
pub mod statement_csv;

/// Where the admin API is, for the pages' server functions.
#[derive(Debug, Clone)]
pub struct ApiBase(pub String);
