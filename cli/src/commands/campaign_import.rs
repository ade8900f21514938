//! `adctl campaigns import FILE.csv`: many draft campaigns from one CSV file, one result line per
//! row, a progress bar on a terminal. Safe to run again: each row is sent with an idempotency
//! key made from its name ([`import_key`]), so a campaign the file made already is found, not
//! made twice.
//!
//! The columns (the first line names them, in any order; `name` is required):
//!
//! | column | goes to | cell |
//! |---|---|---|
//! | `advertiser_id` | the advertiser (staff logins) | a uuid |
//! | `name`, `pacing`, `bid.kind`, `schedule.start`, `schedule.end`, `schedule.time_zone` | the setting | text |
//! | `budget.daily`, `budget.lifetime`, `bid.amount` | the amount | a decimal (`50.00`) |
//! | `frequency_cap.count`, `frequency_cap.period_s` | the cap | a whole number |
//! | `targeting.countries`, `.regions`, `.device_types`, `.os`, `.categories`, `.placements`, `.segments`, `.deals` | the list | values split on `\|` (`US\|CA`) |
//! | `schedule.day_parting`, `targeting.sizes`, `creatives` | the setting | JSON |
//!
//! An empty cell leaves the setting out.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::client::Request;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns, Format};

/// How a column's cells are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Text,
    WholeNumber,
    List,
    Json,
}

/// The columns a file may have, and how each is read.
const KNOWN: &[(&str, Cell)] = &[
    ("advertiser_id", Cell::Text),
    ("name", Cell::Text),
    ("pacing", Cell::Text),
    ("bid.kind", Cell::Text),
    ("bid.amount", Cell::Text),
    ("budget.daily", Cell::Text),
    ("budget.lifetime", Cell::Text),
    ("schedule.start", Cell::Text),
    ("schedule.end", Cell::Text),
    ("schedule.time_zone", Cell::Text),
    ("schedule.day_parting", Cell::Json),
    ("frequency_cap.count", Cell::WholeNumber),
    ("frequency_cap.period_s", Cell::WholeNumber),
    ("targeting.countries", Cell::List),
    ("targeting.regions", Cell::List),
    ("targeting.device_types", Cell::List),
    ("targeting.os", Cell::List),
    ("targeting.categories", Cell::List),
    ("targeting.placements", Cell::List),
    ("targeting.segments", Cell::List),
    ("targeting.deals", Cell::List),
    ("targeting.sizes", Cell::Json),
    ("creatives", Cell::Json),
];

/// One row of the file, ready to send, or what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The line of the file it is on (the header is line 1).
    pub line: u64,
    pub name: String,
    pub body: Result<Value, String>,
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub line: u64,
    pub name: String,
    /// `created`, `exists` (made by an earlier run), `refused` or `failed` (not sent, or the API
    /// unreachable).
    pub result: &'static str,
    pub campaign_id: Option<String>,
    pub detail: String,
}

const COLUMNS: Columns = &[
    ("LINE", "line"),
    ("NAME", "name"),
    ("RESULT", "result"),
    ("CAMPAIGN", "campaign_id"),
    ("DETAIL", "detail"),
];

/// Reads the rows of a CSV file: each a `NewCampaign` body, or what is wrong with it. A header
/// naming a column adctl does not know is a usage failure (nothing is sent).
pub fn read_rows(text: &str) -> Result<Vec<Row>, Failure> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Failure::usage(format!("the file's first line: {e}")))?
        .clone();
    let mut kinds = Vec::with_capacity(headers.len());
    for header in &headers {
        let Some((_, kind)) = KNOWN.iter().find(|(name, _)| *name == header) else {
            return Err(Failure::usage(format!(
                "unknown column {header:?}; the columns are: {}",
                KNOWN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )));
        };
        kinds.push((header.to_owned(), *kind));
    }
    if !kinds.iter().any(|(h, _)| h == "name") {
        return Err(Failure::usage("the file has no `name` column"));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| Failure::usage(format!("reading the file: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let name = kinds
            .iter()
            .zip(record.iter())
            .find(|((h, _), _)| h == "name")
            .map(|(_, cell)| cell.to_owned())
            .unwrap_or_default();
        rows.push(Row {
            line,
            name,
            body: body(&kinds, &record),
        });
    }
    Ok(rows)
}

/// The request body of one record.
fn body(kinds: &[(String, Cell)], record: &csv::StringRecord) -> Result<Value, String> {
    let mut body = Value::Object(Map::new());
    for ((header, kind), cell) in kinds.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        let value = match kind {
            Cell::Text => Value::String(cell.to_owned()),
            Cell::WholeNumber => cell
                .parse::<u64>()
                .map(Value::from)
                .map_err(|_| format!("{header}: a whole number, not {cell:?}"))?,
            Cell::List => Value::Array(
                cell.split('|')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| Value::String(v.to_owned()))
                    .collect(),
            ),
            Cell::Json => {
                serde_json::from_str(cell).map_err(|e| format!("{header}: not JSON ({e})"))?
            }
        };
        let mut place = &mut body;
        let mut keys = header.split('.').peekable();
        while let Some(key) = keys.next() {
            if keys.peek().is_none() {
                place[key] = value;
                break;
            }
            if place[key].is_null() {
                place[key] = json!({});
            }
            place = &mut place[key];
        }
    }
    Ok(body)
}

/// Runs the import.
pub async fn run(ctx: &Ctx, file: &PathBuf, advertiser: Option<uuid::Uuid>) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::usage(format!("reading {}: {e}", file.display())))?;
    let rows = read_rows(&text)?;
    let progress = std::io::stderr().is_terminal() && ctx.output == Format::Table;
    let total = rows.len();
    let mut outcomes = Vec::with_capacity(total);
    for (done, row) in rows.into_iter().enumerate() {
        if progress {
            draw_progress(done, total);
        }
        let outcome = import_row(ctx, row, advertiser).await;
        if let Err(Failure::Unavailable(detail)) = &outcome.1 {
            // the API is down: the rest would fail the same way
            clear_progress(progress);
            return Err(Failure::Unavailable(format!(
                "{detail}\n  stopped at line {}; run the import again to go on (rows done are found, not made twice)",
                outcome.0.line
            )));
        }
        let outcome = outcome.0;
        if ctx.output == Format::Table {
            clear_progress(progress);
            output::written(line(&mut ctx.out(), &outcome))?;
        }
        outcomes.push(outcome);
    }
    clear_progress(progress);
    let rows: Vec<Value> = outcomes
        .iter()
        .map(|o| serde_json::to_value(o).unwrap_or_default())
        .collect();
    if ctx.output != Format::Table {
        output::written(output::rows(&mut ctx.out(), ctx.output, COLUMNS, &rows))?;
    }
    let count = |result| outcomes.iter().filter(|o| o.result == result).count();
    let (created, exists) = (count("created"), count("exists"));
    let bad = outcomes.len() - created - exists;
    eprintln!("adctl: {created} created, {exists} already there, {bad} refused or failed");
    if bad > 0 {
        return Err(Failure::CheckFailed(format!(
            "{bad} row(s) were not imported; mend them and run the import again"
        )));
    }
    Ok(())
}

/// Sends one row; the failure is kept when the API could not be reached (the import stops).
async fn import_row(
    ctx: &Ctx,
    row: Row,
    advertiser: Option<uuid::Uuid>,
) -> (Outcome, Result<(), Failure>) {
    let mut outcome = Outcome {
        line: row.line,
        name: row.name.clone(),
        result: "failed",
        campaign_id: None,
        detail: String::new(),
    };
    let mut body = match row.body {
        Ok(body) => body,
        Err(detail) => {
            outcome.detail = detail;
            return (outcome, Ok(()));
        }
    };
    if let Some(a) = advertiser
        && body["advertiser_id"].is_null()
    {
        body["advertiser_id"] = json!(a);
    }
    let key = import_key(&row.name);
    let sent = ctx
        .client
        .send_with_status(
            Method::POST,
            "/api/v1/campaigns",
            Request {
                body: Some(&body),
                idempotency_key: Some(&key),
                ..Request::default()
            },
        )
        .await;
    match sent {
        Ok((status, campaign)) => {
            outcome.result = if status == 201 { "created" } else { "exists" };
            outcome.campaign_id = campaign["id"].as_str().map(str::to_owned);
            (outcome, Ok(()))
        }
        Err(Failure::Refused {
            status,
            detail,
            fields,
            ..
        }) => {
            outcome.result = "refused";
            outcome.detail = if fields.is_empty() {
                format!("{detail} ({status})")
            } else {
                fields
                    .iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            (outcome, Ok(()))
        }
        Err(other) => {
            outcome.detail = other.to_string();
            (outcome, Err(other))
        }
    }
}

/// The idempotency key of the row named `name`: `adctl-import:` and a UUID (v5) of the name, so
/// that any name (accents, 300 characters, a line break) makes a short key a header can carry,
/// and the same name the same key.
pub fn import_key(name: &str) -> String {
    let id = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("adctl-import:{name}").as_bytes(),
    );
    format!("adctl-import:{id}")
}

/// One result line: `line 3  created  <id>  Winter boots`.
fn line(out: &mut impl Write, o: &Outcome) -> std::io::Result<()> {
    let clean = |text: &str| -> String {
        text.chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .collect()
    };
    writeln!(
        out,
        "line {:<5} {:<8} {:<36}  {}{}",
        o.line,
        o.result,
        o.campaign_id.as_deref().unwrap_or("-"),
        clean(&o.name),
        if o.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", clean(&o.detail))
        }
    )
}

/// `[#########           ] 45/100` on standard error, redrawn in place.
fn draw_progress(done: usize, total: usize) {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    eprint!(
        "\r[{}{}] {done}/{total}",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled)
    );
    let _ = std::io::stderr().flush();
}

fn clear_progress(shown: bool) {
    if shown {
        eprint!("\r\x1b[2K");
        let _ = std::io::stderr().flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_becomes_a_campaign_body_by_its_columns() {
        let text = "name,budget.daily,bid.kind,bid.amount,targeting.countries,frequency_cap.count,creatives\n\
                    Boots,50.00,cpm,2.00,US|CA,3,\"[{\"\"id\"\":\"\"c\"\"}]\"\n\
                    Sandals,,cpc,0.40,,,\n";
        let rows = read_rows(text).expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].name, "Boots");
        assert_eq!(
            rows[0].body,
            Ok(json!({
                "name": "Boots", "budget": {"daily": "50.00"},
                "bid": {"kind": "cpm", "amount": "2.00"},
                "targeting": {"countries": ["US", "CA"]},
                "frequency_cap": {"count": 3},
                "creatives": [{"id": "c"}],
            }))
        );
        // empty cells leave settings out
        assert_eq!(
            rows[1].body,
            Ok(json!({"name": "Sandals", "bid": {"kind": "cpc", "amount": "0.40"}}))
        );
    }

    #[test]
    fn a_rows_key_is_short_visible_text_and_the_same_for_the_same_name() {
        for name in ["Boots", "Café d'été", "a\nb", &"x".repeat(300)] {
            let key = import_key(name);
            assert!(
                key.len() <= 60 && key.chars().all(|c| c.is_ascii_graphic()),
                "{key}"
            );
            assert_eq!(key, import_key(name));
        }
        assert_ne!(import_key("Boots"), import_key("boots"));
    }

    #[test]
    fn a_bad_cell_is_that_rows_failure_and_an_unknown_column_stops_everything() {
        let rows =
            read_rows("name,frequency_cap.count,creatives\nA,three,\nB,,{oops\n").expect("rows");
        assert_eq!(
            rows[0].body,
            Err("frequency_cap.count: a whole number, not \"three\"".into())
        );
        assert!(
            rows[1]
                .body
                .as_ref()
                .expect_err("bad JSON")
                .starts_with("creatives: not JSON")
        );
        let unknown = read_rows("name,budget.dialy\nA,5\n").expect_err("unknown column");
        assert!(
            unknown
                .to_string()
                .contains("unknown column \"budget.dialy\""),
            "{unknown}"
        );
        assert!(read_rows("budget.daily\n5\n").is_err(), "no name column");
    }
}
