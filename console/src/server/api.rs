//! The admin API as the signed-in person: a token in, JSON or a problem out.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::campaign_form::FieldProblem;

/// How a call to the API failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFailure {
    /// The session is gone or was refused: sign in again.
    SignedOut,
    /// The API refused: its status and detail.
    Refused(u16, String),
    /// The API refused fields (422), each named by its path.
    Invalid(Vec<FieldProblem>),
    /// The advertiser's funds fall short of the request (409) by this much.
    ShortOfFunds(String),
    /// The API could not be reached or failed.
    Unavailable(String),
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiFailure::SignedOut => f.write_str("your session has ended; sign in again"),
            ApiFailure::Refused(status, detail) => write!(f, "refused ({status}): {detail}"),
            ApiFailure::Invalid(problems) => {
                write!(f, "{} field(s) need another look", problems.len())
            }
            ApiFailure::ShortOfFunds(shortfall) => {
                write!(f, "the funds fall short by {shortfall}")
            }
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
    send(base, token, Request::new(Method::POST, path).json(body)).await
}

/// A request to the API beyond a plain `GET`.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    method: Method,
    path: &'a str,
    body: Option<&'a Value>,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
}

impl<'a> Request<'a> {
    /// `method path`, without a body.
    pub fn new(method: Method, path: &'a str) -> Self {
        Request {
            method,
            path,
            body: None,
            content_type: "application/json",
            headers: Vec::new(),
        }
    }

    /// With this JSON body.
    pub fn json(mut self, body: &'a Value) -> Self {
        self.body = Some(body);
        self
    }

    /// With this JSON body as a merge patch (RFC 7386).
    pub fn merge_patch(mut self, body: &'a Value) -> Self {
        self.body = Some(body);
        self.content_type = "application/merge-patch+json";
        self
    }

    /// With this header as well.
    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// Sends `request` to the API, signed in with `token` when given.
pub async fn send<T: DeserializeOwned>(
    base: &str,
    token: Option<&str>,
    request: Request<'_>,
) -> Result<T, ApiFailure> {
    let mut builder = client().request(
        request.method,
        format!("{}{}", base.trim_end_matches('/'), request.path),
    );
    if let Some(body) = request.body {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            ApiFailure::Unavailable(format!("a body the console cannot write: {e}"))
        })?;
        builder = builder
            .header(reqwest::header::CONTENT_TYPE, request.content_type)
            .body(bytes);
    }
    for (name, value) in request.headers {
        builder = builder.header(name, value);
    }
    if let Some(token) = token {
        builder = builder.bearer_auth(token);
    }
    let response = builder.send().await.map_err(unavailable)?;
    read(response).await
}

async fn read<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ApiFailure> {
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(ApiFailure::SignedOut);
    }
    if !status.is_success() {
        let problem: Value = response.json().await.unwrap_or_default();
        return Err(failure(status.as_u16(), &problem));
    }
    if status == reqwest::StatusCode::NO_CONTENT {
        return serde_json::from_value(Value::Null)
            .map_err(|e| ApiFailure::Unavailable(format!("no answer where one was due: {e}")));
    }
    response
        .json()
        .await
        .map_err(|e| ApiFailure::Unavailable(format!("an answer the console cannot read: {e}")))
}

/// What a refusal's problem+json says: fields for a 422, the shortfall for funds, else its
/// detail.
fn failure(status: u16, problem: &Value) -> ApiFailure {
    let detail = problem["detail"].as_str().unwrap_or("refused").to_owned();
    if status >= 500 {
        return ApiFailure::Unavailable(detail);
    }
    if let Some(shortfall) = problem["shortfall"].as_str() {
        return ApiFailure::ShortOfFunds(shortfall.to_owned());
    }
    let fields: Vec<FieldProblem> = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| {
                    Some(FieldProblem::new(
                        e["field"].as_str()?,
                        e["message"].as_str()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    if status == 422 && !fields.is_empty() {
        return ApiFailure::Invalid(fields);
    }
    ApiFailure::Refused(status, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_problem_is_read_for_its_fields_or_its_shortfall() {
        let invalid = json!({"status": 422, "detail": "2 invalid", "errors": [
            {"field": "budget.daily", "message": "must be greater than zero"},
            {"field": "creatives[0].w", "message": "1 to 4096 pixels"},
        ]});
        assert_eq!(
            failure(422, &invalid),
            ApiFailure::Invalid(vec![
                FieldProblem::new("budget.daily", "must be greater than zero"),
                FieldProblem::new("creatives[0].w", "1 to 4096 pixels"),
            ])
        );
        let short = json!({"status": 409, "detail": "funds", "shortfall": "12.500000"});
        assert_eq!(
            failure(409, &short),
            ApiFailure::ShortOfFunds("12.500000".into())
        );
        let conflict = json!({"status": 409, "detail": "an archived campaign cannot be paused"});
        assert_eq!(
            failure(409, &conflict),
            ApiFailure::Refused(409, "an archived campaign cannot be paused".into())
        );
        assert!(matches!(
            failure(503, &conflict),
            ApiFailure::Unavailable(_)
        ));
    }
}
