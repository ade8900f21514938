//! `adctl pacing show`: today's spend per hour against the pacing target, as a table and a
//! small chart.

use std::io::Write;

use serde_json::Value;

use crate::chart::{hour_axis, sparkline};
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns, Format};

/// Pacing: today's spend against the target, hour by hour.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Today's spend per hour (in the campaign's time zone) against the pace target.
    Show {
        /// The campaign's id.
        campaign: uuid::Uuid,
    },
}

const HOURS: Columns = &[
    ("HOUR", "hour"),
    ("SPEND", "spend"),
    ("TARGET", "target"),
    ("SPENT SO FAR", "spent_so_far"),
    ("TARGET SO FAR", "target_so_far"),
];

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    let Command::Show { campaign } = args.command;
    let pacing = ctx
        .client
        .get(&format!("/api/v1/campaigns/{campaign}/pacing"), &[])
        .await?;
    let hours = pacing["hours"].as_array().cloned().unwrap_or_default();
    match ctx.output {
        Format::Json => {
            output::written(output::object(&mut ctx.out(), Format::Json, HOURS, &pacing))
        }
        Format::Csv => output::written(output::rows(&mut ctx.out(), Format::Csv, HOURS, &hours)),
        Format::Table => output::written(table(&mut ctx.out(), &pacing, &hours)),
    }
}

/// The day's summary, the hours, and the chart.
fn table(out: &mut impl Write, pacing: &Value, hours: &[Value]) -> std::io::Result<()> {
    let text = |key: &str| output::field(pacing, key);
    writeln!(
        out,
        "{} in {} ({}): spent {} of a day's {} {}; target so far {}; pace {}",
        text("day"),
        text("time_zone"),
        text("currency"),
        text("spent"),
        or_dash(&text("day_budget")),
        text("currency"),
        or_dash(&text("target_so_far")),
        or_dash(&text("pace")),
    )?;
    writeln!(out)?;
    let shown: Vec<Value> = hours
        .iter()
        .map(|h| {
            let mut h = h.clone();
            // `2026-11-30T14:00:00` -> `14:00`
            let hour = output::field(&h, "hour");
            h["hour"] = Value::String(hour.get(11..16).unwrap_or(&hour).to_owned());
            h
        })
        .collect();
    output::rows(out, Format::Table, HOURS, &shown)?;
    writeln!(out)?;
    for line in chart(hours) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Two sparklines on one scale, spend above target, with the hours marked beneath.
pub fn chart(hours: &[Value]) -> Vec<String> {
    let amounts = |key: &str| -> Vec<Option<f64>> {
        hours
            .iter()
            .map(|h| h[key].as_str().and_then(|v| v.parse().ok()))
            .collect()
    };
    let (spend, target) = (amounts("spend"), amounts("target"));
    let max = spend
        .iter()
        .chain(&target)
        .flatten()
        .fold(0.0_f64, |m, v| m.max(*v));
    vec![
        format!("spend   {}", sparkline(&spend, max)),
        format!("target  {}", sparkline(&target, max)),
        format!("        {}", hour_axis(hours.len())),
    ]
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_chart_draws_spend_and_target_on_one_scale() {
        let spend = ["0.000000", "2.000000", "1.000000"];
        let target = [None, Some("2.000000"), Some("2.000000")];
        let hours: Vec<Value> = (0..3)
            .map(|h| {
                json!({"hour": format!("2026-11-30T{h:02}:00:00"),
                       "spend": spend[h], "target": target[h]})
            })
            .collect();
        let lines = chart(&hours);
        assert_eq!(lines[0], "spend    █▄");
        assert_eq!(lines[1], "target   ██");
        assert_eq!(lines[2], "        0");
        let mut out = Vec::new();
        let pacing = json!({"day": "2026-11-30", "time_zone": "UTC", "currency": "EUR",
                            "spent": "3.000000", "day_budget": "24.000000",
                            "target_so_far": "4.000000", "pace": "0.75", "hours": hours});
        table(&mut out, &pacing, &hours).expect("written");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with("2026-11-30 in UTC (EUR): spent 3.000000 of a day's 24.000000 EUR; target so far 4.000000; pace 0.75"), "{text}");
        assert!(text.contains("\n01:00  2.000000  2.000000"), "{text}");
    }
}
