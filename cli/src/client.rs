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
        let mut pages = self.pages(path, query, max);
        let mut items = Vec::new();
        while let Some(page) = pages.next().await? {
            items.extend(page);
        }
        Ok(items)
    }

    /// The pages of a paged list, one at a time (a long list is never held whole); at most
    /// `max` items in all.
    pub fn pages<'a>(
        &'a self,
        path: &'a str,
        query: &[(&'a str, String)],
        max: Option<usize>,
    ) -> Pages<'a> {
        Pages {
            client: self,
            path,
            query: query.to_vec(),
            max,
            taken: 0,
            cursor: None,
            seen: std::collections::HashSet::new(),
            done: false,
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

/// The pages of a paged list ([`Client::pages`]).
pub struct Pages<'a> {
    client: &'a Client,
    path: &'a str,
    query: Vec<(&'a str, String)>,
    max: Option<usize>,
    taken: usize,
    cursor: Option<String>,
    seen: std::collections::HashSet<String>,
    done: bool,
}

impl Pages<'_> {
    /// The next page's items; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<Value>>, Failure> {
        if self.done {
            return Ok(None);
        }
        let mut query = self.query.clone();
        let wanted = self.max.map_or(500, |m| (m - self.taken).clamp(1, 500));
        query.push(("limit", wanted.to_string()));
        if let Some(c) = &self.cursor {
            query.push(("cursor", c.clone()));
        }
        let page = self.client.get(self.path, &query).await?;
        let mut items = page["items"].as_array().cloned().unwrap_or_default();
        if let Some(m) = self.max {
            items.truncate(m - self.taken);
        }
        self.taken += items.len();
        let full = self.max.is_some_and(|m| self.taken >= m);
        match page["next_cursor"].as_str() {
            Some(_) if full => self.done = true,
            Some(next) if self.seen.insert(next.to_owned()) => {
                self.cursor = Some(next.to_owned());
            }
            Some(next) => return Err(repeated_cursor(next)),
            None => self.done = true,
        }
        Ok(Some(items))
    }
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
