//! The API's one error type, and how each variant becomes an RFC 9457 problem+json response.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request, named by its JSON path (`budget.daily`, `creatives[1].w`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// An error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document, as every error response carries it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request id of the failed request, for support and logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// One entry per invalid field (422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Money missing for the request to succeed (409 insufficient funds only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<String>,
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read (bad JSON, bad query string, bad path).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no credentials, or credentials that do not hold.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: the caller is known but its role may not do this.
    #[error("this role may not do this")]
    Forbidden,
    /// 404: no such object, or one the caller may not see.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists, the method does not.
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// 413: the body is larger than the limit.
    #[error("the body is larger than the limit")]
    PayloadTooLarge,
    /// 409: the request conflicts with the object's state.
    #[error("{0}")]
    Conflict(String),
    /// 409: the advertiser's cash does not cover the request.
    #[error("{detail}")]
    InsufficientFunds { detail: String, shortfall: String },
    /// 410: the feed no longer has the changes after this revision; take a new snapshot.
    #[error("{0}")]
    Gone(String),
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: fields that do not hold, each with its own message.
    #[error("the request has {} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// 429: too many requests from this principal; retry after this many seconds.
    #[error("too many requests; retry in {0} s")]
    RateLimited(u64),
    /// 503: a dependency is down.
    #[error("{0}")]
    Unavailable(String),
    /// 500: anything unexpected; logged in full, shown plainly.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Results of handlers.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    /// A 422 for one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }

    /// The status of the response.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) | ApiError::InsufficientFunds { .. } => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document (without the request id, which the middleware adds).
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        };
        Problem {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            request_id: None,
            errors: match self {
                ApiError::Invalid(errors) => errors.clone(),
                _ => Vec::new(),
            },
            shortfall: match self {
                ApiError::InsufficientFunds { shortfall, .. } => Some(shortfall.clone()),
                _ => None,
            },
        }
    }
}

/// A problem+json response for `problem`.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let mut response = problem_response(&self.problem());
        if let ApiError::RateLimited(seconds) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "the body must be JSON (content-type: application/json)".to_owned(),
            ),
            JsonRejection::JsonDataError(e) => {
                ApiError::Invalid(vec![FieldError::new("body", e.body_text())])
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge
            }
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(db) = e.as_database_error()
            && let Some(constraint) = db.constraint()
        {
            return constraint_error(constraint, db.kind());
        }
        ApiError::Internal(e.into())
    }
}

impl From<ledger::Error> for ApiError {
    fn from(e: ledger::Error) -> Self {
        use ledger::Rejection;
        match e {
            ledger::Error::Rejected(Rejection::AccountNotFound { .. }) => {
                ApiError::NotFound("account")
            }
            ledger::Error::Rejected(Rejection::PendingNotFound { .. }) => {
                ApiError::NotFound("pending transfer")
            }
            ledger::Error::Rejected(r) => ApiError::Conflict(r.to_string()),
            ledger::Error::Contention { .. } => {
                ApiError::Unavailable("the ledger is busy; try again".to_owned())
            }
            e if e.is_race() => ApiError::Conflict(format!(
                "another change got there first; nothing was written ({e})"
            )),
            other => ApiError::Internal(other.into()),
        }
    }
}

/// A currency code read back from the database (checked when it was written).
pub fn stored_currency(code: &str) -> Result<ledger::Currency> {
    ledger::Currency::parse(code.trim())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored currency {code:?}: {e}")))
}

/// A time zone read back from the database (checked when it was written). One that no longer
/// parses (a zone the time zone database dropped) is an error, never UTC in its place.
pub fn stored_time_zone(zone: &str) -> Result<chrono_tz::Tz> {
    zone.parse().map_err(|_| {
        ApiError::Internal(anyhow::anyhow!(
            "the stored time zone {zone:?} does not parse"
        ))
    })
}

/// The one mapping from a named schema constraint to a response.
fn constraint_error(constraint: &str, kind: sqlx::error::ErrorKind) -> ApiError {
    use sqlx::error::ErrorKind;
    match (constraint, kind) {
        ("advertisers_name_unique", _) => {
            ApiError::Conflict("an advertiser with this name exists".to_owned())
        }
        ("users_username_unique", _) => {
            ApiError::Conflict("a user with this name exists".to_owned())
        }
        ("user_username_format", _) => ApiError::field(
            "username",
            "3 to 64 characters: lowercase letters, digits, '.', '_', '@', '-'",
        ),
        (name, ErrorKind::UniqueViolation) => ApiError::Conflict(format!("{name}: already exists")),
        (name, ErrorKind::CheckViolation) => ApiError::field("body", format!("refused: {name}")),
        (name, ErrorKind::ForeignKeyViolation) => ApiError::field(
            "body",
            format!("refers to something that does not exist: {name}"),
        ),
        (name, _) => ApiError::Internal(anyhow::anyhow!("constraint {name} refused a write")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(e: ledger::Error) -> StatusCode {
        ApiError::from(e).status()
    }

    #[test]
    fn a_stored_time_zone_that_does_not_parse_is_an_error_not_utc() {
        assert_eq!(
            stored_time_zone("America/New_York").expect("a zone"),
            chrono_tz::America::New_York
        );
        let error = stored_time_zone("Mars/Olympus").expect_err("not a zone");
        assert!(matches!(error, ApiError::Internal(_)), "{error:?}");
        assert!(error.to_string().contains("Mars/Olympus"), "{error}");
    }

    #[test]
    fn ledger_errors_map_to_their_own_statuses() {
        let account = ledger::AccountId(7);
        assert_eq!(
            status(ledger::Rejection::AccountNotFound { account }.into()),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(ledger::Rejection::SameAccount { account }.into()),
            StatusCode::CONFLICT
        );
        // a floor reached by a concurrent write past the ledger's own check
        let race = ledger::Error::Invariant {
            constraint: "account_floor".into(),
            message: "new row violates check constraint".into(),
        };
        assert_eq!(status(race), StatusCode::CONFLICT);
        assert_eq!(
            status(ledger::Error::Contention { attempts: 5 }),
            StatusCode::SERVICE_UNAVAILABLE
        );
        // a constraint that should never fire is the server's fault
        let broken = ledger::Error::Invariant {
            constraint: "account_balance_guarded".into(),
            message: "balances change only through transfers".into(),
        };
        assert_eq!(status(broken), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
