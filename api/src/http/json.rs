//! `JsonBody`: axum's `Json` extractor with every rejection turned into problem+json.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// A JSON request body; a body that is not JSON, too large or of the wrong shape is answered
/// with the matching problem (415, 413, 422, 400). Text holding NUL (`\u0000`) is refused with a
/// 400: PostgreSQL text cannot store it, and no name, note or markup needs it.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json_media_type(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON (content-type: application/json)".to_owned(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })?;
        if has_nul_escape(&bytes) {
            return Err(ApiError::BadRequest(
                "text in the body may not contain NUL (\\u0000)".to_owned(),
            ));
        }
        let Json(value) = Json::<T>::from_bytes(&bytes)?;
        Ok(JsonBody(value))
    }
}

/// `application/json` or any `application/*+json` (merge patches), parameters ignored.
/// A document read as `T`, refusing every field `T` does not know (each named by its path, such
/// as `targeting.colour`): the domain's types ignore unknown fields so that older readers keep
/// working, and the API is where what an advertiser writes is held to them exactly.
pub fn strictly<T: DeserializeOwned>(document: serde_json::Value) -> Result<T, ApiError> {
    let mut unknown = Vec::new();
    let read: Result<T, _> =
        serde_ignored::deserialize(document, |path| unknown.push(field_path(&path)));
    let read = read.map_err(|e| ApiError::Invalid(vec![FieldError::new("body", e.to_string())]))?;
    if unknown.is_empty() {
        Ok(read)
    } else {
        Err(ApiError::Invalid(
            unknown
                .into_iter()
                .map(|field| {
                    let message = format!("unknown field `{field}`");
                    FieldError::new(field, message)
                })
                .collect(),
        ))
    }
}

/// A field's path as the API names fields in its errors: `targeting.countries`,
/// `creatives[0].click_url`.
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

fn is_json_media_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether JSON text holds the escape `\u0000` (the only way JSON can carry NUL) outside another
/// escape: `\\u0000` is a backslash followed by the letters `u0000`, which is harmless.
fn has_nul_escape(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json.get(i + 1..i + 6) == Some(b"u0000".as_slice()) {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// A query string; one that does not parse is a 400 naming the parameter.
pub struct QueryParams<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        if parts.uri.query().is_some_and(|q| q.contains("%00")) {
            return Err(ApiError::BadRequest(
                "the query string may not contain NUL (%00)".to_owned(),
            ));
        }
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(QueryParams(value))
    }
}

/// Path parameters; one that does not parse (a malformed id) is a 400.
pub struct PathParams<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for PathParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(PathParams(value))
    }
}

/// A sum as the ledger writes amounts: six decimal places.
pub fn money_text(value: rust_decimal::Decimal) -> String {
    ledger::Money::try_from(value).map_or_else(|_| value.to_string(), |m| m.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nul_escapes_and_only_them() {
        assert!(has_nul_escape(br#"{"name":"a\u0000b"}"#));
        assert!(has_nul_escape(br#"{"name":"\\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"name":"\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"name":"\u0001 \n \""}"#));
    }

    #[test]
    fn json_media_types() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, v.parse().expect("header"));
            h
        };
        assert!(is_json_media_type(&with("application/json")));
        assert!(is_json_media_type(&with("Application/JSON; charset=utf-8")));
        assert!(is_json_media_type(&with("application/merge-patch+json")));
        assert!(!is_json_media_type(&with("text/json")));
        assert!(!is_json_media_type(&with("application/jsonp")));
        assert!(!is_json_media_type(&HeaderMap::new()));
    }
}
