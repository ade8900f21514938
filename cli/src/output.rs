//! How results are shown: a table for people (the default), JSON for programs (stable: the API's
//! own objects, money as exact decimal strings, full ids), CSV where rows make sense.

use std::io::Write;

use serde_json::Value;

/// What writing the output came to: a closed pipe (`adctl ... | head`) is not a failure.
pub fn written(result: std::io::Result<()>) -> Result<(), crate::failure::Failure> {
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(
            crate::failure::Failure::Unavailable(format!("writing the output: {e}")),
        ),
        _ => Ok(()),
    }
}

/// What writing a listing fetched page by page came to: the fetch's failure, or the writing's.
pub fn written_or_failed(
    result: Result<std::io::Result<()>, crate::failure::Failure>,
) -> Result<(), crate::failure::Failure> {
    written(result?)
}

/// The output format (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Columns to show of a list of objects: a header and the field (a dotted path) it shows.
pub type Columns = &'static [(&'static str, &'static str)];

/// The text of `object`'s field at a dotted `path` (`budget.daily`): strings as they are, other
/// values as JSON, nothing for null or absent.
pub fn field(object: &Value, path: &str) -> String {
    let value = path.split('.').fold(object, |v, key| &v[key]);
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    // what others wrote (names, notes) must not steer the terminal with escape sequences
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Writes `rows` (JSON objects) in `format`: JSON as the array itself, a table or CSV of
/// `columns`.
pub fn rows(
    out: &mut impl Write,
    format: Format,
    columns: Columns,
    rows: &[Value],
) -> std::io::Result<()> {
    let mut writer = RowWriter::new(out, format, columns);
    writer.push(rows)?;
    writer.finish()
}

/// Rows written as they come, a page at a time: JSON and CSV go straight out (a long list is
/// never held whole); a table, whose columns are as wide as their widest cell, is written at
/// the end.
pub struct RowWriter<'w, W: Write> {
    out: &'w mut W,
    format: Format,
    columns: Columns,
    written: usize,
    table: Vec<Vec<String>>,
}

impl<'w, W: Write> RowWriter<'w, W> {
    /// Nothing written yet.
    pub fn new(out: &'w mut W, format: Format, columns: Columns) -> Self {
        RowWriter {
            out,
            format,
            columns,
            written: 0,
            table: Vec::new(),
        }
    }

    /// Writes (or, for a table, keeps) these rows.
    pub fn push(&mut self, rows: &[Value]) -> std::io::Result<()> {
        for row in rows {
            match self.format {
                Format::Json => {
                    // as `to_string_pretty` writes the whole array: each item indented by two
                    let item = serde_json::to_string_pretty(row)?.replace('\n', "\n  ");
                    let lead = if self.written == 0 { "[\n  " } else { ",\n  " };
                    write!(self.out, "{lead}{item}")?;
                }
                Format::Csv => {
                    if self.written == 0 {
                        self.csv_header()?;
                    }
                    let cells: Vec<String> = (self.columns.iter())
                        .map(|(_, f)| csv_cell(&field(row, f)))
                        .collect();
                    writeln!(self.out, "{}", cells.join(","))?;
                }
                Format::Table => self
                    .table
                    .push(self.columns.iter().map(|(_, f)| field(row, f)).collect()),
            }
            self.written += 1;
        }
        Ok(())
    }

    /// Ends the output.
    pub fn finish(mut self) -> std::io::Result<()> {
        match self.format {
            Format::Json if self.written == 0 => writeln!(self.out, "[]"),
            Format::Json => writeln!(self.out, "\n]"),
            Format::Csv if self.written == 0 => self.csv_header(),
            Format::Csv => Ok(()),
            Format::Table => table(
                self.out,
                &self.columns.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
                &self.table,
            ),
        }
    }

    fn csv_header(&mut self) -> std::io::Result<()> {
        let header: Vec<String> = self.columns.iter().map(|(h, _)| csv_cell(h)).collect();
        writeln!(self.out, "{}", header.join(","))
    }
}

/// Writes one object in `format`: JSON as it is, else its `columns` as a two-column table (or
/// CSV rows of field and value).
pub fn object(
    out: &mut impl Write,
    format: Format,
    columns: Columns,
    object: &Value,
) -> std::io::Result<()> {
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(object)?),
        Format::Csv => rows(out, Format::Csv, columns, std::slice::from_ref(object)),
        Format::Table => {
            let width = columns.iter().map(|(h, _)| h.len()).max().unwrap_or(0);
            for (header, path) in columns {
                writeln!(out, "{header:<width$}  {}", field(object, path))?;
            }
            Ok(())
        }
    }
}

/// Aligned columns, a header line first.
fn table(out: &mut impl Write, headers: &[&str], cells: &[Vec<String>]) -> std::io::Result<()> {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<&str>| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    writeln!(out, "{}", line(headers.to_vec()))?;
    for row in cells {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break. Text a
/// spreadsheet would run as a formula (`=`, `+`, `@`, a tab, or `-` not starting a number:
/// names and notes others wrote) starts with `'`, so opening a statement cannot run it.
fn csv_cell(text: &str) -> String {
    let number = text.parse::<f64>().is_ok();
    let formula = !number && text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let text = if formula {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const COLUMNS: Columns = &[("ID", "id"), ("NAME", "name"), ("DAILY", "budget.daily")];

    fn render(format: Format) -> String {
        let items = [
            json!({"id": "a1", "name": "Boots, winter", "budget": {"daily": "50.000000"}}),
            json!({"id": "b2", "name": "Say \"hi\"", "budget": {"daily": null}}),
        ];
        let mut out = Vec::new();
        rows(&mut out, format, COLUMNS, &items).expect("written");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_defused_and_numbers_stay_numbers() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("-cmd|' /C calc'!A0"), "'-cmd|' /C calc'!A0");
        assert_eq!(csv_cell("-2.500000"), "-2.500000");
        assert_eq!(csv_cell("+1"), "+1");
        assert_eq!(csv_cell("Boots"), "Boots");
    }

    #[test]
    fn a_table_aligns_its_columns() {
        assert_eq!(
            render(Format::Table),
            "ID  NAME           DAILY\na1  Boots, winter  50.000000\nb2  Say \"hi\"\n"
        );
    }

    #[test]
    fn csv_quotes_what_needs_it_and_json_keeps_the_objects() {
        assert_eq!(
            render(Format::Csv),
            "ID,NAME,DAILY\na1,\"Boots, winter\",50.000000\nb2,\"Say \"\"hi\"\"\",\n"
        );
        let items = [
            json!({"id": "a1", "name": "Boots, winter", "budget": {"daily": "50.000000"}}),
            json!({"id": "b2", "name": "Say \"hi\"", "budget": {"daily": null}}),
        ];
        assert_eq!(
            render(Format::Json),
            format!("{}\n", serde_json::to_string_pretty(&items).expect("json")),
            "streamed, the same text as the array written whole"
        );
        let mut empty = Vec::new();
        rows(&mut empty, Format::Json, COLUMNS, &[]).expect("written");
        assert_eq!(empty, b"[]\n");
        let parsed: Value = serde_json::from_str(&render(Format::Json)).expect("json");
        assert_eq!(
            parsed[0]["budget"]["daily"], "50.000000",
            "money stays an exact string"
        );
    }
}
