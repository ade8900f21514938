//! `GET /funds/statement.csv`: the acting advertiser's whole cash statement as CSV, streamed page
//! by page from the API (a long statement is never held whole in memory).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api;
use super::forms::{self, Forms};
use super::session;
use crate::statement::{StatementRow, rows_of};

/// The CSV's first line.
pub const HEADER: &str = "posted_at,kind,note,change,balance,currency,transfer_id\n";

/// Lines fetched per API call.
const PAGE: u32 = 1000;

/// The statement as a CSV download.
pub async fn download(State(forms): State<Forms>, headers: HeaderMap) -> Response {
    let Some(token) = forms::session_token(&headers) else {
        return forms::signed_out(&forms);
    };
    let Some(advertiser) = session::acting_advertiser(&headers) else {
        return forms::see_other("/advertisers", Vec::new());
    };
    let balance = format!("/api/v1/advertisers/{advertiser}/balance");
    let currency = match api::get::<serde_json::Value>(&forms.api.0, &token, &balance).await {
        Ok(b) => b["currency"].as_str().unwrap_or_default().to_owned(),
        Err(api::ApiFailure::SignedOut) => return forms::signed_out(&forms),
        Err(api::ApiFailure::Refused(status @ (403 | 404), _)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND);
            return (status, "No statement here for you.").into_response();
        }
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    // state: the next page's cursor ("" for the first), or None once the last page is out
    let start = (Some(String::new()), true);
    let pages = futures_util::stream::unfold(start, move |(cursor, first)| {
        let (api_base, token, currency) = (forms.api.0.clone(), token.clone(), currency.clone());
        async move {
            let cursor = cursor?;
            let mut path = format!("/api/v1/advertisers/{advertiser}/statement?limit={PAGE}");
            if !cursor.is_empty() {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let mut chunk = if first {
                HEADER.to_owned()
            } else {
                String::new()
            };
            match api::get::<serde_json::Value>(&api_base, &token, &path).await {
                Ok(page) => {
                    for row in rows_of(&page) {
                        chunk.push_str(&csv_line(&row, &currency));
                    }
                    let next = page["next"].as_str().map(str::to_owned);
                    Some((Ok::<_, std::io::Error>(chunk), (next, false)))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), (None, false))),
            }
        }
    });
    let mut response = Body::from_stream(pages).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"statement.csv\""),
    );
    response
}

/// One statement line as CSV (ending in a newline): text a spreadsheet would run as a formula
/// gets a leading `'`; amounts stay exact decimal text.
pub fn csv_line(row: &StatementRow, currency: &str) -> String {
    let cells = [
        cell(&row.posted_at, false),
        cell(&row.kind, true),
        cell(&row.note, true),
        cell(&row.change, false),
        cell(&row.balance, false),
        cell(currency, true),
        cell(&row.transfer_id, false),
    ];
    format!("{}\n", cells.join(","))
}

fn cell(text: &str, guarded: bool) -> String {
    let text = if guarded && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_quoted_and_formulas_defused_but_amounts_kept() {
        let row = StatementRow {
            transfer_id: "t1".into(),
            posted_at: "2026-11-30T10:00:00Z".into(),
            kind: "spend".into(),
            note: "=HYPERLINK(\"x\"), paid".into(),
            change: "-0.000001".into(),
            balance: "499.999999".into(),
        };
        assert_eq!(
            csv_line(&row, "EUR"),
            "2026-11-30T10:00:00Z,spend,\"'=HYPERLINK(\"\"x\"\"), paid\",-0.000001,499.999999,EUR,t1\n"
        );
    }
}
