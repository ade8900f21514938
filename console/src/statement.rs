//! The advertiser's cash statement as the console shows it (both halves) and reads it from the
//! API's pages.

use serde::{Deserialize, Serialize};

use crate::json_text::text;

/// A line of the cash statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRow {
    pub transfer_id: String,
    /// When it was posted (RFC 3339, UTC).
    pub posted_at: String,
    /// What kind of transfer (`deposit`, `hold`, `spend`, ...).
    pub kind: String,
    /// The note staff gave a deposit or credit.
    pub note: String,
    /// In (positive) or out (negative), decimal text.
    pub change: String,
    /// The cash right after it.
    pub balance: String,
}

/// The lines of a statement page as the API writes it.
pub fn rows_of(page: &serde_json::Value) -> Vec<StatementRow> {
    page["lines"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|line| {
                    let transfer = &line["transfer"];
                    StatementRow {
                        transfer_id: text(&transfer["id"]),
                        posted_at: text(&transfer["posted_at"]),
                        kind: text(&transfer["kind"]),
                        note: text(&transfer["metadata"]["note"]),
                        change: text(&line["change"]),
                        balance: text(&line["balance"]),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `cursor` has the shape of the API's statement cursors (`s1234`): anything else is
/// not passed on.
pub fn is_cursor(cursor: &str) -> bool {
    cursor.len() <= 19
        && cursor
            .strip_prefix('s')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statement_lines_are_read_and_cursors_checked() {
        let page = json!({"lines": [{
            "transfer": {"id": "t1", "posted_at": "2026-11-30T10:00:00Z", "kind": "deposit",
                         "metadata": {"note": "wire 42"}},
            "change": "500.000000", "balance": "500.000000",
        }], "next": "s7"});
        assert_eq!(
            rows_of(&page),
            [StatementRow {
                transfer_id: "t1".into(),
                posted_at: "2026-11-30T10:00:00Z".into(),
                kind: "deposit".into(),
                note: "wire 42".into(),
                change: "500.000000".into(),
                balance: "500.000000".into(),
            }]
        );
        assert!(is_cursor("s7") && is_cursor("s123456789012345678"));
        assert!(!is_cursor("s") && !is_cursor("7") && !is_cursor("s1&limit=5"));
    }
}
