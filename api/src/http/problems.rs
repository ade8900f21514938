//! Every error response is problem+json and names its request id: handler errors already are
//! problems (the id is added here); errors produced outside handlers (timeouts, framework
//! rejections) are turned into problems from their status.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, PROBLEM_JSON, Problem, problem_response};

/// Largest error body rewritten; problems are far smaller.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

/// The middleware.
pub async fn problems(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    let (parts, body) = response.into_parts();
    let mut problem = match is_problem {
        true => match to_bytes(body, MAX_PROBLEM_BYTES).await {
            Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes).ok(),
            Err(_) => None,
        },
        false => None,
    }
    .unwrap_or_else(|| serde_json::to_value(from_status(status)).unwrap_or_default());
    if let (Some(id), Some(object)) = (request_id, problem.as_object_mut()) {
        object.insert("request_id".into(), id.into());
    }
    let mut rebuilt = Response::from_parts(parts, Body::from(problem.to_string()));
    rebuilt
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    rebuilt.headers_mut().remove(header::CONTENT_LENGTH);
    rebuilt
}

/// A problem for a status produced outside the handlers.
fn from_status(status: StatusCode) -> Problem {
    let detail = match status {
        StatusCode::REQUEST_TIMEOUT => "the request took longer than the server allows",
        StatusCode::PAYLOAD_TOO_LARGE => "the body is larger than the limit",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "the body must be JSON",
        StatusCode::NOT_FOUND => "no such resource",
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed here",
        _ => status.canonical_reason().unwrap_or("error"),
    };
    Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail: detail.into(),
        request_id: None,
        errors: Vec::new(),
        shortfall: None,
    }
}

/// The router's fallback: 404 for every unknown path.
pub async fn not_found() -> Response {
    problem_response(&ApiError::NotFound("resource").problem())
}

/// The router's fallback for a known path and an unknown method.
pub async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}
