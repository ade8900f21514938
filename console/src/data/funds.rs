//! The funds page's data: the acting advertiser's balance and a page of its cash statement.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Viewer;
#[cfg(feature = "ssr")]
use crate::data::{advertiser_scope, load_viewer, signed_in_get};
use crate::statement::StatementRow;
#[cfg(feature = "ssr")]
use crate::statement::{is_cursor, rows_of};

/// The advertiser's money: decimal text in its currency, as the API writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub currency: String,
    pub cash: String,
    pub available: String,
    pub held: String,
}

/// What the funds page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundsPage {
    pub viewer: Viewer,
    pub balance: Balance,
    pub lines: Vec<StatementRow>,
    /// The next page's cursor; `None` on the last page.
    pub next: Option<String>,
    /// Sent with a deposit or credit, so a form posted twice moves the money once.
    pub idempotency_key: String,
}

/// The funds page from the statement's `cursor` (its start without one).
#[server]
pub async fn load_funds(cursor: Option<String>) -> Result<FundsPage, ServerFnError> {
    let advertiser = advertiser_scope().await?;
    let viewer = load_viewer().await?;
    let balance: Balance = signed_in_get(&format!("/api/v1/advertisers/{advertiser}/balance"))
        .await?
        .ok_or_else(|| ServerFnError::new("no such advertiser"))?;
    let mut path = format!("/api/v1/advertisers/{advertiser}/statement?limit=50");
    if let Some(cursor) = cursor.filter(|c| is_cursor(c)) {
        path.push_str(&format!("&cursor={cursor}"));
    }
    let page: serde_json::Value = signed_in_get(&path).await?.unwrap_or_default();
    Ok(FundsPage {
        viewer,
        balance,
        lines: rows_of(&page),
        next: page["next"].as_str().map(str::to_owned),
        idempotency_key: crate::server::session::new_token(),
    })
}
