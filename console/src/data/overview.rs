//! The overview's data: the acting advertiser's balance and its live campaigns' day.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::data::{advertiser_scope, signed_in_get};
use crate::overview::Overview;

/// The overview of the acting advertiser.
#[server]
pub async fn load_overview() -> Result<Overview, ServerFnError> {
    let advertiser = advertiser_scope().await?;
    let balance_path = format!("/api/v1/advertisers/{advertiser}/balance");
    let today_path =
        format!("/api/v1/reports/today?advertiser_id={advertiser}&status=active&limit=500");
    let (balance, today) = tokio::join!(
        signed_in_get::<serde_json::Value>(&balance_path),
        signed_in_get::<serde_json::Value>(&today_path),
    );
    Ok(crate::server::overview::build(
        &balance?.unwrap_or_default(),
        &today?.unwrap_or_default(),
    ))
}
