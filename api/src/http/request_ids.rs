//! Request ids: the server gives every request an id of its own (a UUID v7), and keeps the
//! caller's `x-request-id` only when it is well formed (1 to 128 letters, digits and `-_.:`);
//! anything else is replaced, so a caller cannot put newlines, markup or megabytes into the logs
//! and the audit trail. `x-request-id` (request and response) is the caller's id or else the
//! server's; handlers that record a change name both ([`RequestIds::audited`]).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

/// The header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller id kept.
const MAX_LEN: usize = 128;

/// A request's ids, in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    /// The server's own.
    pub server: Uuid,
    /// The caller's, when it sent a well-formed one.
    pub caller: Option<String>,
}

impl RequestIds {
    /// What the audit trail records: the server's id, and the caller's beside it.
    pub fn audited(&self) -> String {
        match &self.caller {
            Some(caller) => format!("{} (caller: {caller})", self.server),
            None => self.server.to_string(),
        }
    }

    /// The id answered in `x-request-id`: the caller's, or else the server's.
    pub fn shown(&self) -> String {
        self.caller
            .clone()
            .unwrap_or_else(|| self.server.to_string())
    }
}

/// Whether a caller's id is kept.
pub fn well_formed(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// The middleware: ids assigned before anything else reads them, `x-request-id` answered.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let caller = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| well_formed(id))
        .map(str::to_owned);
    let ids = RequestIds {
        server: Uuid::now_v7(),
        caller,
    };
    let shown = HeaderValue::from_str(&ids.shown()).ok();
    if let Some(value) = &shown {
        request.headers_mut().insert(REQUEST_ID, value.clone());
    }
    request.extensions_mut().insert(ids);
    let mut response = next.run(request).await;
    if let Some(value) = shown {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        for kept in [
            "caller-chosen-1",
            "5b0e6a52-8f7d-4a8e-9d55-2c3b1a0f9e11",
            "a.b_c:d",
        ] {
            assert!(well_formed(kept), "{kept}");
        }
        let long = "x".repeat(MAX_LEN + 1);
        for replaced in ["", "a b", "a\nb", "<script>", "ä", "a/b", long.as_str()] {
            assert!(!well_formed(replaced), "{replaced:?}");
        }
    }

    #[test]
    fn the_audit_names_the_servers_id_and_the_callers_beside_it() {
        let server = Uuid::now_v7();
        let ids = RequestIds {
            server,
            caller: Some("r-1".into()),
        };
        assert_eq!(ids.audited(), format!("{server} (caller: r-1)"));
        assert_eq!(ids.shown(), "r-1");
        let own = RequestIds {
            server,
            caller: None,
        };
        assert_eq!(own.audited(), server.to_string());
        assert_eq!(own.shown(), server.to_string());
    }
}
