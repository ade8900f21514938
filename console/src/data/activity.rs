//! The activity page's data: the acting advertiser's own audit entries, newest first.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::data::{advertiser_scope, signed_in_get};

/// An audit entry as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRow {
    pub at: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub object: String,
}

/// A page of entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub rows: Vec<ActivityRow>,
    /// The next (older) page's cursor.
    pub older: Option<String>,
}

/// A page of the acting advertiser's audit entries, from `cursor`.
#[server]
pub async fn load_activity(cursor: Option<String>) -> Result<Activity, ServerFnError> {
    use serde_json::Value;
    let advertiser = advertiser_scope().await?;
    let mut path = format!("/api/v1/audit?advertiser_id={advertiser}&limit=50");
    if let Some(c) =
        cursor.filter(|c| c.len() <= 40 && c.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        path.push_str(&format!("&cursor={c}"));
    }
    let page: Value = signed_in_get(&path).await?.unwrap_or_default();
    use crate::json_text::text;
    Ok(Activity {
        rows: page["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|e| ActivityRow {
                        at: text(&e["at"]),
                        actor: text(&e["actor"]),
                        role: text(&e["role"]),
                        action: text(&e["action"]),
                        object: text(&e["object"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        older: page["next_cursor"].as_str().map(str::to_owned),
    })
}
