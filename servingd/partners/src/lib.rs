//! Supply partners: the exchanges allowed to ask servingd for ads.
//!
//! - [`partner`]: a partner and the rules an event of an ad it sold is held to (where its
//!   billing URLs may be fetched from, its currency, its price ceiling);
//! - [`credential`]: the secret a partner presents, of which only a hash is kept;
//! - [`directory`]: the partners servingd knows, by credential hash and by id;
//! - [`store`]: the `supply_partners` table, and reloading the directory when it changed.

pub mod credential;
pub mod directory;
pub mod partner;
pub mod store;

pub use credential::Credential;
pub use directory::Directory;
pub use partner::{EventRefusal, Partner, PartnerStatus};
