//! The handlers, one module per resource: each reads the request, checks the caller's role,
//! calls the parts below, and answers. None of them writes SQL.

pub mod advertisers;
pub mod audit;
pub mod auth;
pub mod budget;
pub mod campaigns;
pub mod credentials;
pub mod feed;
pub mod fraud;
pub mod funding;
pub mod pacing;
pub mod partners;
pub mod refunds;
pub mod reports;
pub mod system;
pub mod today;
pub mod users;
