//! The admin API over HTTP with a bearer token: JSON in and out, a problem+json answer turned
//! into a [`Failure`] naming each bad field, an unreachable or failing server into one line.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::failure::Failure;

/// How long a request may take before the API counts as unreachable.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A client of one API, as one principal.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    /// Print each request's method, path, idempotency key and request id on stderr.
    pub verbose: bool,
}

/// One request beyond its method and path.
#[derive(Debug, Default)]
pub struct Request<'a> {
    pub body: Option<&'a Value>,
    pub content_type: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub query: &'a [(&'a str, String)],
}

impl Client {
    /// A client of the API at `base` (`http://host:port`), signed in with `token` if given.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, Failure> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("adctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::Unavailable(format!("setting up HTTP: {e}")))?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
            verbose: false,
        })
    }

    /// The API's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path` with `query`.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, Failure> {
        self.send(
            Method::GET,
            path,
            Request {
                query,
                ..Request::default()
            },
        )
        .await
    }

    /// Every item of a paged list (`items`, `next_cursor`), page after page; at most `max`.
    pub async fn all_pages(
        &self,
        path: &str,
        query: &[(&str, String)],
        max: Option<usize>,
    ) -> Result<Vec<Value>, Failure> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut page_query: Vec<(&str, String)> = query.to_vec();
            let wanted = max.map_or(500, |m| (m - items.len()).clamp(1, 500));
            page_query.push(("limit", wanted.to_string()));
            if let Some(c) = &cursor {
                page_query.push(("cursor", c.clone()));
            }
            let page = self.get(path, &page_query).await?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            let full = max.is_some_and(|m| items.len() >= m);
            match page["next_cursor"].as_str() {
                Some(_) if full => return Ok(items),
                Some(next) if seen.insert(next.to_owned()) => cursor = Some(next.to_owned()),
                Some(next) => return Err(repeated_cursor(next)),
                None => return Ok(items),
            }
        }
    }

    /// `POST path` with a JSON body.
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> Result<Value, Failure> {
        self.send(
            Method::POST,
            path,
            Request {
                body: Some(body),
                idempotency_key: key,
                ..Request::default()
            },
        )
        .await
    }

    /// Sends a request and reads its answer: the JSON body (null when there is none).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        request: Request<'_>,
    ) -> Result<Value, Failure> {
        Ok(self.send_with_status(method, path, request).await?.1)
    }

    /// Sends a request and reads its answer: its status (a success) and its JSON body.
    pub async fn send_with_status(
        &self,
        method: Method,
        path: &str,
        request: Request<'_>,
    ) -> Result<(u16, Value), Failure> {
        let url = format!("{}{path}", self.base);
        let mut builder = self.http.request(method.clone(), &url).query(request.query);
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        if let Some(body) = request.body {
            builder = builder
                .header(
                    reqwest::header::CONTENT_TYPE,
                    request.content_type.unwrap_or("application/json"),
                )
                .body(body.to_string());
        }
        if let Some(key) = request.idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        let response = builder.send().await.map_err(|e| {
            Failure::Unavailable(format!(
                "cannot reach the API at {}: {}",
                self.base,
                cause(&e)
            ))
        })?;
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if self.verbose {
            let key = request
                .idempotency_key
                .map(|k| format!(" idempotency-key={k}"))
                .unwrap_or_default();
            eprintln!("{method} {path} -> {status} (request {request_id}){key}");
        }
        let text = response.text().await.map_err(|e| {
            Failure::Unavailable(format!("reading the API's answer: {}", cause(&e)))
        })?;
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        answer(status, body, &request_id, self.token.is_some()).map(|body| (status.as_u16(), body))
    }
}

/// The answer's body, or the failure it says.
fn answer(
    status: StatusCode,
    body: Value,
    request_id: &str,
    signed_in: bool,
) -> Result<Value, Failure> {
    if status.is_success() {
        return Ok(body);
    }
    let detail = body["detail"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    if status.is_server_error() {
        return Err(Failure::Unavailable(format!(
            "the API failed ({}): {detail} (request {request_id})",
            status.as_u16()
        )));
    }
    let detail = if status == StatusCode::UNAUTHORIZED && signed_in {
        format!("{detail}; log in again: adctl login")
    } else {
        detail
    };
    let fields = body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_owned(),
                        e["message"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Err(Failure::Refused {
        status: status.as_u16(),
        detail,
        fields,
        shortfall: body["shortfall"].as_str().map(str::to_owned),
    })
}

/// A list whose pages would never end: the API gave a cursor it had given before.
pub fn repeated_cursor(cursor: &str) -> Failure {
    Failure::Unavailable(format!(
        "the API gave the page cursor {cursor} twice; stopped rather than read forever"
    ))
}

/// What went wrong with an HTTP request, in a few words: the innermost cause (connection
/// refused, no such host), or that it timed out.
fn cause(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let mut innermost: &dyn std::error::Error = error;
    while let Some(inner) = innermost.source() {
        innermost = inner;
    }
    innermost.to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_problem_becomes_a_refusal_naming_its_fields() {
        let body = json!({"status": 422, "detail": "the request has 1 invalid field(s)",
                          "errors": [{"field": "currency", "message": "an ISO 4217 code"}]});
        let failure =
            answer(StatusCode::UNPROCESSABLE_ENTITY, body, "r1", true).expect_err("refused");
        assert!(
            failure.to_string().contains("currency: an ISO 4217 code"),
            "{failure}"
        );
        let server =
            answer(StatusCode::INTERNAL_SERVER_ERROR, json!({}), "r2", true).expect_err("5xx");
        assert!(matches!(server, Failure::Unavailable(_)));
        assert!(server.to_string().contains("request r2"));
        let expired = answer(
            StatusCode::UNAUTHORIZED,
            json!({"detail": "token expired"}),
            "r3",
            true,
        )
        .expect_err("401");
        assert!(expired.to_string().contains("adctl login"), "{expired}");
        let wrong = answer(
            StatusCode::UNAUTHORIZED,
            json!({"detail": "wrong credentials"}),
            "r4",
            false,
        )
        .expect_err("401");
        assert!(
            !wrong.to_string().contains("adctl login"),
            "signing in: {wrong}"
        );
    }
}
