//! Campaigns: settings and their validation, the status machine, budget holds, storage,
//! the write paths and the routes.

pub mod feed_log;
pub mod hold_sync;
pub mod holds;
pub mod model;
pub mod service;
pub mod store;
pub mod validate;
