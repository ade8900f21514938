//! The advertisers a staff member may work as.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::AdvertiserSummary;
#[cfg(feature = "ssr")]
use crate::data::signed_in_get;

/// A page of advertisers, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvertiserPage {
    pub items: Vec<AdvertiserSummary>,
    /// The next page's cursor; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A page of the advertisers the signed-in person sees (staff: all of them), from `cursor`.
#[server]
pub async fn load_advertisers(cursor: Option<String>) -> Result<AdvertiserPage, ServerFnError> {
    let mut path = "/api/v1/advertisers?limit=100".to_owned();
    if let Some(cursor) =
        cursor.filter(|c| c.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        path.push_str(&format!("&cursor={cursor}"));
    }
    Ok(signed_in_get(&path).await?.unwrap_or(AdvertiserPage {
        items: Vec::new(),
        next_cursor: None,
    }))
}
