//! The admin API as the signed-in person: a token in, JSON or a problem out.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// How a call to the API failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The session is gone or was refused: sign in again.
    SignedOut,
    /// The API refused: its status and detail.
    Refused(u16, String),
    /// The API could not be reached or failed.
    Unavailable(String),
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiFailure::SignedOut => f.write_str("your session has ended; sign in again"),
            ApiFailure::Refused(status, detail) => write!(f, "refused ({status}): {detail}"),
            // the cause (an internal address, a library's words) stays in the server's log
            ApiFailure::Unavailable(_) => {
                f.write_str("the platform is unavailable; try again in a moment")
            }
        }
    }
}

fn client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .unwrap_or_default()
        })
        .clone()
}

/// `GET base+path` as the holder of `token`.
pub async fn get<T: DeserializeOwned>(
    base: &str,
    token: &str,
    path: &str,
) -> Result<T, ApiFailure> {
    let response = client()
        .get(format!("{}{path}", base.trim_end_matches('/')))
        .bearer_auth(token)
        .send()
        .await
        .map_err(unavailable)?;
    read(response).await
}

/// The API could not be reached: said in the server's log, not to the visitor.
fn unavailable(error: reqwest::Error) -> ApiFailure {
    eprintln!("console: the admin API is unavailable: {error}");
    ApiFailure::Unavailable(error.to_string())
}

/// `POST base+path` with a JSON body, signed in with `token` when given.
pub async fn post<T: DeserializeOwned>(
    base: &str,
    token: Option<&str>,
    path: &str,
    body: &Value,
) -> Result<T, ApiFailure> {
    let mut request = client()
        .post(format!("{}{path}", base.trim_end_matches('/')))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(unavailable)?;
    read(response).await
}

async fn read<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ApiFailure> {
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(ApiFailure::SignedOut);
    }
    if !status.is_success() {
        let problem: Value = response.json().await.unwrap_or_default();
        let detail = problem["detail"].as_str().unwrap_or("refused").to_owned();
        return Err(if status.is_server_error() {
            ApiFailure::Unavailable(detail)
        } else {
            ApiFailure::Refused(status.as_u16(), detail)
        });
    }
    response
        .json()
        .await
        .map_err(|e| ApiFailure::Unavailable(format!("an answer the console cannot read: {e}")))
}
