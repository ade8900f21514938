//! Signing in to the API (a password or an API key for a token), and reading a secret from
//! standard input.

use std::io::BufRead;

use chrono::Utc;
use serde_json::json;

use crate::client::Client;
use crate::failure::Failure;
use crate::profile::Profile;

/// What a sign-in presents.
pub enum Grant {
    Password { username: String, password: String },
    ApiKey(String),
}

/// Signs in with `grant`: the profile it makes (not saved).
pub async fn sign_in(client: &Client, grant: &Grant) -> Result<Profile, Failure> {
    let (body, who, api_key) = match grant {
        Grant::Password { username, password } => (
            json!({"grant_type": "password", "username": username, "password": password}),
            username.clone(),
            None,
        ),
        Grant::ApiKey(key) => (
            json!({"grant_type": "api_key", "api_key": key}),
            "api key".to_owned(),
            Some(key.clone()),
        ),
    };
    let answer = client.post("/api/v1/auth/token", &body, None).await?;
    let token = answer["access_token"]
        .as_str()
        .ok_or_else(|| Failure::Unavailable("the API answered without a token".into()))?;
    // a year at most: a longer life would be a server's mistake, and beyond chrono's range a panic
    let lasts = answer["expires_in"]
        .as_i64()
        .filter(|s| *s > 0)
        .ok_or_else(|| Failure::Unavailable("the API answered without expires_in".into()))?
        .min(365 * 24 * 3600);
    Ok(Profile {
        url: client.base().to_owned(),
        who: format!("{who} ({})", answer["role"].as_str().unwrap_or("?")),
        token: token.to_owned(),
        expires_at: Utc::now() + chrono::Duration::seconds(lasts),
        api_key,
    })
}

/// One line of standard input, without its line break.
pub fn read_line(what: &str) -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("reading {what}: {e}")))?;
    let line = line.trim_end_matches(['\n', '\r']).to_owned();
    if line.is_empty() {
        return Err(Failure::usage(format!("{what} on standard input is empty")));
    }
    Ok(line)
}
