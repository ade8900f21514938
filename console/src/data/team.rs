//! The team page's data: the acting advertiser's users and API keys (and a key just created,
//! shown this once).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Viewer;
#[cfg(feature = "ssr")]
use crate::data::{advertiser_scope, load_viewer, signed_in_get};

/// A person who signs in for the advertiser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamUser {
    pub username: String,
    pub created_at: String,
}

/// An API key (its secret is never shown again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamKey {
    pub id: String,
    pub name: String,
    pub created_at: String,
    /// When it was revoked (empty while it works).
    pub revoked_at: String,
}

/// What the team page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub viewer: Viewer,
    /// `None` when the role may not see the team (billing).
    pub users: Option<Vec<TeamUser>>,
    pub keys: Vec<TeamKey>,
    /// A key created by the form just posted: its name and secret, shown once.
    pub new_key: Option<(String, String)>,
}

/// The acting advertiser's team.
#[server]
pub async fn load_team() -> Result<Team, ServerFnError> {
    use serde_json::Value;
    let advertiser = advertiser_scope().await?;
    let viewer = load_viewer().await?;
    use crate::json_text::text;
    let new_key = use_context::<crate::server::forms::NewApiKey>().map(|k| (k.name, k.secret));
    if !viewer.writes_campaigns() {
        return Ok(Team {
            viewer,
            users: None,
            keys: Vec::new(),
            new_key,
        });
    }
    let users_path = format!("/api/v1/advertisers/{advertiser}/users");
    let keys_path = format!("/api/v1/advertisers/{advertiser}/api-keys");
    let (users, keys) = tokio::join!(
        signed_in_get::<Value>(&users_path),
        signed_in_get::<Value>(&keys_path),
    );
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let (users, keys) = (users?.unwrap_or_default(), keys?.unwrap_or_default());
    Ok(Team {
        viewer,
        users: Some(
            list(users.get("items").unwrap_or(&users))
                .iter()
                .map(|u| TeamUser {
                    username: text(&u["username"]),
                    created_at: text(&u["created_at"]),
                })
                .collect(),
        ),
        keys: list(keys.get("items").unwrap_or(&keys))
            .iter()
            .map(|k| TeamKey {
                id: text(&k["id"]),
                name: text(&k["name"]),
                created_at: text(&k["created_at"]),
                revoked_at: text(&k["revoked_at"]),
            })
            .collect(),
        new_key,
    })
}
