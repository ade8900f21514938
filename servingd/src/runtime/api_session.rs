//! servingd signed in to the admin API with its service key: one HTTP client and a token renewed
//! a minute before it expires (or when the API refuses it).

use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    expires_in: i64,
}

/// A session with the API.
pub struct ApiSession {
    http: reqwest::Client,
    api_url: String,
    api_key: SecretString,
    token: Option<(String, tokio::time::Instant)>,
}

impl ApiSession {
    /// A session with the API at `api_url`, signing in with a service `api_key`; each request
    /// may take up to `timeout`.
    pub fn new(
        api_url: &str,
        api_key: SecretString,
        timeout: Duration,
    ) -> anyhow::Result<ApiSession> {
        Ok(ApiSession {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            api_url: api_url.trim_end_matches('/').to_owned(),
            api_key,
            token: None,
        })
    }

    /// The HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The URL of `path` (`/api/v1/...`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_url)
    }

    /// A token, signing in when there is none or it is about to expire.
    pub async fn token(&mut self) -> anyhow::Result<String> {
        if let Some((token, until)) = &self.token
            && tokio::time::Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let reply: TokenReply = self
            .http
            .post(self.url("/api/v1/auth/token"))
            .json(&serde_json::json!({
                "grant_type": "api_key",
                "api_key": self.api_key.expose_secret(),
            }))
            .send()
            .await
            .context("signing in to the API")?
            .error_for_status()
            .context("signing in to the API")?
            .json()
            .await?;
        // renew a minute early
        let ttl = Duration::from_secs(u64::try_from(reply.expires_in - 60).unwrap_or(0).max(1));
        self.token = Some((
            reply.access_token.clone(),
            tokio::time::Instant::now() + ttl,
        ));
        Ok(reply.access_token)
    }

    /// Drops the token (the API refused it): the next request signs in again.
    pub fn forget_token(&mut self) {
        self.token = None;
    }
}
